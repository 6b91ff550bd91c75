// Comparison of secrets (CSRF tokens, the admin token, digests) in time that does not
// depend on where they differ. The one constant-time comparison of the project.
#pragma once

#include <string_view>

namespace photoshare::codec {

// True when a and b hold the same bytes. Only the lengths are compared in variable time
// (they are public: fixed by the format of a token or digest).
bool equal_constant_time(std::string_view a, std::string_view b);

}  // namespace photoshare::codec
