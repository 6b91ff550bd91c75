// Parameterised header values: `type; name=value; name="quoted value"` as used by
// Content-Type and Content-Disposition (RFC 7231 §3.1.1.1, RFC 6266).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace photoshare::http {

struct HeaderParam {
    std::string name;   // lower-cased
    std::string value;  // unquoted
};

struct ParamHeader {
    std::string_view type;  // as sent (compare with iequals)
    std::vector<HeaderParam> params;  // in order, duplicates kept so callers can refuse them
};

// nullopt when the value is not of that shape (missing type, parameter without '=',
// non-token names, unterminated quotes, control characters).
//
// Quoted strings follow what browsers actually send rather than strict RFC 7230:
//  - a backslash escapes only '"' and '\'; any other backslash is literal, because old IE
//    sends Windows paths such as "C:\Users\a.png" unescaped;
//  - a '"' closes the string only when followed by optional whitespace and then ';' or the
//    end, because old Firefox and IE put raw '"' inside file names.
std::optional<ParamHeader> parse_param_header(std::string_view value);

}  // namespace photoshare::http
