// The step policy, the seed's CloudWatch alarm: the metric's average over `period` above
// `high` adds out_step servers, below `low` removes in_step, then nothing for `cooldown`.
#include "fleet/policy_steps.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace photoshare::fleet::policy_steps {

Decision decide_step(const PolicyConfig& config, const PolicyInput& in) {
    const auto& p = config.step;
    const int cap = in.capacity;
    const auto w = window_value(p.metric, in.history, in.now - p.period, in.now);
    const int expected = expected_intervals(p.period, config.interval);
    const std::string what = p.metric == Metric::latency ? "average latency" : fmt::format("average {} per server", to_string(p.metric));
    if (!spans(in.history, in.now, p.period, config.interval))
        return make(cap, "no data", fmt::format("observing: less than the {} period measured so far", duration_text(p.period)));
    if (w.covered < required(config.min_coverage, expected))
        return make(cap, "no data", fmt::format("{} of {} intervals in the last {} have data (need {})", w.covered, expected, duration_text(p.period),
                                                required(config.min_coverage, expected)));
    double v = 0;
    bool idle = false;
    if (w.value) {
        v = *w.value;
    } else if (w.idle && p.idle_is_low) {
        idle = true;
    } else {
        return make(cap, "no data", fmt::format("no requests in the last {}", duration_text(p.period)));
    }
    const std::string measured = idle ? fmt::format("no requests in the last {} (idle counts as low)", duration_text(p.period))
                                      : fmt::format("{} {} over the last {}", what, value_text(p.metric, v), duration_text(p.period));
    const auto last = last_action(in);
    const auto cooldown_left = last ? p.cooldown - (in.now - *last) : Millis{0};
    if (!idle && v > p.high) {
        const std::string breach = fmt::format("{} > {}", measured, value_text(p.metric, p.high));
        if (cap >= in.max) return make(cap, "max", fmt::format("{}, but the fleet is at its maximum of {}", breach, in.max), v);
        if (cooldown_left.count() > 0)
            return make(cap, "cooldown", fmt::format("{}, but in cooldown ({} left)", breach, duration_text(cooldown_left)), v);
        const int to = std::min(in.max, cap + p.out_step);
        return make(to, "high", fmt::format("{}: +{} ({} -> {})", breach, to - cap, cap, to), v);
    }
    if (idle || v < p.low) {
        const std::string breach = idle ? measured : fmt::format("{} < {}", measured, value_text(p.metric, p.low));
        if (cap <= in.min) return make(cap, "min", fmt::format("{}, but the fleet is at its minimum of {}", breach, in.min), v);
        if (cooldown_left.count() > 0)
            return make(cap, "cooldown", fmt::format("{}, but in cooldown ({} left)", breach, duration_text(cooldown_left)), v);
        const int to = std::max(in.min, cap - p.in_step);
        return make(to, "low", fmt::format("{}: -{} ({} -> {})", breach, cap - to, cap, to), v);
    }
    return make(cap, "band",
                fmt::format("{} is within {} .. {}", measured, value_text(p.metric, p.low), value_text(p.metric, p.high)), v);
}

}  // namespace photoshare::fleet::policy_steps
