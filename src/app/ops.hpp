// Operational endpoints: liveness, readiness (dependencies reachable and not draining),
// Prometheus metrics and the run-time knobs.
#pragma once

#include "app/knobs.hpp"
#include "app/routes.hpp"
#include "app/server_info.hpp"
#include "http/runtime.hpp"
#include "http/server.hpp"
#include "kv/shared_counter.hpp"
#include "metrics/metrics.hpp"

#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace photoshare::app {

// GET /healthz
struct Healthz {
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

// Ready when the required dependencies answer and the server is not draining. A cache or
// session store that is down is reported but does not fail readiness: every server shares
// it, so failing would take the whole fleet out of the load balancer, while pages are still
// served from the database. The same holds for a media store that cannot be reached (an S3
// outage: pages render, uploads get 503); one that refuses this server's configuration
// (blob::Misconfigured) fails readiness.
//
// Everyone gets the verdict ({"status": "ready" | "degraded" | "not ready" | "checking"}
// and the status code); which check failed and why (addresses, error text) only a request
// with the admin token sees.
//
// Load balancers ask every second or so, and a dependency that hangs would otherwise pile
// its checks up: the checks run one set at a time on threads of their own (never the
// workers that serve pages), and requests in the meantime get the last result, if it is
// recent.
class Readiness {
public:
    struct Probe {
        const char* name;
        bool required;
        std::function<void()> check;  // throws when the dependency does not answer
    };
    // Thrown by a check whose dependency is down in a way that leaves pages working.
    class Degraded : public std::runtime_error {
    public:
        using std::runtime_error::runtime_error;
    };
    Readiness(std::vector<Probe> probes, const std::atomic<bool>& draining);
    ~Readiness();

    asio::awaitable<http::Response> answer(bool detailed);

private:
    asio::awaitable<void> check_all();

    std::vector<Probe> probes_;
    const std::atomic<bool>& draining_;
    http::Workers workers_{2};  // the checks, which may hang on a dead dependency
    std::mutex mutex_;
    bool running_ = false;
    bool ready_ = false;
    std::chrono::steady_clock::time_point checked_{};
    boost::json::object body_;  // the last result
};

// GET /readyz: the checks' details with the admin token (Authorization: Bearer).
struct Readyz {
    Readiness& readiness;
    const std::string& admin_token;
    asio::awaitable<http::Response> operator()(Context& ctx) const { return readiness.answer(bears_token(ctx.req, admin_token)); }
};

// GET /metrics
struct MetricsPage {
    metrics::Registry& metrics;
    const http::Server* const& server;  // set once it runs
    const Knobs& knobs;
    const std::atomic<bool>& draining;
    // The near copies of shared counters this server keeps, by name.
    const std::vector<std::pair<std::string, const kv::SharedCounter*>>& near_copies;
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

// GET /admin/knobs
struct GetKnobs {
    const Knobs& knobs;
    const ServerInfo& info;
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

// PUT or POST /admin/knobs: {"latency_ms": 50, "cpu_ms": 0, "slots": 0}, any of them.
struct SetKnobs {
    Knobs& knobs;
    const ServerInfo& info;
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

}  // namespace photoshare::app
