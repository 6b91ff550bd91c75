#include "http/target.hpp"

#include "codec/percent.hpp"

#include <boost/url/parse.hpp>

#include <cctype>

namespace photoshare::http {

namespace {

// A decoded segment is acceptable when it cannot change which file or route it names.
bool safe_segment(std::string_view s) {
    if (s == "." || s == "..") return false;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f || c == '\\' || c == '/') return false;
    }
    return true;
}

}  // namespace

std::optional<Target> parse_target(std::string_view target, std::size_t max_length) {
    if (target.size() > max_length) return std::nullopt;
    // parse_origin_form, not parse_uri_reference: the latter crashes on "?#'?" in Boost 1.81
    // and would accept forms (absolute URIs, fragments) that are not a request target.
    auto url = boost::urls::parse_origin_form(boost::urls::string_view(target.data(), target.size()));
    if (!url) return std::nullopt;

    std::string_view encoded_path(url->encoded_path().data(), url->encoded_path().size());
    Target out;
    out.path.reserve(encoded_path.size());
    // Split before decoding so that "%2F" can never join or create segments.
    std::size_t pos = 1;  // origin-form paths always start with '/'
    while (true) {
        std::size_t slash = encoded_path.find('/', pos);
        std::string_view raw = encoded_path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
        auto segment = codec::percent_decode(raw, false);
        if (!segment || !safe_segment(*segment)) return std::nullopt;
        out.path.push_back('/');
        out.path.append(*segment);
        if (slash == std::string_view::npos) break;
        pos = slash + 1;
    }

    if (url->has_query()) {
        std::string_view query(url->encoded_query().data(), url->encoded_query().size());
        if (query.find("%00") != std::string_view::npos) return std::nullopt;
        out.query = query;
    }
    return out;
}

bool valid_host(std::string_view host) {
    auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
    std::string_view name = host;
    std::string_view port;
    if (host.starts_with('[')) {
        const auto close = host.find(']');
        if (close == std::string_view::npos || close < 3) return false;  // the shortest is [::]
        for (char c : host.substr(1, close - 1))
            if (!hex(c) && c != ':' && c != '.') return false;
        const auto rest = host.substr(close + 1);
        if (!rest.empty() && !rest.starts_with(':')) return false;
        name = {};
        port = rest.empty() ? rest : rest.substr(1);
        if (!rest.empty() && port.empty()) return false;
    } else if (const auto colon = host.find(':'); colon != std::string_view::npos) {
        name = host.substr(0, colon);
        port = host.substr(colon + 1);
        if (port.empty()) return false;
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        if (c == '%') {
            if (i + 2 >= name.size() || !hex(name[i + 1]) || !hex(name[i + 2])) return false;
            i += 2;
            continue;
        }
        const bool unreserved = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_' || c == '~';
        const bool sub_delim = std::string_view("!$&'()*+,;=").find(c) != std::string_view::npos;
        if (!unreserved && !sub_delim) return false;
    }
    if (port.size() > 5) return false;
    unsigned value = 0;
    for (char c : port) {
        if (c < '0' || c > '9') return false;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    return value <= 65535;
}

}  // namespace photoshare::http
