// Operational endpoints: liveness, readiness (dependencies reachable and not draining),
// Prometheus metrics and the run-time knobs.
#include "app/app.hpp"
#include "app/responses.hpp"
#include "auth/tokens.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <system_error>
#include <unistd.h>

namespace photoshare::app {

namespace {

asio::awaitable<http::Response> healthz(App&, http::Request&) { co_return http::Response(200, "text/plain; charset=utf-8", "ok\n"); }

// Ready when the database and the media store answer and the server is not draining. A
// cache or session store that is down is reported but does not fail readiness: every
// server shares it, so failing would take the whole fleet out of the load balancer, while
// pages are still served from the database.
//
// Load balancers ask every second or so, and a dependency that hangs would otherwise pile
// its checks up: the checks run one set at a time on threads of their own (never the
// workers that serve pages), and requests in the meantime get the last result, if it is
// recent.
asio::awaitable<http::Response> readyz(App& app, http::Request&) {
    if (app.draining.load()) {
        co_return json_response(503, boost::json::object{{"status", "not ready"}, {"checks", {{"server", "draining"}}}});
    }
    auto& r = app.readiness;
    const auto now = std::chrono::steady_clock::now();
    bool run = false;
    {
        std::lock_guard lock(r.mutex);
        if (!r.running && now - r.checked > std::chrono::seconds(1)) r.running = run = true;
    }
    if (run) {
        boost::json::object checks;
        bool ready = true;
        bool degraded = false;
        auto check = [&](const char* name, bool required, auto fn) -> asio::awaitable<void> {
            try {
                co_await app.probe_workers.run(fn);
                checks[name] = "ok";
            } catch (const std::exception& e) {
                if (required) ready = false;
                else degraded = true;
                checks[name] = e.what();
            }
        };
        co_await check("database", true, [&] { app.repo->ping(); });
        co_await check("storage", true, [&] { app.blobs->check(); });
        co_await check("cache", false, [&] { app.cache_store->check(); });
        if (app.session_kv) co_await check("sessions", false, [&] { app.session_kv->check(); });
        std::lock_guard lock(r.mutex);
        r.running = false;
        r.checked = std::chrono::steady_clock::now();
        r.ready = ready;
        r.body = boost::json::object{{"status", !ready ? "not ready" : degraded ? "degraded" : "ready"}, {"checks", checks}};
    }
    std::lock_guard lock(r.mutex);
    if (r.body.empty() || std::chrono::steady_clock::now() - r.checked > std::chrono::seconds(10))
        co_return json_response(503, boost::json::object{{"status", "checking"}, {"checks", boost::json::object{}}});
    co_return json_response(r.ready ? 200 : 503, r.body);
}

std::uint64_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::uint64_t size = 0, resident = 0;
    statm >> size >> resident;
    return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

std::uint64_t open_fds() {
    std::error_code ec;
    std::uint64_t n = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++n;
    return n > 1 ? n - 1 : 0;  // the iterator's own descriptor
}

asio::awaitable<http::Response> metrics_page(App& app, http::Request&) {
    auto& m = app.metrics;
    if (app.server) {
        m.gauge("http_requests_in_flight", "Requests being handled").set(static_cast<double>(app.server->in_flight()));
        m.gauge("http_connections_open", "Open client connections").set(static_cast<double>(app.server->connections()));
    }
    m.gauge("process_resident_memory_bytes", "Resident memory").set(static_cast<double>(resident_bytes()));
    m.gauge("process_open_fds", "Open file descriptors").set(static_cast<double>(open_fds()));
    m.gauge("photoshare_knob_latency_ms", "Latency knob").set(static_cast<double>(app.knobs.latency_ms.load()));
    m.gauge("photoshare_knob_cpu_ms", "CPU knob").set(static_cast<double>(app.knobs.cpu_ms.load()));
    m.gauge("photoshare_knob_slots", "Slots knob (0: unlimited)").set(static_cast<double>(app.knobs.slots.permits()));
    m.gauge("photoshare_requests_waiting_for_a_slot", "Page requests queued by the slots knob").set(static_cast<double>(app.knobs.slots.waiting()));
    m.gauge("photoshare_draining", "1 while shutting down").set(app.draining.load() ? 1 : 0);
    for (const auto& copy : app.near_copies) {
        const std::string& name = copy.first;
        const auto stats = copy.second->stats();
        m.gauge("photoshare_near_copy_age_seconds", "Since this server last confirmed its copy of a shared counter (-1: never)",
                {{"counter", name}})
            .set(stats.age_seconds);
        auto total = [&](const char* by, std::uint64_t value) {
            auto& c = m.counter("photoshare_near_copy_updates_total",
                                "Reads of a shared counter into this server's copy: by its poller, by requests that could not use the "
                                "copy, and notices pushed by the store",
                                {{"counter", name}, {"by", by}});
            if (value > c.value()) c.inc(value - c.value());
        };
        total("poll", stats.polls);
        total("request", stats.reads);
        total("push", stats.pushes);
        auto& failures = m.counter("photoshare_near_copy_failures_total", "Reads, bumps and notices of a shared counter that failed",
                                   {{"counter", name}});
        if (stats.failures > failures.value()) failures.inc(stats.failures - failures.value());
    }
    http::Response res(200, "text/plain; version=0.0.4; charset=utf-8", m.render());
    res.set("Cache-Control", "no-store");
    co_return res;
}

void require_admin(App& app, const http::Request& req) {
    auto header = req.header("Authorization");
    constexpr std::string_view prefix = "Bearer ";
    if (!header.starts_with(prefix) || !auth::equal_constant_time(header.substr(prefix.size()), app.admin_token))
        throw http::HttpError(401, "admin_token_required", "Send the admin token as 'Authorization: Bearer <token>'.",
                              {{"WWW-Authenticate", "Bearer"}});
}

boost::json::object knobs_json(App& app) {
    return {{"latency_ms", app.knobs.latency_ms.load()},
            {"cpu_ms", app.knobs.cpu_ms.load()},
            {"slots", app.knobs.slots.permits()},
            {"server", app.info.name}};
}

asio::awaitable<http::Response> get_knobs(App& app, http::Request& req) {
    require_admin(app, req);
    co_return json_response(200, knobs_json(app));
}

asio::awaitable<http::Response> set_knobs(App& app, http::Request& req) {
    require_admin(app, req);
    boost::system::error_code ec;
    auto v = boost::json::parse(req.body, ec);
    if (ec || !v.is_object()) throw http::HttpError(400, "bad_json", "Send a JSON object like {\"latency_ms\": 50, \"cpu_ms\": 0}.");
    constexpr std::uint64_t kMax = 60'000;  // a minute (or 60000 slots): more is a typo, not an experiment
    // Check every value before changing any, so a bad request changes nothing.
    for (const auto& [name, value] : v.as_object()) {
        if (name != "latency_ms" && name != "cpu_ms" && name != "slots")
            throw http::HttpError(422, "unknown_knob", fmt::format("There is no knob named '{}'.", std::string_view(name)));
        if (!value.is_int64() || value.as_int64() < 0 || static_cast<std::uint64_t>(value.as_int64()) > kMax)
            throw http::HttpError(422, "bad_knob_value", fmt::format("'{}' must be a whole number from 0 to {}.", std::string_view(name), kMax));
    }
    for (const auto& [name, value] : v.as_object()) {
        const auto n = static_cast<std::uint64_t>(value.as_int64());
        if (name == "latency_ms") app.knobs.latency_ms = n;
        else if (name == "cpu_ms") app.knobs.cpu_ms = n;
        else app.knobs.slots.set_permits(n);
    }
    co_return json_response(200, knobs_json(app));
}

}  // namespace

void add_ops_routes(App& app, http::Router& router) {
    using http::Method;
    auto route = [&app](App::AppHandler fn) { return app.ops_route(fn); };
    router.add(Method::get, "/healthz", route(healthz));
    router.add(Method::get, "/readyz", route(readyz));
    router.add(Method::get, "/metrics", route(metrics_page));
    router.add(Method::get, "/admin/knobs", route(get_knobs));
    router.add(Method::put, "/admin/knobs", route(set_knobs));
    router.add(Method::post, "/admin/knobs", route(set_knobs));
}

}  // namespace photoshare::app
