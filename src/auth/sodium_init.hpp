// Internal to auth/: libsodium must be initialised before its RNG or hashing is used.
#pragma once

namespace photoshare::auth::detail {

// Initialises libsodium once per process; safe to call from any thread, any number of times.
// Throws std::runtime_error if the library cannot initialise (no usable entropy source).
void ensure_sodium();

}  // namespace photoshare::auth::detail
