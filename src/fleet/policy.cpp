#include "fleet/policy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace photoshare::fleet {

const char* to_string(Metric m) {
    switch (m) {
        case Metric::latency: return "latency";
        case Metric::rps: return "rps";
        case Metric::in_flight: return "in_flight";
        case Metric::cpu: return "cpu";
    }
    return "?";
}

std::optional<Metric> parse_metric(std::string_view text) {
    if (text == "latency") return Metric::latency;
    if (text == "rps") return Metric::rps;
    if (text == "in_flight") return Metric::in_flight;
    if (text == "cpu") return Metric::cpu;
    return std::nullopt;
}

const char* unit_of(Metric m) {
    switch (m) {
        case Metric::latency: return "ms";
        case Metric::rps: return "req/s";
        case Metric::in_flight: return "in flight";
        case Metric::cpu: return "% CPU";
    }
    return "";
}

std::optional<double> server_value(Metric metric, const ServerSample& s, Millis span) {
    switch (metric) {
        case Metric::latency:
            if (!s.requests || *s.requests == 0) return std::nullopt;
            return s.latency_sum_ms / static_cast<double>(*s.requests);
        case Metric::rps:
            if (!s.requests || span.count() <= 0) return std::nullopt;
            return static_cast<double>(*s.requests) * 1000.0 / static_cast<double>(span.count());
        case Metric::in_flight: return s.in_flight;
        case Metric::cpu: return s.cpu_percent;
    }
    return std::nullopt;
}

