#include "http/content_coding.hpp"

#include <boost/algorithm/string/predicate.hpp>

#include <optional>

namespace photoshare::http {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// The q-value of one list member's parameters ("q=0.5"); 1 without one, nullopt when malformed.
std::optional<double> quality(std::string_view params) {
    double q = 1.0;
    while (!params.empty()) {
        const auto semi = params.find(';');
        const auto param = trim(params.substr(0, semi));
        params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
        if (param.size() < 2 || (param[0] != 'q' && param[0] != 'Q') || param[1] != '=') continue;
        const auto v = trim(param.substr(2));
        // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
        if (v.empty() || (v[0] != '0' && v[0] != '1') || v.size() > 5 || (v.size() > 1 && v[1] != '.')) return std::nullopt;
        double frac = 0, scale = 0.1;
        for (std::size_t i = 2; i < v.size(); ++i, scale /= 10) {
            if (v[i] < '0' || v[i] > '9') return std::nullopt;
            frac += (v[i] - '0') * scale;
        }
        q = (v[0] - '0') + frac;
        if (q > 1.0) return std::nullopt;
    }
    return q;
}

}  // namespace

bool accepts_gzip(std::string_view header) {
    std::optional<double> gzip, any;
    while (!header.empty()) {
        const auto comma = header.find(',');
        const auto member = header.substr(0, comma);
        header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
        const auto semi = member.find(';');
        const auto coding = trim(member.substr(0, semi));
        const auto q = quality(semi == std::string_view::npos ? std::string_view() : member.substr(semi + 1));
        if (!q) continue;
        if (boost::iequals(coding, "gzip") || boost::iequals(coding, "x-gzip")) gzip = q;
        else if (coding == "*") any = q;
    }
    if (gzip) return *gzip > 0;
    return any && *any > 0;
}

bool compressible(std::string_view type) {
    type = trim(type.substr(0, type.find(';')));
    return boost::istarts_with(type, "text/") || boost::iequals(type, "application/json") ||
           boost::iequals(type, "application/javascript") || boost::iequals(type, "image/svg+xml") ||
           boost::iends_with(type, "+json") || boost::iends_with(type, "+xml");
}

}  // namespace photoshare::http
