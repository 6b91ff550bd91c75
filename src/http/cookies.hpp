// Cookie request header parsing and Set-Cookie formatting (RFC 6265).
// Parsing is lenient, as browsers are: a malformed pair is skipped rather than failing the
// whole request, because one bad cookie set by some other application on the same host must
// not lock a user out. Formatting is strict: we only emit what every browser reads the same way.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace photoshare::http {

using Cookie = std::pair<std::string_view, std::string_view>;  // name, value

// Pairs in header order, views into `header`. Whitespace around names and values and one pair
// of double quotes around a value are removed. Skipped: pairs without '=', empty or non-token
// names, values with control characters.
std::vector<Cookie> parse_cookies(std::string_view header);

// Value of the first cookie with this exact (case-sensitive) name. Browsers send the cookie
// with the most specific path first, so the first one is the one our own Path= set.
std::optional<std::string_view> find_cookie(std::string_view header, std::string_view name);

struct SetCookie {
    std::string name;
    std::string value;
    std::string path = "/";
    std::optional<long long> max_age{};  // absent: a session cookie; 0: delete now
    bool http_only = true;
    bool secure = false;
    std::string same_site = "Lax";  // "Strict", "Lax", "None" or empty to omit
};

// "name=value; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Lax".
// Throws std::invalid_argument (a programming error, never a client's) for a name that is not
// an RFC 7230 token, a value outside RFC 6265 cookie-octets, a path with ';' or control
// characters, a negative max_age, an unknown same_site, SameSite=None without Secure (browsers
// drop such cookies), and "__Secure-"/"__Host-" names without the attributes their prefix demands.
std::string format_set_cookie(const SetCookie& cookie);

}  // namespace photoshare::http
