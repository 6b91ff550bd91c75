#include "app/ops.hpp"

#include "app/responses.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <system_error>
#include <unistd.h>

namespace photoshare::app {

asio::awaitable<http::Response> Healthz::operator()(Context&) const { co_return http::Response(200, "text/plain; charset=utf-8", "ok\n"); }

Readiness::Readiness(std::vector<Probe> probes, const std::atomic<bool>& draining) : probes_(std::move(probes)), draining_(draining) {}

Readiness::~Readiness() { workers_.stop(); }

asio::awaitable<void> Readiness::check_all() {
    boost::json::object checks;
    bool ready = true;
    bool degraded = false;
    for (const auto& probe : probes_) {
        try {
            co_await workers_.run(probe.check);
            checks[probe.name] = "ok";
        } catch (const Degraded& e) {
            degraded = true;
            checks[probe.name] = e.what();
        } catch (const std::exception& e) {
            if (probe.required) ready = false;
            else degraded = true;
            checks[probe.name] = e.what();
        }
    }
    std::lock_guard lock(mutex_);
    running_ = false;
    checked_ = std::chrono::steady_clock::now();
    ready_ = ready;
    body_ = boost::json::object{{"status", !ready ? "not ready" : degraded ? "degraded" : "ready"}, {"checks", checks}};
}

asio::awaitable<http::Response> Readiness::answer(bool detailed) {
    if (draining_.load()) {
        boost::json::object body{{"status", "not ready"}};
        if (detailed) body["checks"] = {{"server", "draining"}};
        co_return json_response(503, body);
    }
    bool run = false;
    {
        std::lock_guard lock(mutex_);
        if (!running_ && std::chrono::steady_clock::now() - checked_ > std::chrono::seconds(1)) running_ = run = true;
    }
    if (run) co_await check_all();
    std::lock_guard lock(mutex_);
    if (body_.empty() || std::chrono::steady_clock::now() - checked_ > std::chrono::seconds(10))
        co_return json_response(503, boost::json::object{{"status", "checking"}});
    if (detailed) co_return json_response(ready_ ? 200 : 503, body_);
    co_return json_response(ready_ ? 200 : 503, boost::json::object{{"status", body_.at("status")}});
}

namespace {

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

}  // namespace

asio::awaitable<http::Response> MetricsPage::operator()(Context&) const {
    auto& m = metrics;
    if (server) {
        m.gauge("http_requests_in_flight", "Requests being handled").set(static_cast<double>(server->in_flight()));
        m.gauge("http_connections_open", "Open client connections").set(static_cast<double>(server->connections()));
    }
    m.gauge("process_resident_memory_bytes", "Resident memory").set(static_cast<double>(resident_bytes()));
    m.gauge("process_open_fds", "Open file descriptors").set(static_cast<double>(open_fds()));
    m.gauge("photoshare_knob_latency_ms", "Latency knob").set(static_cast<double>(knobs.latency_ms.load()));
    m.gauge("photoshare_knob_cpu_ms", "CPU knob").set(static_cast<double>(knobs.cpu_ms.load()));
    m.gauge("photoshare_knob_slots", "Slots knob (0: unlimited)").set(static_cast<double>(knobs.slots.permits()));
    m.gauge("photoshare_requests_waiting_for_a_slot", "Page requests queued by the slots knob").set(static_cast<double>(knobs.slots.waiting()));
    m.gauge("photoshare_draining", "1 while shutting down").set(draining.load() ? 1 : 0);
    for (const auto& copy : near_copies) {
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

namespace {

boost::json::object knobs_json(const Knobs& knobs, const ServerInfo& info) {
    return {{"latency_ms", knobs.latency_ms.load()},
            {"cpu_ms", knobs.cpu_ms.load()},
            {"slots", knobs.slots.permits()},
            {"server", info.name}};
}

}  // namespace

asio::awaitable<http::Response> GetKnobs::operator()(Context&) const { co_return json_response(200, knobs_json(knobs, info)); }

asio::awaitable<http::Response> SetKnobs::operator()(Context& ctx) const {
    boost::system::error_code ec;
    auto v = boost::json::parse(ctx.req.body, ec);
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
        if (name == "latency_ms") knobs.latency_ms = n;
        else if (name == "cpu_ms") knobs.cpu_ms = n;
        else knobs.slots.set_permits(n);
    }
    co_return json_response(200, knobs_json(knobs, info));
}

}  // namespace photoshare::app
