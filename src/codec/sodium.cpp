// ensure_sodium(): sodium_init() behind a function-local static, so the first caller on
// any thread initialises the library and the rest pay one load.
#include "codec/sodium.hpp"

#include <sodium.h>

#include <stdexcept>

namespace photoshare::codec {

void ensure_sodium() {
    // A function-local static gives a once-only, thread-safe initialisation without a
    // separate flag; sodium_init() returns 1 when already done, which is fine too.
    static const bool ready = [] {
        if (sodium_init() < 0) {
            throw std::runtime_error("libsodium failed to initialise");
        }
        return true;
    }();
    (void)ready;
}

}  // namespace photoshare::codec
