// The fleet as the controller keeps it and the dashboard shows it: each server and its
// state, the events, the metric history, the scaling actions.
#pragma once

#include "fleet/policy.hpp"
#include "fleet/request_log.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace photoshare::fleet {

enum class ServerState {
    starting,    // spawned, /readyz not yet 200
    in_service,  // registered in HAProxy (may be DOWN there: see `up`)
    draining,    // HAProxy sends it nothing new; waiting for its sessions to end
    stopping,    // SIGTERM sent (drained, unhealthy, or the fleet is stopping)
};
const char* to_string(ServerState s);

struct Knobs {
    std::optional<long> latency_ms, cpu_ms, slots;
    bool empty() const { return !latency_ms && !cpu_ms && !slots; }
    std::string describe() const;  // "latency_ms=1200 slots=4"
};

struct ServerRecord {
    int slot = 0;
    std::string name;  // web-N, also its HAProxy server name and its --name
    std::string address;  // host:port
    pid_t pid = -1;
    ServerState state = ServerState::starting;
    TimePoint started_at{0}, state_since{0}, in_service_since{0};
    std::string why;  // why it is draining or stopping
    // From HAProxy
    std::string haproxy_status, check_status;
    std::uint64_t sessions = 0, queued = 0, rtime_ms = 0;
    std::optional<TimePoint> down_since;  // failing health checks since
    bool up() const { return haproxy_status == "UP" || haproxy_status.starts_with("UP "); }
    // The last interval
    std::optional<double> latency_ms, rps, in_flight, cpu_percent;
    std::optional<double> knob_latency_ms, knob_slots;
    std::uint64_t requests = 0, errors = 0;  // at the load balancer, since it started
    // Internal
    TimePoint drain_deadline{0}, stop_deadline{0};
    std::optional<std::chrono::microseconds> last_cpu;
};

struct Event {
    TimePoint at{0};
    std::string kind;  // start, ready, scale-out, scale-in, drain, stop, exit, died, unhealthy, replace, knobs, policy, haproxy, fleet
    std::string message;
};

// The fleet as a whole over one evaluation interval (for charts and history.jsonl).
struct FleetTick {
    TimePoint at{0};
    int desired = 0, in_service = 0, starting = 0, draining = 0;
    std::optional<double> latency_ms;  // request-weighted over every server
    double rps = 0;
    LogCounts requests;  // everything HAProxy logged in the interval, <NOSRV> included
    std::optional<double> policy_value;
    std::string rule;
};

// What the dashboard and the control API see (read under the fleet's lock).
struct FleetState {
    std::chrono::system_clock::time_point started_wall;
    std::vector<ServerRecord> servers;
    std::deque<Event> events;
    std::deque<Sample> samples;
    std::deque<FleetTick> ticks;
    std::vector<ScalingAction> actions;
    int desired = 0;
    Knobs knobs;  // fleet-wide knobs: every server, and every new one, gets them
    Decision last_decision;
    LogCounts totals;  // every request since the fleet started
    bool haproxy_running = false;
    std::string phase = "starting";  // starting, running, stopping, stopped, failed
};

}  // namespace photoshare::fleet
