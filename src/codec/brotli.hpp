// brotli (RFC 7932) for HTTP responses that are compressed once and sent many times: the
// static assets, at start-up (quality 11: 15% smaller than gzip -9). Pages made per request
// stay gzip level 1 (codec/gzip.hpp): brotli at qualities as fast (1-3) is no smaller, and
// quality 5 saves 15-20% for 4-6 times the CPU (docs/PERFORMANCE.md, "Compression").
#pragma once

#include <string>
#include <string_view>

namespace photoshare::codec {

// quality: 0 (fastest) to 11 (smallest). Throws std::runtime_error if the encoder fails.
std::string brotli(std::string_view text, int quality = 11);

}  // namespace photoshare::codec
