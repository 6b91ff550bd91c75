// SHA-256 and HMAC-SHA-256 (libsodium): payload hashes and signing keys for S3, session-id
// and rate-limit digests, fixed-size memcached keys. The one SHA-256 of the project.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace photoshare::codec {

using Sha256 = std::array<std::uint8_t, 32>;

// The 32-byte digest of `data`.
Sha256 sha256(std::string_view data);
// The digest as 64 lower-case hex digits.
std::string sha256_hex(std::string_view data);
// HMAC-SHA-256 with a key of any length: the 32-byte MAC, as bytes.
std::string hmac_sha256(std::string_view key, std::string_view data);


}  // namespace photoshare::codec
