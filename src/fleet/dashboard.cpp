#include "fleet/dashboard.hpp"

#include "fleet/svg.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>

namespace photoshare::fleet {

namespace asio = boost::asio;

namespace {

using svg::escape;

double secs(TimePoint t) { return static_cast<double>(t.count()) / 1000.0; }

int slot_of(const std::string& name) {
    auto dash = name.rfind('-');
    if (dash == std::string::npos) return 0;
    try {
        return std::stoi(name.substr(dash + 1));
    } catch (const std::exception&) {
        return 0;
    }
}

std::string wall_clock(const FleetState& s, TimePoint at) {
    auto t = std::chrono::system_clock::to_time_t(s.started_wall + at);
    std::tm tm{};
    localtime_r(&t, &tm);
    return fmt::format("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string num(const std::optional<double>& v, const char* format = "{:.0f}") {
    if (!v) return "–";
    return fmt::format(fmt::runtime(format), *v);
}

// The time axis: the history kept, up to now.
std::pair<double, double> x_range(const FleetState& s, const FleetConfig& c, TimePoint now) {
    double x1 = std::max(secs(now), 1.0);
    double x0 = s.ticks.empty() ? 0 : secs(s.ticks.front().at) - secs(c.policy.interval);
    x0 = std::max({0.0, x0, x1 - secs(c.dashboard.history)});
    if (x1 - x0 < 60) x1 = x0 + 60;  // at least a minute wide, so a young fleet's chart is not stretched
    return {x0, x1};
}

std::vector<svg::Marker> scaling_markers(const FleetState& s) {
    std::vector<svg::Marker> out;
    for (const auto& a : s.actions) {
        const bool up = a.to > a.from;
        out.push_back({secs(a.at), up ? "#1a7f37" : "#c2410c", fmt::format("{}{}", up ? "+" : "−", std::abs(a.to - a.from))});
    }
    return out;
}

svg::Chart size_chart(const FleetState& s, const FleetConfig& c, TimePoint now) {
    svg::Chart ch;
    ch.title = "Fleet size";
    ch.unit = "servers";
    std::tie(ch.x_min, ch.x_max) = x_range(s, c, now);
    ch.integer_y = true;
    ch.y_max = c.servers.max;
    svg::Series in{"in service", "#2563eb", {}, 2.5, true, false, true};
    svg::Series desired{"desired", "#111111", {}, 1.5, true, true, false};
    svg::Series starting{"starting", "#d97706", {}, 1.2, true, false, false};
    svg::Series draining{"draining / stopping", "#9ca3af", {}, 1.2, true, false, false};
    for (const auto& t : s.ticks) {
        const double x = secs(t.at);
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
            series.points.emplace_back(secs(sample.at), v ? *v : svg::gap);
        }
    }
    std::vector<svg::Series> out;
    out.reserve(by_name.size());
    for (auto& [name, series] : by_name) out.push_back(std::move(series));
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return slot_of(a.label) < slot_of(b.label); });
    return out;
}

svg::Chart latency_chart(const FleetState& s, const FleetConfig& c, TimePoint now) {
    svg::Chart ch;
    ch.title = "Latency at the load balancer (time to response headers)";
    ch.unit = "ms";
    std::tie(ch.x_min, ch.x_max) = x_range(s, c, now);
    svg::Series fleet{"fleet", "#111111", {}, 2.5};
    for (const auto& t : s.ticks) fleet.points.emplace_back(secs(t.at), t.latency_ms ? *t.latency_ms : svg::gap);
    ch.series.push_back(fleet);
    const bool step_latency = c.policy.kind == PolicyConfig::Kind::step && c.policy.step.metric == Metric::latency;
    if (step_latency) {
        svg::Series seen{fmt::format("policy: mean over {} s", c.policy.step.period.count() / 1000), "#7c3aed", {}, 2, false, true};
        for (const auto& t : s.ticks) seen.points.emplace_back(secs(t.at), t.policy_value ? *t.policy_value : svg::gap);
        ch.series.push_back(seen);
        ch.levels.push_back({c.policy.step.high, "#dc2626", fmt::format("scale out > {:.0f}", c.policy.step.high)});
        ch.levels.push_back({c.policy.step.low, "#2563eb", fmt::format("scale in < {:.0f}", c.policy.step.low)});
    }
    for (auto& series : per_server(s, Metric::latency)) ch.series.push_back(std::move(series));
    ch.markers = scaling_markers(s);
    return ch;
}

