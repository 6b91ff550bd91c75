// Scaling policies: pure functions of the metric history, the past scaling actions and the
// clock. Nothing here reads a clock, a socket or a process: the controller (evaluation.cpp)
// measures, calls decide(), and carries the decision out, so every rule is unit-tested with
// a fake clock (tests/unit/fleet/). decide() and the metrics are in policy.cpp, each policy
// in policy_step.cpp and policy_target.cpp, their shared pieces in policy_steps.hpp.
//
// Two policies:
//   step    the seed's CloudWatch alarm: average latency > high for a period -> +1 server,
//           then a cooldown; < low for a period -> -1 server.
//   target  target tracking on a metric proportional to load (requests per second, requests
//           in flight, or CPU, per server): the capacity the load needs, out fast, in slowly,
//           new servers' metrics left out while they warm up.
// docs/FLEET.md explains both and why latency is not offered to target tracking.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace photoshare::fleet {

using Millis = std::chrono::milliseconds;
// Time on the controller's clock (milliseconds since the fleet started, or a test's fake
// clock). Only differences matter.
using TimePoint = std::chrono::milliseconds;

enum class Metric {
    latency,    // mean time to the response headers at the load balancer, ms (request-weighted)
    rps,        // requests completed per second per server, at the load balancer
    in_flight,  // requests being handled per server (each server's /metrics)
    cpu,        // CPU used per server, in percent of one core (/proc of each server)
};

const char* to_string(Metric m);
// "latency", "rps", "in_flight", "cpu"; nullopt for anything else.
std::optional<Metric> parse_metric(std::string_view text);
const char* unit_of(Metric m);  // "ms", "req/s", "requests", "%"

// One server, over one evaluation interval.
struct ServerSample {
    std::string name;
    // Registered in the load balancer, passing its health checks, not draining: only these
    // count in averages (a dead, starting, unhealthy or draining server does not).
    bool in_service = false;
    TimePoint in_service_since{0};
    // From the load balancer's log: requests completed in the interval and the sum of their
    // latencies (ms). nullopt when the load balancer could not be read.
    std::optional<std::uint64_t> requests;
    double latency_sum_ms = 0;
    // From the server itself; nullopt when it did not answer.
    std::optional<double> in_flight;
    std::optional<double> cpu_percent;
};

// Everything measured over one evaluation interval, ending at `at`.
struct Sample {
    TimePoint at{0};
    Millis span{1000};  // length of the interval
    std::vector<ServerSample> servers;
};

// A scaling action the controller took (not the replacement of a dead server, which does
// not change the desired capacity and starts no cooldown, as in an Auto Scaling group).
struct ScalingAction {
    TimePoint at{0};
    int from = 0;
    int to = 0;
};

struct StepPolicy {
    Metric metric = Metric::latency;
    double high = 1000;  // above this for `period`: scale out
    double low = 500;    // below this for `period`: scale in
    Millis period{60'000};
    Millis cooldown{300'000};  // after any scaling action, no other for this long
    int out_step = 1;
    int in_step = 1;
    // A period in which the in-service servers answered no request at all counts as below
    // `low` (an idle fleet is a fast one); false: such a period is "no data", as for a
    // CloudWatch alarm, and the fleet never shrinks while idle.
    bool idle_is_low = true;
};

struct TargetPolicy {
    Metric metric = Metric::rps;
    double target = 20;        // per server
    Millis warmup{30'000};     // a new server's metrics are left out this long
    Millis out_window{10'000}; // scale out on the mean over this (short) window
    Millis in_window{300'000}; // scale in on the peak over this (long) window
    Millis in_cooldown{300'000};  // no scale-in until this long after any scaling action
    double tolerance = 0.1;    // no scale-out until the metric is this much above target
    int in_step = 1;           // servers removed per scale-in
};

struct PolicyConfig {
    enum class Kind { step, target } kind = Kind::step;
    StepPolicy step;
    TargetPolicy target;
    Millis interval{5'000};   // the controller evaluates this often (one Sample each)
    double min_coverage = 0.5;  // share of a window's intervals that must have data
};

struct PolicyInput {
    TimePoint now{0};
    const std::deque<Sample>& history;   // oldest first; the last one ends at or before now
    std::span<const ScalingAction> actions;  // oldest first
    int capacity = 0;  // servers starting or in service (not draining): the desired capacity
    int in_service = 0;
    int min = 1;
    int max = 1;
};

struct Decision {
    int desired = 0;       // == capacity: no change
    std::string rule;      // short, stable: "high", "low", "cooldown", "no data", "band", "min", "max", "target", "warming"
    std::string reason;    // a sentence with the values that led to it
    std::optional<double> value;  // the metric value the rule looked at, if any
    bool changes(int capacity) const { return desired != capacity; }
};

Decision decide(const PolicyConfig& config, const PolicyInput& input);

// The value of `metric` over the samples in (from, to]: request-weighted mean latency, or
// the mean per in-service server of the other metrics. nullopt when no interval in the
// range has data; `covered` counts intervals that do. `idle` is set when latency had data
// but no requests at all.
struct WindowValue {
    std::optional<double> value;
    int covered = 0;
    int intervals = 0;
    bool idle = false;
};
WindowValue window_value(Metric metric, const std::deque<Sample>& history, TimePoint from, TimePoint to,
                         std::optional<Millis> warmup = std::nullopt);

// The value of `metric` for one server in one sample (nullopt: no data).
std::optional<double> server_value(Metric metric, const ServerSample& s, Millis span);

}  // namespace photoshare::fleet
