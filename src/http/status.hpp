// Status codes as the status line says them (RFC 9110 §15).
#pragma once

#include <string_view>

namespace photoshare::http {

// The reason phrase of every status this server sends ("Found" for 302, "Content Too
// Large" for 413, ...); empty for any other, which the status line allows (RFC 9112 §4)
// and which is better than a wrong one.
std::string_view reason_phrase(int status);

}  // namespace photoshare::http
