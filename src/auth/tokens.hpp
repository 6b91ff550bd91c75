// Random identifiers: hex ones and base64url tokens (CSRF tokens, session ids).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "codec/compare.hpp"
#include "codec/sha256.hpp"

namespace photoshare::auth {

// `bytes` random bytes from the OS CSPRNG, as lowercase hex (2*bytes characters).
std::string random_hex(std::size_t bytes);
// `bytes` random bytes as unpadded base64url.
std::string random_token(std::size_t bytes);

// moved to codec/; app/ switches over in the redesign
using codec::sha256_hex;
using codec::equal_constant_time;

}  // namespace photoshare::auth
