// Password hashing with argon2id (libsodium). Parameters are configurable and never below
// OWASP's minimum (19 MiB, 2 iterations).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace photoshare::auth {

struct PasswordParams {
    std::uint32_t memory_kib = 19 * 1024;
    std::uint32_t iterations = 2;
};

// PHC string ($argon2id$v=19$m=...,t=...,p=1$salt$hash).
std::string hash_password(std::string_view password, const PasswordParams& params);
bool verify_password(std::string_view password, const std::string& phc);
// A hash that takes as long to verify as a real one: used for unknown usernames, so the
// response time does not tell whether a username exists.
const std::string& dummy_hash(const PasswordParams& params);

}  // namespace photoshare::auth
