#include "http/header_params.hpp"

#include "http/token.hpp"

namespace photoshare::http {

namespace {

bool is_ows(char c) { return c == ' ' || c == '\t'; }

void skip_ows(std::string_view s, std::size_t& i) {
    while (i < s.size() && is_ows(s[i])) ++i;
}

bool closes_quote(std::string_view s, std::size_t i) {
    ++i;  // past the quote
    skip_ows(s, i);
    return i == s.size() || s[i] == ';';
}

// s[i] is the opening quote; leaves i just past the closing one.
std::optional<std::string> read_quoted(std::string_view s, std::size_t& i) {
    std::string out;
    for (++i; i < s.size(); ++i) {
        char c = s[i];
        if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '"' || s[i + 1] == '\\')) {
            out.push_back(s[++i]);
        } else if (c == '"' && closes_quote(s, i)) {
            ++i;
            return out;
        } else {
            out.push_back(c);
        }
    }
    return std::nullopt;
}

std::string_view read_token_value(std::string_view s, std::size_t& i) {
    std::size_t start = i;
    while (i < s.size() && s[i] != ';') ++i;
    std::string_view v = s.substr(start, i - start);
    while (!v.empty() && is_ows(v.back())) v.remove_suffix(1);
    return v;
}

bool has_control(std::string_view s) {
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7f) return true;
    }
    return false;
}

}  // namespace

std::optional<ParamHeader> parse_param_header(std::string_view s) {
    if (has_control(s)) return std::nullopt;
    ParamHeader out;
    std::size_t i = 0;
    skip_ows(s, i);
    std::size_t type_start = i;
    while (i < s.size() && s[i] != ';' && !is_ows(s[i])) ++i;
    out.type = s.substr(type_start, i - type_start);
    if (out.type.empty()) return std::nullopt;
    skip_ows(s, i);

    while (i < s.size()) {
        if (s[i] != ';') return std::nullopt;
        ++i;
        skip_ows(s, i);
        if (i == s.size() || s[i] == ';') continue;  // tolerate "a;;b=1" and a trailing ';'
        std::size_t name_start = i;
        while (i < s.size() && is_tchar(s[i])) ++i;
        std::string_view name = s.substr(name_start, i - name_start);
        skip_ows(s, i);
        if (name.empty() || i == s.size() || s[i] != '=') return std::nullopt;
        ++i;
        skip_ows(s, i);
        HeaderParam param;
        param.name.reserve(name.size());
        for (char c : name) param.name.push_back(ascii_lower(c));
        if (i < s.size() && s[i] == '"') {
            auto quoted = read_quoted(s, i);
            if (!quoted) return std::nullopt;
            param.value = std::move(*quoted);
        } else {
            std::string_view v = read_token_value(s, i);
            if (v.find('"') != std::string_view::npos) return std::nullopt;
            param.value = v;
        }
        skip_ows(s, i);
        out.params.push_back(std::move(param));
    }
    return out;
}

}  // namespace photoshare::http
