// The router against a plain reference matcher. For any method and path (and, in the second
// mode, any route table the input describes): no crash; the same route as the reference (the
// first route whose pattern and method match, HEAD falling back to GET); path_known exactly
// when some route's pattern matches; params are the route's parameters in order, non-empty,
// one segment each except {rest...}, and substituting them back into the pattern gives the
// path again; req.route is the pattern; stale params from an earlier match are gone.
//
// Input: first byte = method (low 3 bits) and mode (bit 3). Mode 0: the rest is the path,
// matched against the application's routes. Mode 1: the rest is lines; every line but the
// last is a route ("<method digit><pattern>"), the last line is the path.
#include "http/router.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace photoshare::http;

[[noreturn]] void fail(const char* what) {
    (void)std::fprintf(stderr, "fuzz_router: %s\n", what);
    std::abort();
}

// The routes the application registers (src/app/*.cpp), in the same order.
struct AppRoute {
    Method method;
    const char* pattern;
};
constexpr AppRoute app_routes[] = {
    {Method::get, "/"},
    {Method::get, "/photos/{id}"},
    {Method::get, "/login"},
    {Method::get, "/register"},
    {Method::post, "/login"},
    {Method::post, "/register"},
    {Method::post, "/logout"},
    {Method::post, "/upload"},
    {Method::post, "/photos/{id}/delete"},
    {Method::get, "/static/{path...}"},
    {Method::get, "/media/{key}"},
    {Method::get, "/favicon.ico"},
    {Method::post, "/api/v1/users"},
    {Method::post, "/api/v1/session"},
    {Method::get, "/api/v1/session"},
    {Method::del, "/api/v1/session"},
    {Method::get, "/api/v1/photos"},
    {Method::post, "/api/v1/photos"},
    {Method::get, "/api/v1/photos/{id}"},
    {Method::del, "/api/v1/photos/{id}"},
    {Method::get, "/healthz"},
    {Method::get, "/readyz"},
    {Method::get, "/metrics"},
    {Method::get, "/admin/knobs"},
    {Method::put, "/admin/knobs"},
    {Method::post, "/admin/knobs"},
};

Method method_of(unsigned v) { return static_cast<Method>(v % 8); }  // get..other

// ---- reference implementation: split everything, compare segment lists ----

