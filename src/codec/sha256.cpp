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

}  // namespace photoshare::codec