namespace {

bool warm(const ServerSample& s, TimePoint at, std::optional<Millis> warmup) {
    return !warmup || at - s.in_service_since >= *warmup;
}

// One interval of a window, for target tracking: the mean metric per warm in-service server
// that has data, and how many servers were in service (warming ones included).
struct Tick {
    std::optional<double> per_server;
    int in_service = 0;
    double load() const { return per_server ? *per_server * in_service : 0; }
};

std::vector<Tick> ticks(Metric metric, const std::deque<Sample>& history, TimePoint from, TimePoint to, Millis warmup) {
    std::vector<Tick> out;
    for (const auto& sample : history) {
        if (sample.at <= from || sample.at > to) continue;
        Tick t;
        double sum = 0;
        int with_data = 0;
        for (const auto& s : sample.servers) {
            if (!s.in_service) continue;
            ++t.in_service;
            if (!warm(s, sample.at, warmup)) continue;
            if (auto v = server_value(metric, s, sample.span)) {
                sum += *v;
                ++with_data;
            }
        }
        if (with_data > 0) t.per_server = sum / with_data;
        out.push_back(t);
    }
    return out;
}

int expected_intervals(Millis window, Millis interval) {
    if (interval.count() <= 0) return 1;
    return std::max<int>(1, static_cast<int>(window.count() / interval.count()));
}

// Whether the history reaches back over the whole window: a decision "for 60 s" needs 60 s
// of observation, also just after the fleet started.
bool spans(const std::deque<Sample>& history, TimePoint now, Millis window, Millis interval) {
    if (history.empty()) return false;
    const auto& first = history.front();
    return now - (first.at - first.span) >= window - interval / 2;
}

int required(double coverage, int expected) {
    return std::max(1, static_cast<int>(std::ceil(coverage * expected - 1e-9)));
}

std::string seconds(Millis d) {
    if (d.count() % 1000 == 0) return fmt::format("{} s", d.count() / 1000);
    return fmt::format("{:.1f} s", static_cast<double>(d.count()) / 1000.0);
}

std::string value_text(Metric m, double v) {
    if (m == Metric::latency) return fmt::format("{:.0f} ms", v);
    return fmt::format("{:.1f} {}", v, unit_of(m));
}

int ceil_div(double load, double target) {
    if (target <= 0) return 0;
    return static_cast<int>(std::ceil(load / target - 1e-9));
}

Decision make(int desired, std::string rule, std::string reason, std::optional<double> value = std::nullopt) {
    return Decision{desired, std::move(rule), std::move(reason), value};
}

std::optional<TimePoint> last_action(const PolicyInput& in) {
    if (in.actions.empty()) return std::nullopt;
    return in.actions.back().at;
}

Decision decide_step(const PolicyConfig& config, const PolicyInput& in) {
    const auto& p = config.step;
    const int cap = in.capacity;
    const auto w = window_value(p.metric, in.history, in.now - p.period, in.now);
    const int expected = expected_intervals(p.period, config.interval);
    const std::string what = p.metric == Metric::latency ? "average latency" : fmt::format("average {} per server", to_string(p.metric));
    if (!spans(in.history, in.now, p.period, config.interval))
        return make(cap, "no data", fmt::format("observing: less than the {} period measured so far", seconds(p.period)));
    if (w.covered < required(config.min_coverage, expected))
        return make(cap, "no data", fmt::format("{} of {} intervals in the last {} have data (need {})", w.covered, expected, seconds(p.period),
                                                required(config.min_coverage, expected)));
    double v = 0;
    bool idle = false;
    if (w.value) {
        v = *w.value;
    } else if (w.idle && p.idle_is_low) {
        idle = true;
    } else {
        return make(cap, "no data", fmt::format("no requests in the last {}", seconds(p.period)));
    }
    const std::string measured = idle ? fmt::format("no requests in the last {} (idle counts as low)", seconds(p.period))
                                      : fmt::format("{} {} over the last {}", what, value_text(p.metric, v), seconds(p.period));
    const auto last = last_action(in);
    const auto cooldown_left = last ? p.cooldown - (in.now - *last) : Millis{0};
    if (!idle && v > p.high) {
        const std::string breach = fmt::format("{} > {}", measured, value_text(p.metric, p.high));
        if (cap >= in.max) return make(cap, "max", fmt::format("{}, but the fleet is at its maximum of {}", breach, in.max), v);
        if (cooldown_left.count() > 0)
            return make(cap, "cooldown", fmt::format("{}, but in cooldown ({} left)", breach, seconds(cooldown_left)), v);
        const int to = std::min(in.max, cap + p.out_step);
        return make(to, "high", fmt::format("{}: +{} ({} -> {})", breach, to - cap, cap, to), v);
    }
    if (idle || v < p.low) {
        const std::string breach = idle ? measured : fmt::format("{} < {}", measured, value_text(p.metric, p.low));
        if (cap <= in.min) return make(cap, "min", fmt::format("{}, but the fleet is at its minimum of {}", breach, in.min), v);
        if (cooldown_left.count() > 0)
            return make(cap, "cooldown", fmt::format("{}, but in cooldown ({} left)", breach, seconds(cooldown_left)), v);
        const int to = std::max(in.min, cap - p.in_step);
        return make(to, "low", fmt::format("{}: -{} ({} -> {})", breach, cap - to, cap, to), v);
    }
    return make(cap, "band",
                fmt::format("{} is within {} .. {}", measured, value_text(p.metric, p.low), value_text(p.metric, p.high)), v);
}

Decision decide_target(const PolicyConfig& config, const PolicyInput& in) {
    const auto& p = config.target;
    const int cap = in.capacity;
    const std::string name = fmt::format("{} per server", to_string(p.metric));

    // Out: the mean over the short window, from warm servers only.
    const auto out = ticks(p.metric, in.history, in.now - p.out_window, in.now, p.warmup);
    int covered = 0;
    double per_server = 0, load = 0;
    for (const auto& t : out)
        if (t.per_server) {
            ++covered;
            per_server += *t.per_server;
            load += t.load();
        }
    const int expected_out = expected_intervals(p.out_window, config.interval);
    std::optional<double> current;
    if (covered >= required(config.min_coverage, expected_out) && spans(in.history, in.now, p.out_window, config.interval)) {
        per_server /= covered;
        load /= covered;
        current = per_server;
        const int needed = ceil_div(load, p.target);
        if (per_server > p.target * (1 + p.tolerance) && needed > cap) {
            const std::string why = fmt::format("{} {} > target {} (+{:.0f}%) over the last {}: the load ({:.1f}) needs {} servers", name,
                                                value_text(p.metric, per_server), value_text(p.metric, p.target), p.tolerance * 100,
                                                seconds(p.out_window), load, needed);
            if (cap >= in.max) return make(cap, "max", fmt::format("{}, but the fleet is at its maximum of {}", why, in.max), per_server);
            const int to = std::min(in.max, needed);
            return make(to, "target", fmt::format("{}: +{} ({} -> {})", why, to - cap, cap, to), per_server);
        }
    }

    // In: only when nothing is starting or warming, after the cooldown, on the peak load of
    // the long window, one step at a time.
    int warming = 0;
    if (!in.history.empty())
        for (const auto& s : in.history.back().servers)
            if (s.in_service && !warm(s, in.now, p.warmup)) ++warming;
    const int starting = cap - in.in_service;
    if (starting > 0 || warming > 0)
        return make(cap, "warming", fmt::format("{} server(s) starting and {} warming up: no scale-in until they are warm", std::max(0, starting), warming),
                    current);
    if (!current)
        return make(cap, "no data", fmt::format("{} of {} intervals in the last {} have data", covered, expected_out, seconds(p.out_window)));
    if (cap <= in.min)
        return make(cap, "min", fmt::format("{} {} (target {}), at the minimum of {}", name, value_text(p.metric, *current), value_text(p.metric, p.target), in.min),
                    current);
    const auto last = last_action(in);
    if (last && in.now - *last < p.in_cooldown)
        return make(cap, "cooldown",
                    fmt::format("{} {} (target {}); no scale-in for {} after a scaling action", name, value_text(p.metric, *current),
                                value_text(p.metric, p.target), seconds(p.in_cooldown - (in.now - *last))),
                    current);
    const auto window = ticks(p.metric, in.history, in.now - p.in_window, in.now, p.warmup);
    int in_covered = 0;
    double peak = 0;
    for (const auto& t : window)
        if (t.per_server) {
            ++in_covered;
            peak = std::max(peak, t.load());
        }
    const int expected_in = expected_intervals(p.in_window, config.interval);
    if (in_covered < required(config.min_coverage, expected_in) || !spans(in.history, in.now, p.in_window, config.interval))
        return make(cap, "no data", fmt::format("{} of {} intervals in the last {} have data (scale-in needs {})", in_covered, expected_in,
                                                seconds(p.in_window), required(config.min_coverage, expected_in)),
                    current);
    const int needed = std::max(in.min, ceil_div(peak, p.target));
    if (needed < cap) {
        const int to = std::max(needed, cap - p.in_step);
        return make(to, "target",
                    fmt::format("peak load {:.1f} over the last {} needs {} server(s) at {} each: -{} ({} -> {})", peak, seconds(p.in_window), needed,
                                value_text(p.metric, p.target), cap - to, cap, to),
                    current);
    }
    return make(cap, "band",
                fmt::format("{} {} (target {}); peak load {:.1f} over the last {} needs {} server(s)", name, value_text(p.metric, *current),
                            value_text(p.metric, p.target), peak, seconds(p.in_window), needed),
                current);
}

}  // namespace

