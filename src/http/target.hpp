// The request target of an HTTP request line, in origin form ("/path?query").
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace photoshare::http {

struct Target {
    std::string path;        // percent-decoded, always starts with '/'
    std::string_view query;  // raw (still encoded), without '?'; a view into the parsed input
};

inline constexpr std::size_t default_max_target_length = 8192;

// nullopt unless `target` is a valid RFC 7230 origin-form no longer than max_length whose
// path decodes to something a router and a file system can both take at face value:
// no NUL or other control characters, no backslash, no "." or ".." segment, and no encoded
// '/' (so that the decoded path splits into exactly the segments the client sent).
// Empty segments ("/a//b", "/photos/") are kept: routing decides what they mean.
// The query is checked for the same grammar and for %00 but is not decoded.
std::optional<Target> parse_target(std::string_view target,
                                   std::size_t max_length = default_max_target_length);

// Whether a Host header's value is a valid authority without userinfo (RFC 9112 §3.2,
// RFC 3986 §3.2.2): a registered name (unreserved, percent-encoded and sub-delimiter
// characters), an IPv4 address or a bracketed IPv6 literal, then optionally ':' and a port
// of at most 65535. Empty is valid (a target without an authority).
bool valid_host(std::string_view host);

}  // namespace photoshare::http
