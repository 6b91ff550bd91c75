// Target tracking on a metric proportional to load: out at once, on the mean of a short
// window, to the capacity the load needs; in slowly, one step at a time, on the peak of a
// long window, after a cooldown, never while servers start or warm up.
#include "fleet/policy_steps.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace photoshare::fleet::policy_steps {

namespace {

// The short window scale-out looks at, from warm servers only. `per_server` is set when
// enough of its intervals have data; `load` is then the mean load (metric x servers).
struct OutWindow {
    int covered = 0;
    int expected = 0;
    std::optional<double> per_server;
    double load = 0;
};

OutWindow out_window(const PolicyConfig& config, const PolicyInput& in) {
    const auto& p = config.target;
    OutWindow w;
    double per_server = 0, load = 0;
    for (const auto& t : ticks(p.metric, in.history, in.now - p.out_window, in.now, p.warmup))
        if (t.per_server) {
            ++w.covered;
            per_server += *t.per_server;
            load += t.load();
        }
    w.expected = expected_intervals(p.out_window, config.interval);
    if (w.covered >= required(config.min_coverage, w.expected) && spans(in.history, in.now, p.out_window, config.interval)) {
        w.per_server = per_server / w.covered;
        w.load = load / w.covered;
    }
    return w;
}

// Out: above the target (plus tolerance) and the load needs more servers than there are.
std::optional<Decision> scale_out(const PolicyConfig& config, const PolicyInput& in, const std::string& name, const OutWindow& w) {
    const auto& p = config.target;
    const int cap = in.capacity;
    const double per_server = *w.per_server;
    const int needed = ceil_div(w.load, p.target);
    if (per_server <= p.target * (1 + p.tolerance) || needed <= cap) return std::nullopt;
    const std::string why = fmt::format("{} {} > target {} (+{:.0f}%) over the last {}: the load ({:.1f}) needs {} servers", name,
                                        value_text(p.metric, per_server), value_text(p.metric, p.target), p.tolerance * 100,
                                        duration_text(p.out_window), w.load, needed);
    if (cap >= in.max) return make(cap, "max", fmt::format("{}, but the fleet is at its maximum of {}", why, in.max), per_server);
    const int to = std::min(in.max, needed);
    return make(to, "target", fmt::format("{}: +{} ({} -> {})", why, to - cap, cap, to), per_server);
}

int warming_servers(const PolicyInput& in, Millis warmup) {
    int warming = 0;
    if (!in.history.empty())
        for (const auto& s : in.history.back().servers)
            if (s.in_service && !warm(s, in.now, warmup)) ++warming;
    return warming;
}

// What holds a scale-in back: servers starting or warming, no data, the minimum, the cooldown.
std::optional<Decision> hold_scale_in(const PolicyConfig& config, const PolicyInput& in, const std::string& name, const OutWindow& w) {
    const auto& p = config.target;
    const int cap = in.capacity;
    const auto& current = w.per_server;
    const int warming = warming_servers(in, p.warmup);
    const int starting = cap - in.in_service;
    if (starting > 0 || warming > 0)
        return make(cap, "warming", fmt::format("{} server(s) starting and {} warming up: no scale-in until they are warm", std::max(0, starting), warming),
                    current);
    if (!current)
        return make(cap, "no data", fmt::format("{} of {} intervals in the last {} have data", w.covered, w.expected, duration_text(p.out_window)));
    if (cap <= in.min)
        return make(cap, "min",
                    fmt::format("{} {} (target {}), at the minimum of {}", name, value_text(p.metric, *current), value_text(p.metric, p.target), in.min),
                    current);
    const auto last = last_action(in);
    if (last && in.now - *last < p.in_cooldown)
        return make(cap, "cooldown",
                    fmt::format("{} {} (target {}); no scale-in for {} after a scaling action", name, value_text(p.metric, *current),
                                value_text(p.metric, p.target), duration_text(p.in_cooldown - (in.now - *last))),
                    current);
    return std::nullopt;
}

// In: the peak load over the long window needs fewer servers: one step down.
Decision scale_in(const PolicyConfig& config, const PolicyInput& in, const std::string& name, double current) {
    const auto& p = config.target;
    const int cap = in.capacity;
    int in_covered = 0;
    double peak = 0;
    for (const auto& t : ticks(p.metric, in.history, in.now - p.in_window, in.now, p.warmup))
        if (t.per_server) {
            ++in_covered;
            peak = std::max(peak, t.load());
        }
    const int expected_in = expected_intervals(p.in_window, config.interval);
    if (in_covered < required(config.min_coverage, expected_in) || !spans(in.history, in.now, p.in_window, config.interval))
        return make(cap, "no data", fmt::format("{} of {} intervals in the last {} have data (scale-in needs {})", in_covered, expected_in,
                                                duration_text(p.in_window), required(config.min_coverage, expected_in)),
                    current);
    const int needed = std::max(in.min, ceil_div(peak, p.target));
    if (needed < cap) {
        const int to = std::max(needed, cap - p.in_step);
        return make(to, "target",
                    fmt::format("peak load {:.1f} over the last {} needs {} server(s) at {} each: -{} ({} -> {})", peak, duration_text(p.in_window),
                                needed, value_text(p.metric, p.target), cap - to, cap, to),
                    current);
    }
    return make(cap, "band",
                fmt::format("{} {} (target {}); peak load {:.1f} over the last {} needs {} server(s)", name, value_text(p.metric, current),
                            value_text(p.metric, p.target), peak, duration_text(p.in_window), needed),
                current);
}

}  // namespace

Decision decide_target(const PolicyConfig& config, const PolicyInput& in) {
    const std::string name = fmt::format("{} per server", to_string(config.target.metric));
    const auto w = out_window(config, in);
    if (w.per_server)
        if (auto out = scale_out(config, in, name, w)) return *out;
    if (auto held = hold_scale_in(config, in, name, w)) return *held;
    return scale_in(config, in, name, *w.per_server);
}

}  // namespace photoshare::fleet::policy_steps
