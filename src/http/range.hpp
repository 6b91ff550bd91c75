// Byte ranges (RFC 9110, section 14): which part of a representation of known size a
// request's Range and If-Range headers ask for. One range only: a request for several is
// answered whole, as the RFC allows, and so is one whose Range header cannot be parsed.
#pragma once

#include <cstdint>
#include <string_view>

namespace photoshare::http {

struct RangeRequest {
    enum class Kind {
        whole,          // send it all (200): no Range, an If-Range that does not match, or one we ignore
        part,           // send [first, last] (206)
        unsatisfiable,  // 416, Content-Range: bytes */size
    } kind = Kind::whole;
    std::uint64_t first = 0, last = 0;  // inclusive; for Kind::part
    std::uint64_t length() const { return last - first + 1; }
};

// range: the Range header ("bytes=0-499", "bytes=500-", "bytes=-500"); if_range: the
// If-Range header, compared with etag (a strong validator, quoted) — a date, or a weak or
// different tag, means the whole representation.
RangeRequest requested_range(std::string_view range, std::string_view if_range, std::string_view etag, std::uint64_t size);

}  // namespace photoshare::http
