#include "fleet/policy_steps.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace photoshare::fleet::policy_steps {

bool warm(const ServerSample& s, TimePoint at, std::optional<Millis> warmup) {
    return !warmup || at - s.in_service_since >= *warmup;
}

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

bool spans(const std::deque<Sample>& history, TimePoint now, Millis window, Millis interval) {
    if (history.empty()) return false;
    const auto& first = history.front();
    return now - (first.at - first.span) >= window - interval / 2;
}

int required(double coverage, int expected) {
    return std::max(1, static_cast<int>(std::ceil(coverage * expected - 1e-9)));
}

std::string duration_text(Millis d) {
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

Decision make(int desired, std::string rule, std::string reason, std::optional<double> value) {
    return Decision{desired, std::move(rule), std::move(reason), value};
}

std::optional<TimePoint> last_action(const PolicyInput& in) {
    if (in.actions.empty()) return std::nullopt;
    return in.actions.back().at;
}

}  // namespace photoshare::fleet::policy_steps
