// The dashboard's routes and server hooks: each page or document is rendered from the
// fleet's state read under its lock (dashboard_page.cpp, dashboard_charts.cpp,
// dashboard_json.cpp); PUT /api/knobs is the one that acts.
#include "fleet/dashboard.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

namespace photoshare::fleet {

namespace asio = boost::asio;

namespace {

bool constant_time_equal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

http::Response text(int status, std::string content_type, std::string body) {
    http::Response r(status, std::move(content_type), std::move(body));
    r.set("Cache-Control", "no-store");
    return r;
}

}  // namespace

Dashboard::Dashboard(Fleet& fleet) : fleet_(fleet) {}

std::string Dashboard::render(const std::function<std::string(const FleetState&, TimePoint)>& f) const {
    std::string body;
    const auto now = fleet_.now();
    fleet_.inspect([&](const FleetState& s) { body = f(s, now); });
    return body;
}

void Dashboard::add_routes(http::Router& router) {
    add_page_routes(router);
    add_api_routes(router);
    auto knobs = [this](http::Request& req) -> asio::awaitable<http::Response> { co_return co_await put_knobs(req); };
    router.add(http::Method::put, "/api/knobs", knobs);
    router.add(http::Method::post, "/api/knobs", knobs);
}

void Dashboard::add_page_routes(http::Router& router) {
    using http::Method;
    router.add(Method::get, "/", [this](http::Request&) -> asio::awaitable<http::Response> {
        co_return text(200, "text/html; charset=utf-8", render([this](const FleetState& s, TimePoint now) { return page(s, fleet_.config(), now); }));
    });
    router.add(Method::get, "/dashboard.css", [](http::Request&) -> asio::awaitable<http::Response> {
        co_return text(200, "text/css; charset=utf-8", stylesheet());
    });
    router.add(Method::get, "/favicon.svg", [](http::Request&) -> asio::awaitable<http::Response> {
        // Three bars of growing height: a fleet.
        http::Response r(200, "image/svg+xml",
                         R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect x="1" y="9" width="4" height="6" fill="#2563eb"/>)"
                         R"(<rect x="6" y="5" width="4" height="10" fill="#2563eb"/><rect x="11" y="1" width="4" height="14" fill="#111827"/></svg>)");
        r.set("Cache-Control", "max-age=86400");
        co_return r;
    });
    router.add(Method::get, "/charts/{file}", [this](http::Request& req) -> asio::awaitable<http::Response> {
        std::string name(req.param("file"));
        if (!name.ends_with(".svg")) throw http::HttpError(404, "not_found", "No such chart.");
        name.resize(name.size() - 4);
        auto body = render([&](const FleetState& s, TimePoint now) { return chart(name, s, fleet_.config(), now); });
        if (body.empty()) throw http::HttpError(404, "not_found", "No such chart: size, latency, requests, policy or summary.");
        co_return text(200, "image/svg+xml", std::move(body));
    });
    router.add(Method::get, "/healthz", [](http::Request&) -> asio::awaitable<http::Response> { co_return text(200, "text/plain; charset=utf-8", "ok\n"); });
}

void Dashboard::add_api_routes(http::Router& router) {
    using http::Method;
    router.add(Method::get, "/api/status", [this](http::Request&) -> asio::awaitable<http::Response> {
        co_return text(200, "application/json", render([this](const FleetState& s, TimePoint now) { return status_json(s, fleet_.config(), now); }));
    });
    router.add(Method::get, "/api/history", [this](http::Request&) -> asio::awaitable<http::Response> {
        co_return text(200, "application/json", render([](const FleetState& s, TimePoint) { return history_json(s); }));
    });
}

std::pair<Knobs, std::string> Dashboard::parse_knobs(std::string_view body) {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    if (ec || !v.is_object()) throw http::HttpError(400, "bad_json", R"(Send a JSON object like {"latency_ms": 1200, "server": "web-2"}.)");
    Knobs k;
    std::string server;
    for (const auto& [name, value] : v.as_object()) {
        if (name == "server") {
            if (!value.is_string()) throw http::HttpError(422, "bad_server", "'server' must be a server name like \"web-2\".");
            server = std::string(value.as_string());
            continue;
        }
        std::optional<long>* slot = name == "latency_ms" ? &k.latency_ms : name == "cpu_ms" ? &k.cpu_ms : name == "slots" ? &k.slots : nullptr;
        if (!slot) throw http::HttpError(422, "unknown_knob", fmt::format("There is no knob named '{}'.", std::string_view(name)));
        if (!value.is_int64() || value.as_int64() < 0 || value.as_int64() > 60'000)
            throw http::HttpError(422, "bad_knob_value", fmt::format("'{}' must be a whole number from 0 to 60000.", std::string_view(name)));
        *slot = static_cast<long>(value.as_int64());
    }
    if (k.empty()) throw http::HttpError(422, "no_knob", "Give at least one of latency_ms, cpu_ms, slots.");
    return {k, server};
}

asio::awaitable<http::Response> Dashboard::put_knobs(http::Request& req) {
    auto header = req.header("Authorization");
    constexpr std::string_view prefix = "Bearer ";
    if (!header.starts_with(prefix) || !constant_time_equal(header.substr(prefix.size()), fleet_.admin_token()))
        throw http::HttpError(401, "admin_token_required", "Send the fleet's admin token (STATE_DIR/admin.token) as 'Authorization: Bearer <token>'.",
                              {{"WWW-Authenticate", "Bearer"}});
    const auto parsed = parse_knobs(req.body);
    std::string result;
    try {
        result = co_await workers_.call([this, k = parsed.first, server = parsed.second] { return fleet_.set_knobs(k, server); });
    } catch (const std::invalid_argument& e) {
        throw http::HttpError(404, "no_such_server", e.what());
    }
    co_return text(200, "application/json", std::move(result));
}

http::ServerHooks Dashboard::hooks(std::function<void()> draining) {
    http::ServerHooks h;
    h.error_response = [](const http::Request& req, int status, const std::string& code, const std::string& message) {
        if (req.path.starts_with("/api/"))
            return text(status, "application/json",
                        boost::json::serialize(boost::json::object{{"error", boost::json::object{{"code", code}, {"message", message}}}}));
        return text(status, "text/plain; charset=utf-8", message + "\n");
    };
    h.decorate = [](const http::Request&, http::Response& res) {
        res.set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
        res.set("X-Content-Type-Options", "nosniff");
        res.set("Referrer-Policy", "no-referrer");
    };
    h.draining = std::move(draining);
    return h;
}

}  // namespace photoshare::fleet
