// SHA-256 and HMAC-SHA-256 (libsodium): payload hashes and signing keys for S3, session-id
// and rate-limit digests, fixed-size memcached keys, visitor CSRF tokens. The one SHA-256
// of the project.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
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

// The same with a key fixed once: its padded blocks are hashed at construction, so each
// MAC costs only the data's blocks (a visitor's CSRF token on every anonymous page).
class HmacSha256 {
public:
    explicit HmacSha256(std::string_view key);
    ~HmacSha256();
    HmacSha256(const HmacSha256&) = delete;
    HmacSha256& operator=(const HmacSha256&) = delete;
    std::string mac(std::string_view data) const;  // 32 bytes

private:
    struct State;
    std::unique_ptr<State> keyed_;
};

}  // namespace photoshare::codec
