// libsodium's start-up, in one place: every seam that calls libsodium (hashing, random
// bytes, argon2id, HMAC) calls ensure_sodium() first.
#pragma once

namespace photoshare::codec {

// Initialises libsodium once per process; safe to call from any thread, any number of times.
// Throws std::runtime_error if the library cannot initialise (no usable entropy source).
void ensure_sodium();

}  // namespace photoshare::codec