std::vector<std::string> split(std::string_view path) {  // path starts with '/'
    std::vector<std::string> parts;
    std::size_t start = 1;
    while (true) {
        std::size_t slash = path.find('/', start);
        parts.emplace_back(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    return parts;
}

bool is_param(std::string_view s) { return s.size() > 2 && s.front() == '{' && s.back() == '}'; }
bool is_rest(std::string_view s) { return is_param(s) && s.ends_with("...}"); }
std::string_view name_of(std::string_view s) {
    s = s.substr(1, s.size() - 2);
    if (s.ends_with("...")) s.remove_suffix(3);
    return s;
}

struct RefRoute {
    Method method;
    std::string pattern;
    std::vector<std::string> segments;
};

// The parameters, or nullopt when the pattern does not match.
std::optional<std::vector<std::pair<std::string, std::string>>> ref_match(const RefRoute& r, std::string_view path) {
    if (path.empty() || path.front() != '/') return std::nullopt;
    const auto parts = split(path);
    std::vector<std::pair<std::string, std::string>> params;
    for (std::size_t i = 0; i < r.segments.size(); ++i) {
        const std::string& seg = r.segments[i];
        if (i >= parts.size()) return std::nullopt;
        if (is_rest(seg)) {
            std::string rest = parts[i];
            for (std::size_t j = i + 1; j < parts.size(); ++j) rest += "/" + parts[j];
            if (rest.empty()) return std::nullopt;
            params.emplace_back(name_of(seg), rest);
            return params;
        }
        if (is_param(seg)) {
            if (parts[i].empty()) return std::nullopt;
            params.emplace_back(name_of(seg), parts[i]);
        } else if (parts[i] != seg) {
            return std::nullopt;
        }
    }
    if (parts.size() != r.segments.size()) return std::nullopt;
    return params;
}

// Whether Router::add should accept the pattern.
bool valid_pattern(std::string_view pattern, std::vector<std::string>& segments) {
    if (pattern.empty() || pattern.front() != '/') return false;
    segments = split(pattern);
    for (std::size_t i = 0; i + 1 < segments.size(); ++i)
        if (is_rest(segments[i])) return false;
    return true;
}

Handler no_handler() { return {}; }

void check(const Router& router, const std::vector<RefRoute>& table, Method method, std::string_view path) {
    Request req;
    req.method = method;
    req.path = std::string(path);
    req.params.emplace_back("stale", "param");  // a match must replace these
    const Router::Match m = router.match(req);

    const Method wanted = method == Method::head ? Method::get : method;
    const RefRoute* expected = nullptr;
    std::vector<std::pair<std::string, std::string>> expected_params;
    bool path_known = false;
    for (const auto& r : table) {
        auto params = ref_match(r, path);
        if (!params) continue;
        path_known = true;
        if (r.method != wanted) continue;
        expected = &r;
        expected_params = std::move(*params);
        break;
    }
    if (m.path_known != path_known) fail("path_known differs from the reference");
    if ((m.route == nullptr) != (expected == nullptr)) fail("match differs from the reference");
    if (m.route == nullptr) return;
    if (m.route->pattern != expected->pattern || m.route->method != expected->method) fail("a different route matched");
    if (m.route->method != wanted) fail("route method is not the one asked for");
    if (req.route != m.route->pattern) fail("req.route is not the pattern");
    if (req.params.size() != expected_params.size()) fail("wrong number of params (stale params left?)");
    for (std::size_t i = 0; i < expected_params.size(); ++i)
        if (req.params[i].first != expected_params[i].first || req.params[i].second != expected_params[i].second)
            fail("params differ from the reference");

    // Round trip: the pattern with the params put back is the path.
    std::string rebuilt;
    std::size_t next = 0;
    for (const auto& seg : m.route->segments) {
        rebuilt += '/';
        if (is_param(seg)) {
            if (next >= req.params.size()) fail("too few params");
            const auto& [name, value] = req.params[next++];
            if (name != name_of(seg)) fail("param name is not the pattern's");
            if (value.empty()) fail("empty param");
            if (!is_rest(seg) && value.find('/') != std::string::npos) fail("'/' in a one-segment param");
            if (req.param(name).data() == nullptr) fail("Request::param cannot find a param");
            rebuilt += value;
        } else {
            rebuilt += seg;
        }
    }
    if (next != req.params.size()) fail("params left over");
    if (rebuilt != path) fail("params do not round-trip to the path");
}

const std::pair<Router, std::vector<RefRoute>>& app_router() {
    static const auto built = [] {
        std::pair<Router, std::vector<RefRoute>> out;
        for (const auto& r : app_routes) {
            out.first.add(r.method, r.pattern, no_handler());
            std::vector<std::string> segs;
            if (!valid_pattern(r.pattern, segs)) fail("app route refused by the reference");
            out.second.push_back(RefRoute{r.method, r.pattern, std::move(segs)});
        }
        return out;
    }();
    return built;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const Method method = method_of(data[0]);
    const bool custom = data[0] & 8;
    std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);

    if (!custom) {
        const auto& [router, table] = app_router();
        check(router, table, method, rest);
        return 0;
    }

    std::vector<std::string_view> lines;
    for (std::size_t pos = 0;;) {
        std::size_t nl = rest.find('\n', pos);
        lines.push_back(rest.substr(pos, nl == std::string_view::npos ? nl : nl - pos));
        if (nl == std::string_view::npos) break;
        pos = nl + 1;
    }
    if (lines.size() > 64) return 0;  // enough routes; keeps each run fast
    Router router;
    std::vector<RefRoute> table;
    for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
        std::string_view line = lines[i];
        if (line.empty()) continue;
        const Method m = method_of(static_cast<unsigned char>(line[0]));
        std::string pattern(line.substr(1));
        std::vector<std::string> segs;
        const bool valid = valid_pattern(pattern, segs);
        bool added = true;
        try {
            router.add(m, pattern, no_handler());
        } catch (const std::invalid_argument&) {
            added = false;
        }
        if (added != valid) fail("Router::add accepts or refuses differently from the reference");
        if (valid) table.push_back(RefRoute{m, std::move(pattern), std::move(segs)});
    }
    check(router, table, method, lines.back());
    return 0;
}
