// Random identifiers and secret comparison.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace photoshare::auth {

// `bytes` random bytes from the OS CSPRNG, as lowercase hex (2*bytes characters).
std::string random_hex(std::size_t bytes);
// `bytes` random bytes as unpadded base64url.
std::string random_token(std::size_t bytes);
// SHA-256 as lowercase hex.
std::string sha256_hex(std::string_view data);
// Compares in time independent of where the strings differ.
bool equal_constant_time(std::string_view a, std::string_view b);

}  // namespace photoshare::auth
