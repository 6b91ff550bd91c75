// The dashboard's page: the numbers that matter, the policy's last decision, the charts,
// the servers and the scaling events. No script, no inline style (the CSP forbids both); it
// refreshes itself with a meta tag.
#include "fleet/dashboard.hpp"
#include "fleet/dashboard_parts.hpp"
#include "fleet/servers.hpp"
#include "fleet/support.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ctime>

namespace photoshare::fleet {

namespace {

using svg::escape;

constexpr const char* kStylesheet = R"(:root { color-scheme: light; --fg: #111827; --muted: #6b7280; --line: #e5e7eb; --card: #ffffff; --bg: #f3f4f6;
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

int refresh_seconds(const FleetConfig& c) { return std::max(2, static_cast<int>(std::ceil(static_cast<double>(c.policy.interval.count()) / 1000.0))); }

std::string head(const FleetState& s, const FleetConfig& c, TimePoint now, int in_service) {
    return fmt::format(R"(<!doctype html>
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
                       fmt::arg("refresh", refresh_seconds(c)), fmt::arg("in", in_service), fmt::arg("phase", escape(s.phase)),
                       fmt::arg("front", escape(c.haproxy.listen)), fmt::arg("started", wall_clock(s, TimePoint{0})),
                       fmt::arg("up", svg::clock_label(seconds(now))));
}

// The numbers that matter, large.
std::string cards(const FleetState& s, const FleetConfig& c, const StateCounts& n) {
    const FleetTick* last = s.ticks.empty() ? nullptr : &s.ticks.back();
    const auto failed = s.totals.status_5xx + s.totals.failed;
    const bool step_latency = c.policy.kind == PolicyConfig::Kind::step && c.policy.step.metric == Metric::latency;
    std::string h = R"(<section class="cards">)";
    h += fmt::format(R"(<div class="card"><div class="label">Servers in service</div><div class="big">{} <small>of {} desired</small></div><div class="hint">min {} · max {} · {} starting · {} draining</div></div>)",
                     n.in_service, s.desired, c.servers.min, c.servers.max, n.starting, n.draining);
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
    return h;
}

std::string decision(const FleetState& s, const FleetConfig& c) {
    const auto& d = s.last_decision;
    return fmt::format(R"(<section class="decision {}"><p><span class="k">Policy</span>{}</p><p><span class="k">Last decision</span><strong>{}</strong>: {}</p>{}</section>)",
                       escape(d.rule), escape(describe_policy(c.policy)), escape(d.rule.empty() ? "none yet" : d.rule), escape(d.reason),
                       s.knobs.empty() ? "" : fmt::format(R"(<p><span class="k">Fleet knobs</span>{}</p>)", escape(s.knobs.describe()))) +
           "\n";
}

std::string figures(const FleetState& s, const FleetConfig& c, TimePoint now) {
    std::string h;
    h += "<figure>" + svg::render(dashboard::size_chart(s, c, now)) + "</figure>\n";
    h += "<figure>" + svg::render(dashboard::latency_chart(s, c, now)) + "</figure>\n";
    h += "<figure>" + svg::render(dashboard::requests_chart(s, c, now)) + "</figure>\n";
    if (auto p = dashboard::policy_chart(s, c, now)) h += "<figure>" + svg::render(*p) + "</figure>\n";
    return h;
}

std::string server_row(const ServerRecord& r, TimePoint now) {
    return fmt::format(
               R"(<tr><td><span class="swatch c{}"></span>{}</td><td><span class="badge {}">{}</span>{}</td><td>{} <span class="muted">{}</span></td><td class="hide-narrow">{}</td><td class="hide-narrow">{}</td><td class="n hide-narrow">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n hide-narrow">{}</td><td class="n hide-narrow">{}</td><td class="n hide-narrow">{}</td><td class="n hide-narrow">{}</td><td class="n">{}</td></tr>)",
               (r.slot - 1 + 10) % 10 + 1, escape(r.name), state_class(r), to_string(r.state),
               r.why.empty() || r.state == ServerState::in_service ? "" : fmt::format(R"(<br><span class="muted">{}</span>)", escape(r.why)),
               escape(r.haproxy_status.empty() ? "–" : r.haproxy_status), escape(r.check_status), r.pid, escape(r.address),
               svg::clock_label(seconds(now - r.state_since)), num(r.latency_ms), num(r.rps, "{:.1f}"), num(r.in_flight, "{:.1f}"), num(r.cpu_percent),
               num(r.knob_latency_ms), r.requests, r.errors) +
           "\n";
}

std::string servers_table(const FleetState& s, TimePoint now) {
    std::string h = R"(<h2>Servers</h2>
<div class="scroll"><table>
<thead><tr><th>Server</th><th>State</th><th>HAProxy</th><th class="hide-narrow">pid</th><th class="hide-narrow">Address</th><th class="n hide-narrow">For</th><th class="n">Latency ms</th><th class="n">Req/s</th><th class="n hide-narrow">In flight</th><th class="n hide-narrow">CPU %</th><th class="n hide-narrow">Knob ms</th><th class="n hide-narrow">Requests</th><th class="n">Failed</th></tr></thead>
<tbody>
)";
    if (s.servers.empty()) h += R"(<tr><td colspan="13" class="muted">No servers.</td></tr>)";
    for (const auto& r : s.servers) h += server_row(r, now);
    h += "</tbody></table></div>\n";
    return h;
}

