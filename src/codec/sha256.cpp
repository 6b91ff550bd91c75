// sha256 and sha256_hex over libsodium's crypto_hash_sha256 (the project links libsodium for
// argon2id already; no hand-written SHA-256).
#include "codec/sha256.hpp"

#include <sodium.h>

#include "codec/hex.hpp"
#include "codec/sodium.hpp"

namespace photoshare::codec {

static_assert(std::tuple_size_v<Sha256> == crypto_hash_sha256_BYTES);

Sha256 sha256(std::string_view data) {
    ensure_sodium();
    Sha256 digest{};
    crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(data.data()), data.size());
    return digest;
}

std::string sha256_hex(std::string_view data) { return to_hex(sha256(data)); }

std::string hmac_sha256(std::string_view key, std::string_view data) {
    // The init/update/final interface takes keys of any length (SigV4's first key is "AWS4"
    // + the secret, 44+ bytes); crypto_auth_hmacsha256() wants exactly 32.
    ensure_sodium();
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()), key.size());
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    std::array<unsigned char, crypto_auth_hmacsha256_BYTES> mac{};
    crypto_auth_hmacsha256_final(&state, mac.data());
    sodium_memzero(&state, sizeof state);  // the state holds key material
    return {reinterpret_cast<const char*>(mac.data()), mac.size()};
}

}  // namespace photoshare::codec
