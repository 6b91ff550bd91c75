// What the controller does to its servers: start one, register it in HAProxy once it is
// ready, drain it, stop it; bring the number of servers to the desired capacity; set knobs.
#include "fleet/fleet.hpp"
#include "fleet/process.hpp"
#include "fleet/servers.hpp"
#include "fleet/support.hpp"
#include "http/client.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <future>
#include <stdexcept>

namespace photoshare::fleet {

using namespace std::chrono_literals;

void Fleet::spawn_server(int slot) {
    const auto name = slot_name(slot);
    const int port = config_.servers.base_port + slot - 1;
    const auto address = fmt::format("{}:{}", config_.servers.host, port);
    if (port_in_use(config_.servers.host, port)) {
        event("error", fmt::format("cannot start {}: {} is in use by another process", name, address));
        next_start_allowed_ = now() + 5s;
        return;
    }
    auto data_dir = config_.state_dir / name;
    std::filesystem::create_directories(data_dir);
    SpawnOptions o;
    o.argv = {binary_, "serve"};
    if (!config_.servers.config.empty()) o.argv.insert(o.argv.end(), {"--config", config_.servers.config.string()});
    o.argv.insert(o.argv.end(), {"--name", name, "--listen", address, "--data-dir", data_dir.string()});
    for (const auto& [k, v] : config_.servers.settings) o.argv.insert(o.argv.end(), {"--set", fmt::format("{}={}", k, v)});
    const auto knobs = knob_arguments(fleet_knobs());
    o.argv.insert(o.argv.end(), knobs.begin(), knobs.end());
    // The token goes in the environment, not on the command line that `ps` shows everyone.
    o.env = {{"PHOTOSHARE_ADMIN_TOKEN", token_}};
    o.log = config_.state_dir / (name + ".log");
    pid_t pid = spawn(o);
    ServerRecord r;
    r.slot = slot;
    r.name = name;
    r.address = address;
    r.pid = pid;
    r.state = ServerState::starting;
    r.started_at = r.state_since = now();
    r.last_cpu = cpu_time(pid);
    {
        std::lock_guard lock(mutex_);
        state_.servers.push_back(r);
    }
    event("start", fmt::format("{} started (pid {}, {}){}", name, pid, address, pending_why_.empty() ? "" : ": " + pending_why_));
}

void Fleet::register_server(ServerRecord& s) {
    // Knobs changed since it was started: it gets the current ones before any request.
    if (const auto knobs = fleet_knobs(); !knobs.empty()) set_knobs_on(s, knobs);
    const auto [host, port] = host_and_port(s.address);
    try {
        api_.expect_ok(fmt::format("set server {}/{} addr {} port {}", kBackend, s.name, host, port));
        api_.expect_ok(fmt::format("set server {}/{} state ready", kBackend, s.name));
    } catch (const std::exception& e) {
        spdlog::warn("{} is ready but could not be registered yet: {}", s.name, e.what());
        return;
    }
    const auto t = now();
    {
        std::lock_guard lock(mutex_);
        s.state = ServerState::in_service;
        s.state_since = s.in_service_since = t;
        s.haproxy_status = "UP";
        s.down_since.reset();
    }
    start_failures_ = 0;
    event("ready", fmt::format("{} answered /readyz {:.1f} s after its start: registered in HAProxy, in service", s.name, seconds(t - s.started_at)));
}

void Fleet::set_knobs_on(const ServerRecord& s, const Knobs& knobs) {
    try {
        http::fetch(s.address, "PUT", "/admin/knobs", {{"Authorization", "Bearer " + token_}, {"Content-Type", "application/json"}},
                    boost::json::serialize(knobs_json(knobs)), 2s);
    } catch (const std::exception& e) {
        spdlog::warn("{}: setting knobs: {}", s.name, e.what());
    }
}

void Fleet::drain_server(ServerRecord& s, const std::string& why) {
    if (s.state == ServerState::starting) {
        stop_server(s, why);
        return;
    }
    api(fmt::format("set server {}/{} state drain", kBackend, s.name));
    enter(s, ServerState::draining, &ServerRecord::drain_deadline, config_.servers.drain_timeout, why);
    event("drain", fmt::format("{} set to drain in HAProxy (no new requests; {} in progress): {}", s.name, s.sessions, why));
}

void Fleet::stop_server(ServerRecord& s, const std::string& why) {
    if (s.state == ServerState::in_service) api(fmt::format("set server {}/{} state maint", kBackend, s.name));
    send_signal(s.pid, SIGTERM);
    enter(s, ServerState::stopping, &ServerRecord::stop_deadline, config_.servers.stop_timeout, why);
    event("stop", fmt::format("{} (pid {}): SIGTERM: {}", s.name, s.pid, why));
}

// The server is now in `state` (since now, for `why`), with its `deadline` `timeout` ahead.
void Fleet::enter(ServerRecord& s, ServerState state, TimePoint ServerRecord::*deadline, Millis timeout, const std::string& why) {
    std::lock_guard lock(mutex_);
    s.state = state;
    s.state_since = now();
    s.*deadline = s.state_since + timeout;
    s.why = why;
}

// ---------------------------------------------------------------------------------------
// The desired capacity

void Fleet::reconcile() {
    int cap = capacity(state_.servers);
    int desired;
    {
        std::lock_guard lock(mutex_);
        desired = state_.desired;
    }
    scale_out(desired, cap);
    if (cap > desired) scale_in(desired, cap);
    pending_why_.clear();
}

// Starts servers until `cap` reaches `desired`, a start fails, no slot is free, or a start
// must wait (start_backoff).
void Fleet::scale_out(int desired, int& cap) {
    const auto t = now();
    while (cap < desired && !stop_) {
        if (t < next_start_allowed_) break;
        auto slot = free_slot(state_.servers, config_.slot_count());
        if (!slot) {
            spdlog::warn("no free HAProxy slot for another server ({} slots); waiting for one to be released", config_.slot_count());
            break;
        }
        auto before = state_.servers.size();
        spawn_server(*slot);
        if (state_.servers.size() == before) break;
        ++cap;
    }
}

void Fleet::scale_in(int desired, int cap) {
    const auto order = scale_in_order(state_.servers);
    for (std::size_t k = 0; k < order.size() && cap > desired; ++k, --cap)
        drain_server(state_.servers[order[k]], pending_why_.empty() ? "scale-in" : pending_why_);
}

// ---------------------------------------------------------------------------------------
// Knobs

Knobs Fleet::fleet_knobs() const {
    std::lock_guard lock(mutex_);
    return state_.knobs;
}

std::vector<std::pair<std::string, std::string>> Fleet::knob_targets(const Knobs& knobs, const std::string& server) {
    std::vector<std::pair<std::string, std::string>> targets;
    std::lock_guard lock(mutex_);
    bool found = server.empty();
    for (const auto& s : state_.servers) {
        if (!server.empty() && s.name != server) continue;
        found = true;
        if (s.state == ServerState::in_service || s.state == ServerState::draining) targets.emplace_back(s.name, s.address);
    }
    if (!found) throw std::invalid_argument("no server named '" + server + "' in the fleet");
    if (server.empty()) {
        if (knobs.latency_ms) state_.knobs.latency_ms = knobs.latency_ms;
        if (knobs.cpu_ms) state_.knobs.cpu_ms = knobs.cpu_ms;
        if (knobs.slots) state_.knobs.slots = knobs.slots;
    }
    return targets;
}

namespace {

// PUT /admin/knobs on every target at once; each one's answer, and how many said 200.
std::pair<boost::json::array, int> put_knobs(const std::vector<std::pair<std::string, std::string>>& targets, const std::string& text,
                                             const std::string& token) {
    std::vector<std::future<std::pair<int, std::string>>> results;
    results.reserve(targets.size());
    for (const auto& target : targets)
        results.push_back(std::async(std::launch::async, [&token, address = target.second, text]() -> std::pair<int, std::string> {
            try {
                auto res = http::fetch(address, "PUT", "/admin/knobs",
                                       {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}}, text, 3s);
                return {res.status, res.body};
            } catch (const std::exception& e) {
                return {0, e.what()};
            }
        }));
    boost::json::array applied;
    int ok = 0;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        auto [status, answer] = results[i].get();
        if (status == 200) ++ok;
        boost::json::object o{{"server", targets[i].first}, {"status", status}};
        boost::system::error_code ec;
        auto parsed = boost::json::parse(answer, ec);
        if (!ec) o["answer"] = parsed;
        else o["answer"] = answer;
        applied.push_back(o);
    }
    return {applied, ok};
}

}  // namespace

std::string Fleet::set_knobs(const Knobs& knobs, const std::string& server) {
    const auto targets = knob_targets(knobs, server);
    auto [applied, ok] = put_knobs(targets, boost::json::serialize(knobs_json(knobs)), token_);
    event("knobs", fmt::format("{} on {}: {} of {} answered 200{}", knobs.describe(), server.empty() ? "every server" : server, ok, targets.size(),
                               server.empty() ? "; new servers start with it" : ""));
    return boost::json::serialize(boost::json::object{{"servers", applied}, {"fleet_knobs", knobs_json(fleet_knobs())}});
}

}  // namespace photoshare::fleet