WindowValue window_value(Metric metric, const std::deque<Sample>& history, TimePoint from, TimePoint to, std::optional<Millis> warmup) {
    WindowValue w;
    double total = 0, weight = 0;
    for (const auto& sample : history) {
        if (sample.at <= from || sample.at > to) continue;
        ++w.intervals;
        bool has_data = false;
        if (metric == Metric::latency) {
            for (const auto& s : sample.servers) {
                if (!s.in_service || !warm(s, sample.at, warmup) || !s.requests) continue;
                has_data = true;
                total += s.latency_sum_ms;
                weight += static_cast<double>(*s.requests);
            }
        } else {
            double sum = 0;
            int n = 0;
            for (const auto& s : sample.servers) {
                if (!s.in_service || !warm(s, sample.at, warmup)) continue;
                if (auto v = server_value(metric, s, sample.span)) {
                    sum += *v;
                    ++n;
                }
            }
            if (n > 0) {
                has_data = true;
                total += sum / n;
                weight += 1;
            }
        }
        if (has_data) ++w.covered;
    }
    if (weight > 0) w.value = total / weight;
    else if (w.covered > 0) w.idle = true;
    return w;
}

Decision decide(const PolicyConfig& config, const PolicyInput& in) {
    if (in.capacity < in.min)
        return make(in.min, "min", fmt::format("{} server(s), below the minimum of {}: +{}", in.capacity, in.min, in.min - in.capacity));
    if (in.capacity > in.max)
        return make(in.max, "max", fmt::format("{} server(s), above the maximum of {}: -{}", in.capacity, in.max, in.capacity - in.max));
    return config.kind == PolicyConfig::Kind::step ? decide_step(config, in) : decide_target(config, in);
}

}  // namespace photoshare::fleet
