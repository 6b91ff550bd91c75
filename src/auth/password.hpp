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
// Throws std::invalid_argument when params are below the OWASP minimum (or above what
// libsodium accepts) or the password is too long, std::runtime_error when the memory for
// the hash cannot be allocated.
std::string hash_password(std::string_view password, const PasswordParams& params);
// False for a wrong password and for anything that is not a valid argon2 PHC string.
bool verify_password(std::string_view password, const std::string& phc);
// True when phc was made with other params than these (e.g. after the configuration raised
// them): the caller re-hashes the password it just verified and stores the new string.
bool needs_rehash(const std::string& phc, const PasswordParams& params);
// A hash that takes as long to verify as a real one: used for unknown usernames, so the
// response time does not tell whether a username exists. Computed once per params.
const std::string& dummy_hash(const PasswordParams& params);

}  // namespace photoshare::auth