std::string events_table(const FleetState& s) {
    std::string h = R"(<h2>Scaling events</h2>
<div class="scroll"><table>
<thead><tr><th>Time</th><th class="hide-narrow">Clock</th><th>Event</th><th>What and why</th></tr></thead>
<tbody>
)";
    int shown = 0;
    for (auto it = s.events.rbegin(); it != s.events.rend() && shown < 60; ++it) {
        if (it->kind == "haproxy") continue;  // HAProxy's own lines: in haproxy.log and /api/status
        ++shown;
        h += fmt::format(R"(<tr><td class="n">{}</td><td class="hide-narrow muted">{}</td><td><span class="badge {}">{}</span></td><td class="msg">{}</td></tr>)",
                         svg::clock_label(seconds(it->at)), wall_clock(s, it->at), event_class(it->kind), escape(it->kind), escape(it->message));
        h += "\n";
    }
    if (shown == 0) h += R"(<tr><td colspan="4" class="muted">Nothing yet.</td></tr>)";
    h += "</tbody></table></div>\n";
    return h;
}

std::string footer(const FleetConfig& c) {
    return fmt::format(R"(<footer>Refreshes every {} s. Times are since the fleet started. Charts as files: <a href="/charts/summary.svg">summary.svg</a>; JSON: <a href="/api/status">/api/status</a>, <a href="/api/history">/api/history</a>. State directory: {}.</footer>
</main>
</body>
</html>
)",
                       refresh_seconds(c), escape(c.state_dir.string()));
}

}  // namespace

const std::string& Dashboard::stylesheet() {
    // The servers' colors, as in the charts (no inline style: the CSP forbids it).
    static const std::string css = [] {
        std::string out;
        for (int i = 1; i <= 10; ++i) out += fmt::format(".swatch.c{} {{ background: {}; }}\n", i, svg::palette(i));
        return out + kStylesheet;
    }();
    return css;
}

std::string Dashboard::page(const FleetState& s, const FleetConfig& c, TimePoint now) {
    const auto n = count_states(s.servers);
    std::string h;
    h.reserve(64 * 1024);
    h += head(s, c, now, n.in_service);
    h += cards(s, c, n);
    h += decision(s, c);
    h += figures(s, c, now);
    h += servers_table(s, now);
    h += events_table(s);
    h += footer(c);
    return h;
}

}  // namespace photoshare::fleet
