// The header block of one multipart/form-data part.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace photoshare::http {

struct PartHeaders {
    std::string name;
    std::optional<std::string> filename;  // directory part removed; may be "" (no file chosen)
    std::string content_type;             // "text/plain" when the part has none (RFC 7578 §4.4)
};

// `block` is the part's header lines, each ending in CRLF, without the empty line that ends
// them. Throws HttpError 400 "bad_multipart" for a line that is not `name: value`, a missing
// or repeated Content-Disposition or Content-Type, or a Content-Transfer-Encoding other than
// 7bit/8bit/binary (RFC 7578 §4.7 forbids senders to use one and no browser does, so a
// base64 part is refused rather than silently stored as base64 text). Other headers are
// ignored. Folded lines (obs-fold) are unfolded.
PartHeaders parse_part_headers(std::string_view block);

}  // namespace photoshare::http
