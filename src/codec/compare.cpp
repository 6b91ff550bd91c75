// equal_constant_time over libsodium's sodium_memcmp, whose running time depends only on the
// length compared.
#include "codec/compare.hpp"

#include <sodium.h>

namespace photoshare::codec {

bool equal_constant_time(std::string_view a, std::string_view b) {
    // Lengths of tokens and digests are public (fixed by the format), so comparing them
    // first leaks nothing; sodium_memcmp then hides where the contents differ. It needs no
    // sodium_init().
    if (a.size() != b.size()) {
        return false;
    }
    if (a.empty()) {
        return true;
    }
    return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace photoshare::codec
