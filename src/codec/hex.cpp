// to_hex over libsodium's sodium_bin2hex, which does not branch on the bytes (no table
// look-up indexed by a secret).
#include "codec/hex.hpp"

#include <sodium.h>

namespace photoshare::codec {

std::string to_hex(std::span<const std::uint8_t> bytes) {
    // sodium_bin2hex needs no sodium_init() and writes a terminating NUL, dropped here.
    std::string out(2 * bytes.size() + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
    out.pop_back();
    return out;
}

std::string to_hex(std::string_view bytes) {
    return to_hex(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

}  // namespace photoshare::codec