svg::Chart requests_chart(const FleetState& s, const FleetConfig& c, TimePoint now) {
    svg::Chart ch;
    ch.title = "Requests per second";
    ch.unit = "req/s";
    std::tie(ch.x_min, ch.x_max) = x_range(s, c, now);
    svg::Series total{"total", "#111111", {}, 2.5};
    svg::Series failed{"failed (5xx, no answer)", "#dc2626", {}, 2};
    bool any_failed = false;
    for (const auto& t : s.ticks) {
        total.points.emplace_back(secs(t.at), t.rps);
        const double f = static_cast<double>(t.requests.status_5xx + t.requests.failed);
        if (f > 0) any_failed = true;
        failed.points.emplace_back(secs(t.at), f * 1000.0 / std::max(1.0, static_cast<double>(c.policy.interval.count())));
    }
    ch.series.push_back(total);
    if (any_failed) ch.series.push_back(failed);
    for (auto& series : per_server(s, Metric::rps)) ch.series.push_back(std::move(series));
    ch.markers = scaling_markers(s);
    return ch;
}

// What the policy looks at, when that is not the latency chart already.
std::optional<svg::Chart> policy_chart(const FleetState& s, const FleetConfig& c, TimePoint now) {
    const auto& p = c.policy;
    if (p.kind == PolicyConfig::Kind::step && p.step.metric == Metric::latency) return std::nullopt;
    svg::Chart ch;
    const Metric m = p.kind == PolicyConfig::Kind::step ? p.step.metric : p.target.metric;
    ch.title = fmt::format("Policy metric: {} per server", to_string(m));
    ch.unit = unit_of(m);
    std::tie(ch.x_min, ch.x_max) = x_range(s, c, now);
    svg::Series seen{"policy sees", "#7c3aed", {}, 2.5};
    for (const auto& t : s.ticks) seen.points.emplace_back(secs(t.at), t.policy_value ? *t.policy_value : svg::gap);
    ch.series.push_back(seen);
    if (p.kind == PolicyConfig::Kind::step) {
        ch.levels.push_back({p.step.high, "#dc2626", fmt::format("scale out > {}", p.step.high)});
        ch.levels.push_back({p.step.low, "#2563eb", fmt::format("scale in < {}", p.step.low)});
    } else {
        ch.levels.push_back({p.target.target, "#16a34a", fmt::format("target {}", p.target.target)});
    }
    if (m != Metric::rps)
        for (auto& series : per_server(s, m)) ch.series.push_back(std::move(series));
    ch.markers = scaling_markers(s);
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

std::string state_class(const ServerRecord& r) {
    switch (r.state) {
        case ServerState::starting: return "starting";
        case ServerState::in_service: return r.up() ? "ok" : "bad";
        case ServerState::draining: return "draining";
        case ServerState::stopping: return "stopping";
    }
    return "";
}

std::string event_class(const std::string& kind) {
    if (kind == "scale-out") return "out";
    if (kind == "scale-in") return "in";
    if (kind == "died" || kind == "unhealthy" || kind == "error" || kind == "exit") return "bad";
    if (kind == "knobs") return "knobs";
    return "";
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

http::Response text(int status, std::string content_type, std::string body) {
    http::Response r(status, std::move(content_type), std::move(body));
    r.set("Cache-Control", "no-store");
    return r;
}

boost::json::value jopt(const std::optional<double>& v) {
    if (!v) return nullptr;
    return std::round(*v * 100) / 100;
}

}  // namespace

const std::string& Dashboard::stylesheet() {
    // The servers' colors, as in the charts (no inline style: the CSP forbids it).
    static const std::string swatches = [] {
        std::string out;
        for (int i = 1; i <= 10; ++i) out += fmt::format(".swatch.c{} {{ background: {}; }}\n", i, svg::palette(i));
        return out;
    }();
    static const std::string css = swatches + R"(:root { color-scheme: light; --fg: #111827; --muted: #6b7280; --line: #e5e7eb; --card: #ffffff; --bg: #f3f4f6;
  --ok: #15803d; --bad: #b91c1c; --warn: #b45309; --blue: #1d4ed8; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { background: #111827; color: #f9fafb; padding: 14px 24px; display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px 18px; }
header h1 { font-size: 20px; margin: 0; font-weight: 650; }
header p { margin: 0; color: #d1d5db; }
header a { color: #93c5fd; }
main { padding: 18px 24px 32px; max-width: 1280px; margin: 0 auto; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(210px, 1fr)); gap: 14px; margin-bottom: 14px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px 16px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .big { font-size: 30px; font-weight: 650; font-variant-numeric: tabular-nums; }
.card .big small { font-size: 15px; font-weight: 500; color: var(--muted); }
.card .hint { color: var(--muted); font-size: 12.5px; }
.card.bad .big { color: var(--bad); }
.card.good .big { color: var(--ok); }
.decision { background: var(--card); border: 1px solid var(--line); border-left: 5px solid var(--muted); border-radius: 10px; padding: 10px 16px; margin-bottom: 14px; }
.decision.high, .decision.target-out { border-left-color: var(--bad); }
.decision.low { border-left-color: var(--blue); }
.decision.cooldown, .decision.warming { border-left-color: var(--warn); }
.decision p { margin: 2px 0; }
.decision .k { color: var(--muted); display: inline-block; min-width: 110px; }
figure { margin: 0 0 14px; background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 6px; overflow-x: auto; }
figure svg { display: block; width: 100%; height: auto; min-width: 640px; }
h2 { font-size: 16px; margin: 22px 0 8px; }
.scroll { overflow-x: auto; border-radius: 10px; }
table { border-collapse: collapse; width: 100%; background: var(--card); border: 1px solid var(--line); border-radius: 10px; overflow: hidden; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f9fafb; font-weight: 600; font-size: 12.5px; color: #374151; white-space: nowrap; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th.n { text-align: right; }
tr:last-child td { border-bottom: 0; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; background: #e5e7eb; color: #374151; white-space: nowrap; }
.badge.ok { background: #dcfce7; color: var(--ok); }
.badge.bad { background: #fee2e2; color: var(--bad); }
.badge.starting { background: #fef3c7; color: var(--warn); }
.badge.draining, .badge.stopping { background: #e5e7eb; color: #4b5563; }
.badge.out { background: #fee2e2; color: var(--bad); }
.badge.in { background: #dbeafe; color: var(--blue); }
.badge.knobs { background: #ede9fe; color: #6d28d9; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: baseline; }
td.msg { word-break: break-word; }
.muted { color: var(--muted); }
footer { color: var(--muted); font-size: 12.5px; margin-top: 18px; }
footer a { color: var(--blue); }
@media (max-width: 700px) { main { padding: 12px; } .hide-narrow { display: none; } }
)";
    return css;
}

std::string Dashboard::chart(const std::string& name, const FleetState& s, const FleetConfig& c, TimePoint now) {
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

std::string Dashboard::page(const FleetState& s, const FleetConfig& c, TimePoint now) {
    int in_service = 0, starting = 0, draining = 0;
    for (const auto& r : s.servers) {
        if (r.state == ServerState::in_service && r.up()) ++in_service;
        if (r.state == ServerState::starting) ++starting;
        if (r.state == ServerState::draining || r.state == ServerState::stopping) ++draining;
    }
    const FleetTick* last = s.ticks.empty() ? nullptr : &s.ticks.back();
    const auto failed = s.totals.status_5xx + s.totals.failed;
    const int refresh = std::max(2, static_cast<int>(std::ceil(static_cast<double>(c.policy.interval.count()) / 1000.0)));

    std::string h;
    h.reserve(64 * 1024);
    h += fmt::format(R"(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{refresh}">
<title>photoshare fleet: {in} in service</title>
<link rel="stylesheet" href="/dashboard.css">
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
</head>
<body>
<header>
<h1>photoshare fleet</h1>
<p>{phase} · site <a href="http://{front}/">http://{front}/</a> · started {started} · up {up}</p>
</header>
<main>
)",
                     fmt::arg("refresh", refresh), fmt::arg("in", in_service), fmt::arg("phase", escape(s.phase)), fmt::arg("front", escape(c.haproxy.listen)),
                     fmt::arg("started", wall_clock(s, TimePoint{0})), fmt::arg("up", svg::clock_label(secs(now))));

    // The numbers that matter, large.
    const bool step_latency = c.policy.kind == PolicyConfig::Kind::step && c.policy.step.metric == Metric::latency;
    h += R"(<section class="cards">)";
    h += fmt::format(R"(<div class="card"><div class="label">Servers in service</div><div class="big">{} <small>of {} desired</small></div><div class="hint">min {} · max {} · {} starting · {} draining</div></div>)",
                     in_service, s.desired, c.servers.min, c.servers.max, starting, draining);
    h += fmt::format(R"(<div class="card"><div class="label">Latency, last {} s</div><div class="big">{} <small>ms</small></div><div class="hint">{}</div></div>)",
                     c.policy.interval.count() / 1000, last ? num(last->latency_ms) : "–",
                     step_latency && last && last->policy_value
                         ? fmt::format("the policy sees {:.0f} ms over {} s", *last->policy_value, c.policy.step.period.count() / 1000)
                         : std::string("request-weighted, all servers"));
    h += fmt::format(R"(<div class="card"><div class="label">Requests</div><div class="big">{} <small>req/s</small></div><div class="hint">{} since the start</div></div>)",
                     last ? fmt::format("{:.1f}", last->rps) : "–", s.totals.requests);
    h += fmt::format(R"(<div class="card {}"><div class="label">Failed requests</div><div class="big">{}</div><div class="hint">5xx or no answer, since the start · 4xx: {}</div></div>)",
                     failed ? "bad" : "good", failed, s.totals.status_4xx);
    h += "</section>\n";

    const auto& d = s.last_decision;
    std::string rule_class = d.rule;
    h += fmt::format(R"(<section class="decision {}"><p><span class="k">Policy</span>{}</p><p><span class="k">Last decision</span><strong>{}</strong>: {}</p>{}</section>)",
                     escape(rule_class), escape(describe_policy(c.policy)), escape(d.rule.empty() ? "none yet" : d.rule), escape(d.reason),
                     s.knobs.empty() ? "" : fmt::format(R"(<p><span class="k">Fleet knobs</span>{}</p>)", escape(s.knobs.describe())));
    h += "\n";

    h += "<figure>" + svg::render(size_chart(s, c, now)) + "</figure>\n";
    h += "<figure>" + svg::render(latency_chart(s, c, now)) + "</figure>\n";
    h += "<figure>" + svg::render(requests_chart(s, c, now)) + "</figure>\n";
    if (auto p = policy_chart(s, c, now)) h += "<figure>" + svg::render(*p) + "</figure>\n";

    h += R"(<h2>Servers</h2>
<div class="scroll"><table>
<thead><tr><th>Server</th><th>State</th><th>HAProxy</th><th class="hide-narrow">pid</th><th class="hide-narrow">Address</th><th class="n hide-narrow">For</th><th class="n">Latency ms</th><th class="n">Req/s</th><th class="n hide-narrow">In flight</th><th class="n hide-narrow">CPU %</th><th class="n hide-narrow">Knob ms</th><th class="n hide-narrow">Requests</th><th class="n">Failed</th></tr></thead>
<tbody>
)";
    if (s.servers.empty()) h += R"(<tr><td colspan="13" class="muted">No servers.</td></tr>)";
    for (const auto& r : s.servers) {
        h += fmt::format(
            R"(<tr><td><span class="swatch c{}"></span>{}</td><td><span class="badge {}">{}</span>{}</td><td>{} <span class="muted">{}</span></td><td class="hide-narrow">{}</td><td class="hide-narrow">{}</td><td class="n hide-narrow">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n hide-narrow">{}</td><td class="n hide-narrow">{}</td><td class="n hide-narrow">{}</td><td class="n hide-narrow">{}</td><td class="n">{}</td></tr>)",
            (r.slot - 1 + 10) % 10 + 1, escape(r.name), state_class(r), to_string(r.state),
            r.why.empty() || r.state == ServerState::in_service ? "" : fmt::format(R"(<br><span class="muted">{}</span>)", escape(r.why)),
            escape(r.haproxy_status.empty() ? "–" : r.haproxy_status), escape(r.check_status), r.pid, escape(r.address),
            svg::clock_label(secs(now - r.state_since)), num(r.latency_ms), num(r.rps, "{:.1f}"), num(r.in_flight, "{:.1f}"), num(r.cpu_percent),
            num(r.knob_latency_ms), r.requests, r.errors);
        h += "\n";
    }
    h += "</tbody></table></div>\n";

    h += R"(<h2>Scaling events</h2>
<div class="scroll"><table>
<thead><tr><th>Time</th><th class="hide-narrow">Clock</th><th>Event</th><th>What and why</th></tr></thead>
<tbody>
)";
    int shown = 0;
    for (auto it = s.events.rbegin(); it != s.events.rend() && shown < 60; ++it) {
        if (it->kind == "haproxy") continue;  // HAProxy's own lines: in haproxy.log and /api/status
        ++shown;
        h += fmt::format(R"(<tr><td class="n">{}</td><td class="hide-narrow muted">{}</td><td><span class="badge {}">{}</span></td><td class="msg">{}</td></tr>)",
                         svg::clock_label(secs(it->at)), wall_clock(s, it->at), event_class(it->kind), escape(it->kind), escape(it->message));
        h += "\n";
    }
    if (shown == 0) h += R"(<tr><td colspan="4" class="muted">Nothing yet.</td></tr>)";
    h += "</tbody></table></div>\n";
    h += fmt::format(R"(<footer>Refreshes every {} s. Times are since the fleet started. Charts as files: <a href="/charts/summary.svg">summary.svg</a>; JSON: <a href="/api/status">/api/status</a>, <a href="/api/history">/api/history</a>. State directory: {}.</footer>
</main>
</body>
</html>
)",
                     refresh, escape(c.state_dir.string()));
    return h;
}

std::string Dashboard::status_json(const FleetState& s, const FleetConfig& c, TimePoint now) {
    boost::json::array servers;
    int in_service = 0;
    for (const auto& r : s.servers) {
        if (r.state == ServerState::in_service && r.up()) ++in_service;
        servers.push_back(boost::json::object{{"name", r.name},
                                              {"state", to_string(r.state)},
                                              {"pid", r.pid},
                                              {"address", r.address},
                                              {"haproxy", r.haproxy_status},
                                              {"check", r.check_status},
                                              {"sessions", r.sessions},
                                              {"for_s", secs(now - r.state_since)},
                                              {"why", r.why},
                                              {"latency_ms", jopt(r.latency_ms)},
                                              {"rps", jopt(r.rps)},
                                              {"in_flight", jopt(r.in_flight)},
                                              {"cpu_percent", jopt(r.cpu_percent)},
                                              {"knob_latency_ms", jopt(r.knob_latency_ms)},
                                              {"knob_slots", jopt(r.knob_slots)},
                                              {"requests", r.requests},
                                              {"failed", r.errors}});
    }
    boost::json::array events;
    for (auto it = s.events.size() > 50 ? s.events.end() - 50 : s.events.begin(); it != s.events.end(); ++it)
        events.push_back(boost::json::object{{"t", secs(it->at)}, {"kind", it->kind}, {"message", it->message}});
    boost::json::object knobs;
    if (s.knobs.latency_ms) knobs["latency_ms"] = *s.knobs.latency_ms;
    if (s.knobs.cpu_ms) knobs["cpu_ms"] = *s.knobs.cpu_ms;
    if (s.knobs.slots) knobs["slots"] = *s.knobs.slots;
    const FleetTick* last = s.ticks.empty() ? nullptr : &s.ticks.back();
    boost::json::object o{{"phase", s.phase},
                          {"t", secs(now)},
                          {"front", c.haproxy.listen},
                          {"dashboard", c.dashboard.listen},
                          {"state_dir", c.state_dir.string()},
                          {"min", c.servers.min},
                          {"max", c.servers.max},
                          {"desired", s.desired},
                          {"in_service", in_service},
                          {"policy", describe_policy(c.policy)},
                          {"decision", boost::json::object{{"rule", s.last_decision.rule}, {"reason", s.last_decision.reason}, {"value", jopt(s.last_decision.value)}}},
                          {"latency_ms", last ? jopt(last->latency_ms) : boost::json::value(nullptr)},
                          {"rps", last ? jopt(last->rps) : boost::json::value(nullptr)},
                          {"totals", boost::json::object{{"requests", s.totals.requests},
                                                         {"status_2xx", s.totals.status_2xx},
                                                         {"status_3xx", s.totals.status_3xx},
                                                         {"status_4xx", s.totals.status_4xx},
                                                         {"status_5xx", s.totals.status_5xx},
                                                         {"failed", s.totals.failed},
                                                         {"retries", s.totals.retries}}},
                          {"knobs", knobs},
                          {"scaling_actions", s.actions.size()},
                          {"servers", servers},
                          {"events", events}};
    return boost::json::serialize(o);
}

std::string Dashboard::history_json(const FleetState& s) {
    boost::json::array ticks;
    for (const auto& t : s.ticks)
        ticks.push_back(boost::json::object{{"t", secs(t.at)},
                                            {"desired", t.desired},
                                            {"in_service", t.in_service},
                                            {"starting", t.starting},
                                            {"draining", t.draining},
                                            {"latency_ms", jopt(t.latency_ms)},
                                            {"rps", jopt(t.rps)},
                                            {"requests", t.requests.requests},
                                            {"failed", t.requests.status_5xx + t.requests.failed},
                                            {"rule", t.rule},
                                            {"value", jopt(t.policy_value)}});
    boost::json::array actions;
    for (const auto& a : s.actions) actions.push_back(boost::json::object{{"t", secs(a.at)}, {"from", a.from}, {"to", a.to}});
    return boost::json::serialize(boost::json::object{{"ticks", ticks}, {"actions", actions}});
}

Dashboard::Dashboard(Fleet& fleet) : fleet_(fleet) {}

void Dashboard::add_routes(http::Router& router) {
    using http::Method;
    router.add(Method::get, "/", [this](http::Request&) -> asio::awaitable<http::Response> {
        std::string body;
        const auto now = fleet_.now();
        fleet_.inspect([&](const FleetState& s) { body = page(s, fleet_.config(), now); });
        co_return text(200, "text/html; charset=utf-8", std::move(body));
    });
    router.add(Method::get, "/dashboard.css", [](http::Request&) -> asio::awaitable<http::Response> {
        co_return text(200, "text/css; charset=utf-8", stylesheet());
    });
    router.add(Method::get, "/favicon.svg", [](http::Request&) -> asio::awaitable<http::Response> {
        // Three bars of growing height: a fleet.
        http::Response r(200, "image/svg+xml",
                         R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect x="1" y="9" width="4" height="6" fill="#2563eb"/>)"
                         R"(<rect x="6" y="5" width="4" height="10" fill="#2563eb"/><rect x="11" y="1" width="4" height="14" fill="#111827"/></svg>)");
        r.set("Cache-Control", "max-age=86400");
        co_return r;
    });
    router.add(Method::get, "/charts/{file}", [this](http::Request& req) -> asio::awaitable<http::Response> {
        std::string name(req.param("file"));
        if (!name.ends_with(".svg")) throw http::HttpError(404, "not_found", "No such chart.");
        name.resize(name.size() - 4);
        std::string body;
        const auto now = fleet_.now();
        fleet_.inspect([&](const FleetState& s) { body = chart(name, s, fleet_.config(), now); });
        if (body.empty()) throw http::HttpError(404, "not_found", "No such chart: size, latency, requests, policy or summary.");
        co_return text(200, "image/svg+xml", std::move(body));
    });
    router.add(Method::get, "/api/status", [this](http::Request&) -> asio::awaitable<http::Response> {
        std::string body;
        const auto now = fleet_.now();
        fleet_.inspect([&](const FleetState& s) { body = status_json(s, fleet_.config(), now); });
        co_return text(200, "application/json", std::move(body));
    });
    router.add(Method::get, "/api/history", [this](http::Request&) -> asio::awaitable<http::Response> {
        std::string body;
        fleet_.inspect([&](const FleetState& s) { body = history_json(s); });
        co_return text(200, "application/json", std::move(body));
    });
    router.add(Method::get, "/healthz", [](http::Request&) -> asio::awaitable<http::Response> { co_return text(200, "text/plain; charset=utf-8", "ok\n"); });
    auto knobs = [this](http::Request& req) -> asio::awaitable<http::Response> {
        auto header = req.header("Authorization");
        constexpr std::string_view prefix = "Bearer ";
        if (!header.starts_with(prefix) || !constant_time_equal(header.substr(prefix.size()), fleet_.admin_token()))
            throw http::HttpError(401, "admin_token_required", "Send the fleet's admin token (STATE_DIR/admin.token) as 'Authorization: Bearer <token>'.",
                                  {{"WWW-Authenticate", "Bearer"}});
        boost::system::error_code ec;
        auto v = boost::json::parse(req.body, ec);
        if (ec || !v.is_object()) throw http::HttpError(400, "bad_json", R"(Send a JSON object like {"latency_ms": 1200, "server": "web-2"}.)");
        Knobs k;
        std::string server;
        for (const auto& [name, value] : v.as_object()) {
            if (name == "server") {
                if (!value.is_string()) throw http::HttpError(422, "bad_server", "'server' must be a server name like \"web-2\".");
                server = std::string(value.as_string());
                continue;
            }
            std::optional<long>* slot = name == "latency_ms" ? &k.latency_ms : name == "cpu_ms" ? &k.cpu_ms : name == "slots" ? &k.slots : nullptr;
            if (!slot) throw http::HttpError(422, "unknown_knob", fmt::format("There is no knob named '{}'.", std::string_view(name)));
            if (!value.is_int64() || value.as_int64() < 0 || value.as_int64() > 60'000)
                throw http::HttpError(422, "bad_knob_value", fmt::format("'{}' must be a whole number from 0 to 60000.", std::string_view(name)));
            *slot = static_cast<long>(value.as_int64());
        }
        if (k.empty()) throw http::HttpError(422, "no_knob", "Give at least one of latency_ms, cpu_ms, slots.");
        std::string result;
        try {
            result = co_await workers_.call([this, k, server] { return fleet_.set_knobs(k, server); });
        } catch (const std::invalid_argument& e) {
            throw http::HttpError(404, "no_such_server", e.what());
        }
        co_return text(200, "application/json", std::move(result));
    };
    router.add(Method::put, "/api/knobs", knobs);
    router.add(Method::post, "/api/knobs", knobs);
}

http::ServerHooks Dashboard::hooks(std::function<void()> draining) {
    http::ServerHooks h;
    h.error_response = [](const http::Request& req, int status, const std::string& code, const std::string& message) {
        if (req.path.starts_with("/api/"))
            return text(status, "application/json",
                        boost::json::serialize(boost::json::object{{"error", boost::json::object{{"code", code}, {"message", message}}}}));
        return text(status, "text/plain; charset=utf-8", message + "\n");
    };
    h.decorate = [](const http::Request&, http::Response& res) {
        res.set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
        res.set("X-Content-Type-Options", "nosniff");
        res.set("Referrer-Policy", "no-referrer");
    };
    h.draining = std::move(draining);
    return h;
}

}  // namespace photoshare::fleet
