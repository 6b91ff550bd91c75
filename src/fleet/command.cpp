#include "fleet/command.hpp"

#include "config/config.hpp"
#include "fleet/dashboard.hpp"
#include "fleet/fleet.hpp"
#include "http/client.hpp"
#include "http/router.hpp"
#include "http/server.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

namespace photoshare::fleet {

namespace {

std::filesystem::path config_path(const Command& c) {
    if (!c.config_file.empty()) return c.config_file;
    if (const char* env = std::getenv("PHOTOSHARE_FLEET_CONFIG"); env && *env) return env;
    return "fleet.toml";
}

std::pair<std::string, unsigned short> split_address(const std::string& address) {
    auto colon = address.rfind(':');
    auto host = address.substr(0, colon);
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    return {host, static_cast<unsigned short>(std::stoi(address.substr(colon + 1)))};
}

int run_fleet(const Command& command) {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ fleet %v", spdlog::pattern_time_type::utc);
    auto config = load_fleet_config(config_path(command));
    Fleet fleet(config);
    fleet.prepare();

    Dashboard dashboard(fleet);
    http::Router router;
    dashboard.add_routes(router);
    http::ServerOptions options;
    std::tie(options.host, options.port) = split_address(config.dashboard.listen);
    options.io_threads = 1;
    options.max_body_bytes = 64 * 1024;
    options.shutdown_timeout = std::chrono::seconds(2);
    http::Server server(options, router, dashboard.hooks([&fleet] { fleet.request_stop(); }));
    try {
        server.listen();
    } catch (const std::exception& e) {
        throw std::runtime_error(fmt::format("the dashboard cannot listen on {} (dashboard.listen): {}", config.dashboard.listen, e.what()));
    }
    fleet.start();
    // The dashboard stops with the fleet (a failed start, or an orderly stop).
    std::thread watcher([&] {
        fleet.join();
        server.shutdown();
    });
    spdlog::info("dashboard http://{} · site http://{} · state {} · stop with Ctrl-C", server.local_address(), config.haproxy.listen,
                 config.state_dir.string());
    server.run();
    fleet.request_stop();
    watcher.join();
    bool failed = false;
    fleet.inspect([&](const FleetState& s) { failed = s.phase == "failed"; });
    return failed ? 1 : 0;
}

std::string dashboard_address(const Command& c, std::filesystem::path* state_dir) {
    if (!c.url.empty()) {
        std::string a = c.url;
        if (a.starts_with("http://")) a.erase(0, 7);
        if (auto slash = a.find('/'); slash != std::string::npos) a.resize(slash);
        if (state_dir && c.token.empty()) *state_dir = load_fleet_config(config_path(c)).state_dir;
        return a;
    }
    auto config = load_fleet_config(config_path(c));
    if (state_dir) *state_dir = config.state_dir;
    return config.dashboard.listen;
}

std::string fmt_opt(const boost::json::value& v, const char* f = "{:.0f}") {
    if (v.is_double()) return fmt::format(fmt::runtime(f), v.as_double());
    if (v.is_int64()) return fmt::format(fmt::runtime(f), static_cast<double>(v.as_int64()));
    return "-";
}

int run_status(const Command& c) {
    auto address = dashboard_address(c, nullptr);
    auto res = http::fetch(address, "GET", "/api/status", {}, "", std::chrono::seconds(5));
    if (res.status != 200) throw std::runtime_error(fmt::format("{} answered {}: {}", address, res.status, res.body));
    if (c.json) {
        std::cout << res.body << "\n";
        return 0;
    }
    auto v = boost::json::parse(res.body).as_object();
    std::cout << fmt::format("fleet {} on http://{}: {} in service, {} desired (min {}, max {})\n", std::string(v["phase"].as_string()),
                             std::string(v["front"].as_string()), v["in_service"].as_int64(), v["desired"].as_int64(), v["min"].as_int64(),
                             v["max"].as_int64());
    std::cout << "policy: " << std::string(v["policy"].as_string()) << "\n";
    auto& d = v["decision"].as_object();
    std::cout << fmt::format("last decision ({}): {}\n", std::string(d["rule"].as_string()), std::string(d["reason"].as_string()));
    auto& t = v["totals"].as_object();
    std::cout << fmt::format("latency {} ms, {} req/s; since the start {} requests, {} failed (5xx or no answer)\n", fmt_opt(v["latency_ms"]),
                             fmt_opt(v["rps"], "{:.1f}"), t["requests"].as_int64(), t["status_5xx"].as_int64() + t["failed"].as_int64());
    if (!v["knobs"].as_object().empty()) std::cout << "fleet knobs: " << boost::json::serialize(v["knobs"]) << "\n";
    std::cout << fmt::format("\n{:<8} {:<11} {:<9} {:>7} {:<16} {:>8} {:>8} {:>9} {:>6}\n", "server", "state", "haproxy", "pid", "address", "lat ms", "req/s",
                             "in flight", "cpu %");
    for (auto& sv : v["servers"].as_array()) {
        auto& s = sv.as_object();
        std::cout << fmt::format("{:<8} {:<11} {:<9} {:>7} {:<16} {:>8} {:>8} {:>9} {:>6}\n", std::string(s["name"].as_string()),
                                 std::string(s["state"].as_string()), std::string(s["haproxy"].as_string()), s["pid"].as_int64(),
                                 std::string(s["address"].as_string()), fmt_opt(s["latency_ms"]), fmt_opt(s["rps"], "{:.1f}"),
                                 fmt_opt(s["in_flight"], "{:.1f}"), fmt_opt(s["cpu_percent"]));
    }
    std::cout << "\nrecent events:\n";
    auto& events = v["events"].as_array();
    std::size_t from = events.size() > 12 ? events.size() - 12 : 0;
    for (std::size_t i = from; i < events.size(); ++i) {
        auto& e = events[i].as_object();
        if (e["kind"].as_string() == "haproxy") continue;
        std::cout << fmt::format("  {:>8.1f}s  {:<10} {}\n", e["t"].as_double(), std::string(e["kind"].as_string()), std::string(e["message"].as_string()));
    }
    return 0;
}

int run_knobs(const Command& c) {
    std::filesystem::path state_dir;
    auto address = dashboard_address(c, &state_dir);
    std::string token = c.token;
    if (token.empty()) {
        std::ifstream in(state_dir / "admin.token");
        std::getline(in, token);
    }
    if (token.empty()) throw std::runtime_error(fmt::format("no admin token: pass --token, or run where {}/admin.token is readable", state_dir.string()));
    boost::json::object body;
    if (c.latency_ms >= 0) body["latency_ms"] = c.latency_ms;
    if (c.cpu_ms >= 0) body["cpu_ms"] = c.cpu_ms;
    if (c.slots >= 0) body["slots"] = c.slots;
    if (body.empty()) throw std::runtime_error("give at least one of --latency-ms, --cpu-ms, --slots");
    if (!c.server.empty()) body["server"] = c.server;
    auto res = http::fetch(address, "PUT", "/api/knobs", {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}},
                           boost::json::serialize(body), std::chrono::seconds(15));
    if (res.status != 200) {
        std::cerr << "photoshare fleet knobs: " << address << " answered " << res.status << ": " << res.body << "\n";
        return 1;
    }
    auto v = boost::json::parse(res.body).as_object();
    int failed = 0;
    for (auto& item : v["servers"].as_array()) {
        auto& o = item.as_object();
        const bool ok = o["status"].as_int64() == 200;
        if (!ok) ++failed;
        std::cout << fmt::format("{:<8} {}\n", std::string(o["server"].as_string()), ok ? boost::json::serialize(o["answer"]) : "FAILED: " + boost::json::serialize(o["answer"]));
    }
    if (c.server.empty()) std::cout << "fleet knobs (every server, and new ones): " << boost::json::serialize(v["fleet_knobs"]) << "\n";
    return failed ? 1 : 0;
}

}  // namespace

int run_command(const Command& command) {
    try {
        if (command.action == "status") return run_status(command);
        if (command.action == "knobs") return run_knobs(command);
        return run_fleet(command);
    } catch (const config::Error& e) {
        std::cerr << "photoshare fleet: " << e.what() << '\n';
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "photoshare fleet: " << e.what() << '\n';
        return 1;
    }
}

}  // namespace photoshare::fleet
