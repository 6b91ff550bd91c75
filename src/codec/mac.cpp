#include "codec/mac.hpp"

#include "codec/sodium.hpp"

#include <sodium.h>

#include <stdexcept>

namespace photoshare::codec {

Mac::Mac(std::string_view key, std::size_t bytes) : bytes_(bytes) {
    ensure_sodium();
    if (bytes < crypto_generichash_BYTES_MIN || bytes > crypto_generichash_BYTES_MAX)
        throw std::invalid_argument("codec::Mac: a MAC has 16 to 64 bytes");
    if (key.empty()) throw std::invalid_argument("codec::Mac: the key is empty");
    if (key.size() <= crypto_generichash_KEYBYTES_MAX) {
        key_.assign(key);
    } else {
        key_.resize(crypto_generichash_KEYBYTES);
        crypto_generichash(reinterpret_cast<unsigned char*>(key_.data()), key_.size(), reinterpret_cast<const unsigned char*>(key.data()),
                           key.size(), nullptr, 0);
    }
}

Mac::~Mac() { sodium_memzero(key_.data(), key_.size()); }

std::string Mac::of(std::string_view data) const {
    std::string out(bytes_, '\0');
    crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(), reinterpret_cast<const unsigned char*>(data.data()),
                       data.size(), reinterpret_cast<const unsigned char*>(key_.data()), key_.size());
    return out;
}

}  // namespace photoshare::codec
