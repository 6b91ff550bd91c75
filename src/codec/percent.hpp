// Percent-encoding (RFC 3986 %XX): form bodies, query strings, paths, RFC 5987 values,
// SigV4's canonical URIs, the parts of backend URLs (s3://, redis://, mysql://).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace photoshare::codec {

// The HTTP rules: nullopt for a '%' not followed by two hex digits, for %00 and for a raw
// NUL byte (no legitimate form value or path needs NUL, and C APIs downstream would
// silently truncate at it). Decoded values are bytes: nothing here checks UTF-8.
// plus_is_space: true for form bodies and query strings, false for paths and RFC 5987 values.
std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space);

// Why percent_decode_to stopped.
enum class PercentError {
    bad_escape,   // a '%' not followed by two hex digits (either case)
    escaped_nul,  // %00, when refused
};

// The lower level, for callers that word their own errors (backend URLs): decodes `in` into
// `out` (which it replaces) and returns the first problem in the text, or nullopt. Bytes
// other than escapes are copied as they are, a raw NUL included; '+' becomes ' ' only when
// plus_is_space; %00 is an error only when refuse_escaped_nul.
std::optional<PercentError> percent_decode_to(std::string& out, std::string_view in, bool plus_is_space,
                                              bool refuse_escaped_nul);

// Keeps RFC 3986 unreserved characters (ALPHA DIGIT - . _ ~); every other byte becomes %XX
// with upper-case hex (a space is %20, never '+'). The result is safe in a path segment, a
// query value and a form body alike. keep_slash: '/' stays as it is (a path, as SigV4
// encodes it).
std::string percent_encode(std::string_view in, bool keep_slash = false);

}  // namespace photoshare::codec
