// Rules about the fleet's servers that need no process, socket or clock: which slot a new
// server takes, which servers a scale-in drains first, how long a server that failed to
// start waits, what a server is told of the knobs. Unit-tested (tests/unit/fleet/).
#pragma once

#include "fleet/fleet_state.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace photoshare::fleet {

// Servers starting or in service: the capacity the policy decides on.
int capacity(const std::vector<ServerRecord>& servers);
// The lowest HAProxy slot (1..slot_count) no server holds.
std::optional<int> free_slot(const std::vector<ServerRecord>& servers, int slot_count);
// The servers a scale-in may take (starting or in service), in the order it takes them:
// those still starting first (nothing to drain), then the highest slot.
std::vector<std::size_t> scale_in_order(const std::vector<ServerRecord>& servers);
// How long to wait before the next start after `failures` servers in a row exited while
// starting: 1 s, doubling, at most 30 s.
Millis start_backoff(int failures);

struct StateCounts {
    int in_service = 0;  // in service and passing HAProxy's health checks
    int starting = 0;
    int draining = 0;  // draining or stopping
};
StateCounts count_states(const std::vector<ServerRecord>& servers);

// {"latency_ms": ..., "cpu_ms": ..., "slots": ...}, the knobs that are set.
boost::json::object knobs_json(const Knobs& knobs);
// The `serve` arguments that start a server with these knobs: --set knobs.latency_ms=...
std::vector<std::string> knob_arguments(const Knobs& knobs);

// "host:port" split at its last colon.
std::pair<std::string, std::string> host_and_port(const std::string& address);
// CPU used between two readings of a process's CPU time, in percent of one core.
std::optional<double> cpu_percent(const std::optional<std::chrono::microseconds>& now,
                                  const std::optional<std::chrono::microseconds>& before, Millis span);

}  // namespace photoshare::fleet
