#include "http/router.hpp"

#include <cctype>
#include <stdexcept>

namespace photoshare::http {

namespace {

std::vector<std::string> split_path(std::string_view path) {
    std::vector<std::string> parts;
    if (path.empty() || path.front() != '/') return parts;
    std::size_t start = 1;
    while (start <= path.size()) {
        auto slash = path.find('/', start);
        if (slash == std::string_view::npos) slash = path.size();
        parts.emplace_back(path.substr(start, slash - start));
        start = slash + 1;
    }
    return parts;
}

bool is_param(const std::string& s) { return s.size() > 2 && s.front() == '{' && s.back() == '}'; }
bool is_rest(const std::string& s) { return is_param(s) && s.ends_with("...}"); }
std::string_view param_name(const std::string& s) {
    std::string_view v(s);
    v = v.substr(1, v.size() - 2);
    if (v.ends_with("...")) v.remove_suffix(3);
    return v;
}

// Matches pattern segments against the path without allocating; params point into route.
bool match_path(const Route& route, std::string_view path, Request* req) {
    if (path.empty() || path.front() != '/') return false;
    std::size_t pos = 1;
    for (const auto& seg : route.segments) {
        if (is_rest(seg)) {
            std::string_view rest = path.substr(std::min(pos, path.size()));
            if (rest.empty()) return false;
            if (req) req->params.emplace_back(param_name(seg), std::string(rest));
            return true;
        }
        if (pos > path.size()) return false;
        auto slash = path.find('/', pos);
        std::size_t end = slash == std::string_view::npos ? path.size() : slash;
        std::string_view part = path.substr(pos, end - pos);
        if (is_param(seg)) {
            if (part.empty()) return false;
            if (req) req->params.emplace_back(param_name(seg), std::string(part));
        } else if (part != seg) {
            return false;
        }
        pos = end + 1;
    }
    return pos == path.size() + 1;
}

}  // namespace

void Router::add(Method method, std::string pattern, Handler handler, RouteOptions options) {
    if (pattern.empty() || pattern.front() != '/') throw std::invalid_argument("route pattern must start with '/': " + pattern);
    auto segments = split_path(pattern);
    for (std::size_t i = 0; i < segments.size(); ++i)
        if (is_rest(segments[i]) && i + 1 != segments.size())
            throw std::invalid_argument("'{name...}' must be the last segment: " + pattern);
    routes_.push_back(Route{method, std::move(pattern), std::move(handler), options, std::move(segments)});
}

Router::Match Router::match(Request& req) const {
    Match result;
    const Method wanted = req.method == Method::head ? Method::get : req.method;
    for (const auto& route : routes_) {
        if (!match_path(route, req.path, nullptr)) continue;
        result.path_known = true;
        if (route.method != wanted) continue;
        req.params.clear();
        match_path(route, req.path, &req);
        req.route = route.pattern;
        result.route = &route;
        return result;
    }
    return result;
}

bool Request::content_type_is(std::string_view media_type) const {
    std::string_view type = header("Content-Type");
    type = type.substr(0, type.find(';'));
    while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
    while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
    if (type.size() != media_type.size()) return false;
    for (std::size_t i = 0; i < type.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(type[i])) != std::tolower(static_cast<unsigned char>(media_type[i]))) return false;
    return true;
}

std::string_view to_string(Method m) {
    switch (m) {
        case Method::get: return "GET";
        case Method::head: return "HEAD";
        case Method::post: return "POST";
        case Method::put: return "PUT";
        case Method::patch: return "PATCH";
        case Method::del: return "DELETE";
        case Method::options: return "OPTIONS";
        case Method::other: break;
    }
    return "OTHER";
}

}  // namespace photoshare::http
