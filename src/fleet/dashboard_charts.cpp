// The dashboard's charts, from the fleet's state: its size, latency, request rate, and the
// metric the policy looks at, each with the scaling actions marked.
#include "fleet/dashboard.hpp"
#include "fleet/dashboard_parts.hpp"
#include "fleet/support.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace photoshare::fleet {

namespace dashboard {

namespace {

int slot_of(const std::string& name) {
    auto dash = name.rfind('-');
    if (dash == std::string::npos) return 0;
    try {
        return std::stoi(name.substr(dash + 1));
    } catch (const std::exception&) {
        return 0;
    }
}

// The time axis: the history kept, up to now.
std::pair<double, double> x_range(const FleetState& s, const FleetConfig& c, TimePoint now) {
    double x1 = std::max(seconds(now), 1.0);
    double x0 = s.ticks.empty() ? 0 : seconds(s.ticks.front().at) - seconds(c.policy.interval);
    x0 = std::max({0.0, x0, x1 - seconds(c.dashboard.history)});
    if (x1 - x0 < 60) x1 = x0 + 60;  // at least a minute wide, so a young fleet's chart is not stretched
    return {x0, x1};
}

svg::Chart base_chart(std::string title, std::string unit, const FleetState& s, const FleetConfig& c, TimePoint now) {
    svg::Chart ch;
    ch.title = std::move(title);
    ch.unit = std::move(unit);
    std::tie(ch.x_min, ch.x_max) = x_range(s, c, now);
    return ch;
}

std::vector<svg::Marker> scaling_markers(const FleetState& s) {
    std::vector<svg::Marker> out;
    for (const auto& a : s.actions) {
        const bool up = a.to > a.from;
        out.push_back({seconds(a.at), up ? "#1a7f37" : "#c2410c", fmt::format("{}{}", up ? "+" : "−", std::abs(a.to - a.from))});
    }
    return out;
}

// Per-server values over time from the samples: one series per server, with gaps where a
// server did not exist or had no value.
std::vector<svg::Series> per_server(const FleetState& s, Metric metric) {
    std::map<std::string, svg::Series> by_name;
    for (const auto& sample : s.samples)
        for (const auto& ss : sample.servers) by_name.try_emplace(ss.name, svg::Series{ss.name, svg::palette(slot_of(ss.name)), {}, 1.2});
    for (auto& [name, series] : by_name) {
        for (const auto& sample : s.samples) {
            std::optional<double> v;
            for (const auto& ss : sample.servers)
                if (ss.name == name) v = server_value(metric, ss, sample.span);
            series.points.emplace_back(seconds(sample.at), v ? *v : svg::gap);
        }
    }
    std::vector<svg::Series> out;
    out.reserve(by_name.size());
    for (auto& [name, series] : by_name) out.push_back(std::move(series));
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return slot_of(a.label) < slot_of(b.label); });
    return out;
}

// Each server's `metric` (if any), then the scaling actions.
void finish(svg::Chart& ch, const FleetState& s, std::optional<Metric> metric) {
    if (metric)
        for (auto& series : per_server(s, *metric)) ch.series.push_back(std::move(series));
    ch.markers = scaling_markers(s);
}

// The value the policy decided on, each interval.
svg::Series policy_series(std::string label, double width, bool dashed, const FleetState& s) {
    svg::Series seen{std::move(label), "#7c3aed", {}, width, false, dashed};
    for (const auto& t : s.ticks) seen.points.emplace_back(seconds(t.at), t.policy_value ? *t.policy_value : svg::gap);
    return seen;
}

}  // namespace

svg::Chart size_chart(const FleetState& s, const FleetConfig& c, TimePoint now) {
    auto ch = base_chart("Fleet size", "servers", s, c, now);
    ch.integer_y = true;
    ch.y_max = c.servers.max;
    svg::Series in{"in service", "#2563eb", {}, 2.5, true, false, true};
    svg::Series desired{"desired", "#111111", {}, 1.5, true, true, false};
    svg::Series starting{"starting", "#d97706", {}, 1.2, true, false, false};
    svg::Series draining{"draining / stopping", "#9ca3af", {}, 1.2, true, false, false};
    for (const auto& t : s.ticks) {
        const double x = seconds(t.at);
        in.points.emplace_back(x, t.in_service);
        desired.points.emplace_back(x, t.desired);
        starting.points.emplace_back(x, t.starting);
        draining.points.emplace_back(x, t.draining);
    }
    ch.series = {in, desired, starting, draining};
    ch.markers = scaling_markers(s);
    ch.levels.push_back({static_cast<double>(c.servers.max), "#dc2626", fmt::format("max {}", c.servers.max)});
    return ch;
}

