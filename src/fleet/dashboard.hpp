// The fleet's own web pages, on photoshare's http::Server: a dashboard (servers and their
// state, latency and request rate per server over time, fleet size over time, scaling
// events; charts are SVG drawn here, so the page needs no script and no CDN, and refreshes
// itself with a meta tag), the charts as SVG files, and a small JSON API that
// `photoshare fleet status` and `photoshare fleet knobs` use. Routes: dashboard.cpp; the
// page: dashboard_page.cpp; charts: dashboard_charts.cpp; JSON: dashboard_json.cpp.
//
//   GET  /                      the dashboard
//   GET  /charts/{name}.svg     size, latency, requests, policy, summary (size + latency + requests)
//   GET  /api/status            the fleet now (JSON)
//   GET  /api/history           every interval kept (JSON)
//   PUT  /api/knobs             {"latency_ms": 1200, "cpu_ms": 0, "slots": 4, "server": "web-2"}
//                               (Authorization: Bearer <state_dir/admin.token>)
#pragma once

#include "fleet/fleet.hpp"
#include "http/router.hpp"
#include "http/runtime.hpp"
#include "http/server.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace photoshare::fleet {

class Dashboard {
public:
    explicit Dashboard(Fleet& fleet);
    void add_routes(http::Router& router);
    // `draining` runs when the dashboard's server starts to stop (SIGTERM/SIGINT).
    http::ServerHooks hooks(std::function<void()> draining);

    // Rendering, from a state read under the fleet's lock (public for tests).
    static std::string page(const FleetState& state, const FleetConfig& config, TimePoint now);
    // name: size, latency, requests, policy, summary. Empty when there is no such chart.
    static std::string chart(const std::string& name, const FleetState& state, const FleetConfig& config, TimePoint now);
    static std::string status_json(const FleetState& state, const FleetConfig& config, TimePoint now);
    static std::string history_json(const FleetState& state);
    static const std::string& stylesheet();
    // The body of PUT /api/knobs: the knobs and the server ("": all). Throws http::HttpError.
    static std::pair<Knobs, std::string> parse_knobs(std::string_view body);

private:
    // What `f` makes of the state, read under the fleet's lock, at the fleet's time now.
    std::string render(const std::function<std::string(const FleetState&, TimePoint)>& f) const;
    void add_page_routes(http::Router& router);
    void add_api_routes(http::Router& router);
    boost::asio::awaitable<http::Response> put_knobs(http::Request& req);

    Fleet& fleet_;
    http::Workers workers_{2};  // set_knobs talks to the servers: not on the I/O thread
};

}  // namespace photoshare::fleet
