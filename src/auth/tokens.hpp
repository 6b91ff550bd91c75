// Random identifiers: hex ones and base64url tokens (CSRF tokens, session ids).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace photoshare::auth {

// `bytes` random bytes from the OS CSPRNG, as lowercase hex (2*bytes characters).
std::string random_hex(std::size_t bytes);
// `bytes` random bytes as unpadded base64url.
std::string random_token(std::size_t bytes);

}  // namespace photoshare::auth
