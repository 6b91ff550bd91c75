// The pieces both scaling policies are made of (policy_step.cpp, policy_target.cpp): pure
// functions of the history and the clock, unit-tested on their own.
#pragma once

#include "fleet/policy.hpp"

#include <optional>
#include <string>
#include <vector>

namespace photoshare::fleet::policy_steps {

// Whether a server's metrics count yet (it has been in service for `warmup`).
bool warm(const ServerSample& s, TimePoint at, std::optional<Millis> warmup);

// One interval of a window, for target tracking: the mean metric per warm in-service server
// that has data, and how many servers were in service (warming ones included).
struct Tick {
    std::optional<double> per_server;
    int in_service = 0;
    double load() const { return per_server ? *per_server * in_service : 0; }
};
std::vector<Tick> ticks(Metric metric, const std::deque<Sample>& history, TimePoint from, TimePoint to, Millis warmup);

// How many intervals a window holds (at least 1).
int expected_intervals(Millis window, Millis interval);
// Whether the history reaches back over the whole window: a decision "for 60 s" needs 60 s
// of observation, also just after the fleet started.
bool spans(const std::deque<Sample>& history, TimePoint now, Millis window, Millis interval);
// How many of `expected` intervals must have data.
int required(double coverage, int expected);
// Servers needed to carry `load` at `target` each (rounded up).
int ceil_div(double load, double target);

std::string duration_text(Millis d);         // "60 s", "2.5 s"
std::string value_text(Metric m, double v);  // "1200 ms", "12.5 req/s"
Decision make(int desired, std::string rule, std::string reason, std::optional<double> value = std::nullopt);
std::optional<TimePoint> last_action(const PolicyInput& in);

Decision decide_step(const PolicyConfig& config, const PolicyInput& in);
Decision decide_target(const PolicyConfig& config, const PolicyInput& in);

}  // namespace photoshare::fleet::policy_steps
