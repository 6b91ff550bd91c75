#include "http/cookies.hpp"

#include "http/token.hpp"

#include <stdexcept>

namespace photoshare::http {

namespace {

bool has_control(std::string_view s) {
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) return true;
    }
    return false;
}

// One "name=value" piece of a Cookie header, or nullopt when it is to be skipped.
std::optional<Cookie> parse_pair(std::string_view piece) {
    std::size_t eq = piece.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view name = trim_ows(piece.substr(0, eq));
    std::string_view value = trim_ows(piece.substr(eq + 1));
    if (!is_token(name)) return std::nullopt;
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    if (has_control(value)) return std::nullopt;
    return Cookie{name, value};
}

// Calls f(cookie) for each valid pair until f returns true.
template <class F>
void for_each_cookie(std::string_view header, F&& f) {
    while (!header.empty()) {
        std::size_t semi = header.find(';');
        std::string_view piece = header.substr(0, semi);
        header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
        if (auto cookie = parse_pair(piece))
            if (f(*cookie)) return;
    }
}

// RFC 6265 cookie-octet: visible ASCII except '"', ',', ';' and '\'.
bool is_cookie_value(std::string_view s) {
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x21 || u > 0x7e || c == '"' || c == ',' || c == ';' || c == '\\') return false;
    }
    return true;
}

}  // namespace

std::vector<Cookie> parse_cookies(std::string_view header) {
    std::vector<Cookie> cookies;
    for_each_cookie(header, [&](const Cookie& c) {
        cookies.push_back(c);
        return false;
    });
    return cookies;
}

std::optional<std::string_view> find_cookie(std::string_view header, std::string_view name) {
    std::optional<std::string_view> found;
    for_each_cookie(header, [&](const Cookie& c) {
        if (c.first != name) return false;
        found = c.second;
        return true;
    });
    return found;
}

std::string format_set_cookie(const SetCookie& c) {
    if (!is_token(c.name)) throw std::invalid_argument("cookie name is not a token: " + c.name);
    if (!is_cookie_value(c.value)) throw std::invalid_argument("cookie value has characters outside cookie-octet");
    if (c.path.find(';') != std::string::npos || has_control(c.path))
        throw std::invalid_argument("cookie path has ';' or control characters");
    if (c.max_age && *c.max_age < 0) throw std::invalid_argument("cookie max_age is negative");
    if (!c.same_site.empty() && c.same_site != "Strict" && c.same_site != "Lax" && c.same_site != "None")
        throw std::invalid_argument("cookie same_site must be Strict, Lax, None or empty");
    if (c.same_site == "None" && !c.secure) throw std::invalid_argument("SameSite=None requires Secure");
    bool secure_prefix = c.name.starts_with("__Secure-");
    bool host_prefix = c.name.starts_with("__Host-");
    if ((secure_prefix || host_prefix) && !c.secure)
        throw std::invalid_argument("a __Secure- or __Host- cookie requires Secure");
    if (host_prefix && c.path != "/") throw std::invalid_argument("a __Host- cookie requires Path=/");

    std::string out;
    out.reserve(c.name.size() + c.value.size() + c.path.size() + 64);
    out.append(c.name).append("=").append(c.value);
    if (!c.path.empty()) out.append("; Path=").append(c.path);
    if (c.max_age) out.append("; Max-Age=").append(std::to_string(*c.max_age));
    if (c.http_only) out.append("; HttpOnly");
    if (c.secure) out.append("; Secure");
    if (!c.same_site.empty()) out.append("; SameSite=").append(c.same_site);
    return out;
}

}  // namespace photoshare::http