svg::Chart latency_chart(const FleetState& s, const FleetConfig& c, TimePoint now) {
    auto ch = base_chart("Latency at the load balancer (time to response headers)", "ms", s, c, now);
    svg::Series fleet{"fleet", "#111111", {}, 2.5};
    for (const auto& t : s.ticks) fleet.points.emplace_back(seconds(t.at), t.latency_ms ? *t.latency_ms : svg::gap);
    ch.series.push_back(fleet);
    if (c.policy.kind == PolicyConfig::Kind::step && c.policy.step.metric == Metric::latency) {
        ch.series.push_back(policy_series(fmt::format("policy: mean over {} s", c.policy.step.period.count() / 1000), 2, true, s));
        ch.levels.push_back({c.policy.step.high, "#dc2626", fmt::format("scale out > {:.0f}", c.policy.step.high)});
        ch.levels.push_back({c.policy.step.low, "#2563eb", fmt::format("scale in < {:.0f}", c.policy.step.low)});
    }
    finish(ch, s, Metric::latency);
    return ch;
}

svg::Chart requests_chart(const FleetState& s, const FleetConfig& c, TimePoint now) {
    auto ch = base_chart("Requests per second", "req/s", s, c, now);
    svg::Series total{"total", "#111111", {}, 2.5};
    svg::Series failed{"failed (5xx, no answer)", "#dc2626", {}, 2};
    bool any_failed = false;
    for (const auto& t : s.ticks) {
        total.points.emplace_back(seconds(t.at), t.rps);
        const double f = static_cast<double>(t.requests.status_5xx + t.requests.failed);
        if (f > 0) any_failed = true;
        failed.points.emplace_back(seconds(t.at), f * 1000.0 / std::max(1.0, static_cast<double>(c.policy.interval.count())));
    }
    ch.series.push_back(total);
    if (any_failed) ch.series.push_back(failed);
    finish(ch, s, Metric::rps);
    return ch;
}

std::optional<svg::Chart> policy_chart(const FleetState& s, const FleetConfig& c, TimePoint now) {
    const auto& p = c.policy;
    if (p.kind == PolicyConfig::Kind::step && p.step.metric == Metric::latency) return std::nullopt;
    const Metric m = p.kind == PolicyConfig::Kind::step ? p.step.metric : p.target.metric;
    auto ch = base_chart(fmt::format("Policy metric: {} per server", to_string(m)), unit_of(m), s, c, now);
    ch.series.push_back(policy_series("policy sees", 2.5, false, s));
    if (p.kind == PolicyConfig::Kind::step) {
        ch.levels.push_back({p.step.high, "#dc2626", fmt::format("scale out > {}", p.step.high)});
        ch.levels.push_back({p.step.low, "#2563eb", fmt::format("scale in < {}", p.step.low)});
    } else {
        ch.levels.push_back({p.target.target, "#16a34a", fmt::format("target {}", p.target.target)});
    }
    finish(ch, s, m != Metric::rps ? std::optional<Metric>(m) : std::nullopt);
    return ch;
}

std::string stacked(const std::vector<svg::Chart>& charts) {
    int height = 0, width = 0;
    for (const auto& c : charts) {
        height += c.height;
        width = std::max(width, c.width);
    }
    std::string out = fmt::format(R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {0} {1}" width="{0}" height="{1}">)", width, height);
    out += "\n";
    int y = 0;
    for (const auto& c : charts) {
        auto inner = svg::render(c);
        // Nested: position the chart's own <svg> element.
        inner.replace(0, 4, fmt::format("<svg y=\"{}\"", y));
        out += inner;
        y += c.height;
    }
    out += "</svg>\n";
    return out;
}

}  // namespace dashboard

std::string Dashboard::chart(const std::string& name, const FleetState& s, const FleetConfig& c, TimePoint now) {
    using namespace dashboard;
    if (name == "size") return svg::render(size_chart(s, c, now));
    if (name == "latency") return svg::render(latency_chart(s, c, now));
    if (name == "requests") return svg::render(requests_chart(s, c, now));
    if (name == "policy") {
        auto p = policy_chart(s, c, now);
        return p ? svg::render(*p) : std::string{};
    }
    if (name == "summary") {
        std::vector<svg::Chart> charts{size_chart(s, c, now), latency_chart(s, c, now), requests_chart(s, c, now)};
        if (auto p = policy_chart(s, c, now)) charts.push_back(*p);
        return stacked(charts);
    }
    return {};
}

}  // namespace photoshare::fleet
