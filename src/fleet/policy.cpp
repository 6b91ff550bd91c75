#include "fleet/policy.hpp"

#include "fleet/policy_steps.hpp"

#include <fmt/format.h>

namespace photoshare::fleet {

using policy_steps::make;
using policy_steps::warm;

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
    return config.kind == PolicyConfig::Kind::step ? policy_steps::decide_step(config, in) : policy_steps::decide_target(config, in);
}

}  // namespace photoshare::fleet
