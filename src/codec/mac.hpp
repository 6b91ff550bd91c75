// A keyed MAC for values the server signs and checks itself, many times a second (the
// visitor CSRF token on every anonymous page): keyed BLAKE2b (libsodium's
// crypto_generichash), a PRF several times cheaper than HMAC-SHA-256 for short inputs.
// Formats others define (SigV4) use hmac_sha256 (codec/sha256.hpp).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace photoshare::codec {

class Mac {
public:
    // A key of any length (one over 64 bytes is hashed to 32 first); MACs of `bytes` bytes
    // (16 to 64).
    explicit Mac(std::string_view key, std::size_t bytes = 32);
    ~Mac();
    Mac(const Mac&) = delete;
    Mac& operator=(const Mac&) = delete;

    std::string of(std::string_view data) const;

private:
    std::string key_;
    std::size_t bytes_;
};

}  // namespace photoshare::codec
