// Content codings (RFC 9110, section 8.4): which responses are worth compressing and
// whether the client takes gzip (Accept-Encoding, with its q-values).
#pragma once

#include <string_view>

namespace photoshare::http {

// "gzip" or "*" listed with a q-value above 0 (and gzip not refused by name).
bool accepts_gzip(std::string_view accept_encoding);
// The same for "br" (brotli).
bool accepts_brotli(std::string_view accept_encoding);

// Text that compresses: HTML, CSS, JavaScript, JSON, SVG, plain text. Not images, which
// are compressed already.
bool compressible(std::string_view content_type);

}  // namespace photoshare::http
