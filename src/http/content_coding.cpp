#include "http/content_coding.hpp"

#include "http/token.hpp"

#include <optional>

namespace photoshare::http {

namespace {

// The q-value of one list member's parameters ("q=0.5"), in thousandths: 1000 without one,
// nullopt when malformed.
std::optional<int> quality(std::string_view params) {
    int q = 1000;
    while (!params.empty()) {
        const auto semi = params.find(';');
        const auto param = trim_ows(params.substr(0, semi));
        params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
        if (param.size() < 2 || (param[0] != 'q' && param[0] != 'Q') || param[1] != '=') continue;
        const auto v = trim_ows(param.substr(2));
        // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
        if (v.empty() || (v[0] != '0' && v[0] != '1') || v.size() > 5 || (v.size() > 1 && v[1] != '.')) return std::nullopt;
        q = (v[0] - '0') * 1000;
        int scale = 100;
        for (std::size_t i = 2; i < v.size(); ++i, scale /= 10) {
            if (v[i] < '0' || v[i] > '9') return std::nullopt;
            q += (v[i] - '0') * scale;
        }
        if (q > 1000) return std::nullopt;
    }
    return q;
}

// Whether `header` takes the coding named `name` (or `alias`): listed by name with a q-value
// above 0, or not listed and "*" is.
bool accepts(std::string_view header, std::string_view name, std::string_view alias) {
    std::optional<int> named, any;
    while (!header.empty()) {
        const auto comma = header.find(',');
        const auto member = header.substr(0, comma);
        header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
        const auto semi = member.find(';');
        const auto coding = trim_ows(member.substr(0, semi));
        const auto q = quality(semi == std::string_view::npos ? std::string_view() : member.substr(semi + 1));
        if (!q) continue;
        if (iequals(coding, name) || (!alias.empty() && iequals(coding, alias))) named = q;
        else if (coding == "*") any = q;
    }
    if (named) return *named > 0;
    return any && *any > 0;
}

}  // namespace

bool accepts_gzip(std::string_view header) { return accepts(header, "gzip", "x-gzip"); }
bool accepts_brotli(std::string_view header) { return accepts(header, "br", ""); }

bool compressible(std::string_view type) {
    type = trim_ows(type.substr(0, type.find(';')));
    auto starts = [&](std::string_view p) { return type.size() >= p.size() && iequals(type.substr(0, p.size()), p); };
    auto ends = [&](std::string_view p) { return type.size() >= p.size() && iequals(type.substr(type.size() - p.size()), p); };
    return starts("text/") || iequals(type, "application/json") || iequals(type, "application/javascript") ||
           iequals(type, "image/svg+xml") || ends("+json") || ends("+xml");
}

}  // namespace photoshare::http
