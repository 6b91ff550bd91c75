// What the fleet writes, compared byte for byte with the text it wrote before its code was
// split into files (tests/unit/fleet/golden/): the HAProxy configuration it generates, every
// page, chart and JSON document of its dashboard for fixed states, and every decision (and
// its reason, which the fleet logs) of both policies over a run on a fake clock. A difference is a
// change of behaviour; if it is meant, write the new text there and say why in the commit.
#include "fleet/dashboard.hpp"
#include "fleet/fleet_config.hpp"
#include "fleet/haproxy_config.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

using namespace photoshare::fleet;

namespace {

const std::filesystem::path golden_dir = std::filesystem::path(PHOTOSHARE_SOURCE_DIR) / "tests/unit/fleet/golden";

std::string read(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

void expect_golden(const std::string& name, const std::string& text) {
    const auto path = golden_dir / name;
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    const auto want = read(path);
    if (text == want) return;
    // The first line that differs, for a readable failure.
    std::istringstream a(want), b(text);
    std::string la, lb;
    int line = 1;
    while (std::getline(a, la) && std::getline(b, lb) && la == lb) ++line;
    ADD_FAILURE() << name << " differs from " << path << " at line " << line << ":\n  want: " << la << "\n  got:  " << lb;
}

FleetConfig haproxy_sample(const std::string& stats) {
    auto c = parse_fleet_config(R"(
state_dir = "/tmp/fleet-unit"
[servers]
min = 1
max = 4
base_port = 19311
[haproxy]
listen = "127.0.0.1:19300"
)" + (stats.empty() ? std::string() : "stats = \"" + stats + "\"\n"),
                                "/tmp");
    c.file = "/tmp/fleet.toml";
    return c;
}

// A fleet 30 s into a run, its wall clock fixed (the page shows local times: TZ=UTC).
FleetState sample_state() {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
    FleetState s;
    s.started_wall = std::chrono::system_clock::from_time_t(1'700'000'000);
    s.phase = "running";
    s.desired = 2;
    for (int i = 1; i <= 30; ++i) {
        Sample sample;
        sample.at = TimePoint{i * 1000};
        sample.span = std::chrono::milliseconds(1000);
        for (int n = 1; n <= (i > 15 ? 2 : 1); ++n)
            sample.servers.push_back(ServerSample{"web-" + std::to_string(n), true, TimePoint{0}, 10, 10.0 * (i > 10 ? 1200 : 50), 1.0 + n, 5.0 * n});
        s.samples.push_back(sample);
        FleetTick t;
        t.at = sample.at;
        t.desired = i > 14 ? 2 : 1;
        t.in_service = i > 15 ? 2 : 1;
        t.starting = i == 15 ? 1 : 0;
        t.latency_ms = i > 10 ? 1200 : 50;
        t.rps = 10;
        t.requests.requests = 10;
        t.requests.status_5xx = i == 20 ? 2 : 0;
        t.policy_value = t.latency_ms;
        t.rule = i > 14 ? "max" : "band";
        s.ticks.push_back(t);
    }
    s.actions.push_back({TimePoint{14'000}, 1, 2});
    ServerRecord r;
    r.slot = 1;
    r.name = "web-1";
    r.address = "127.0.0.1:9011";
    r.pid = 1234;
    r.state = ServerState::in_service;
    r.state_since = TimePoint{2'000};
    r.haproxy_status = "UP";
    r.check_status = "L7OK";
    r.latency_ms = 1200;
    r.rps = 5;
    r.in_flight = 2;
    r.cpu_percent = 12.5;
    r.knob_latency_ms = 1150;
    r.requests = 300;
    s.servers.push_back(r);
    r.slot = 2;
    r.name = "web-2";
    r.pid = 1240;
    r.state = ServerState::draining;
    r.state_since = TimePoint{28'500};
    r.haproxy_status = "DRAIN";
    r.why = "scale-in <to> 1";
    r.errors = 2;
    s.servers.push_back(r);
    r.slot = 3;
    r.name = "web-3";
    r.pid = 1250;
    r.state = ServerState::starting;
    r.haproxy_status.clear();
    r.latency_ms.reset();
    s.servers.push_back(r);
    s.events.push_back(Event{TimePoint{1'000}, "haproxy", "Proxy www started."});
    s.events.push_back(Event{TimePoint{14'000}, "scale-out", "average latency 1200 ms over the last 3 s > 1000 ms: +1 (1 -> 2)"});
    s.events.push_back(Event{TimePoint{20'000}, "died", "web-4 (pid 99) died"});
    s.events.push_back(Event{TimePoint{21'000}, "knobs", "latency_ms=1200 on every server"});
    s.last_decision = Decision{2, "max", "at <max>", 1200.0};
    s.knobs.latency_ms = 1200;
    s.knobs.slots = 4;
    s.totals.requests = 300;
    s.totals.status_2xx = 290;
    s.totals.status_4xx = 3;
    s.totals.status_5xx = 2;
    s.totals.failed = 1;
    s.totals.retries = 4;
    return s;
}

FleetConfig step_config() { return parse_fleet_config("[policy]\ninterval = \"1s\"\n[policy.step]\nperiod = \"3s\"\n", "/tmp"); }
FleetConfig target_config() {
    return parse_fleet_config("[servers]\nmax = 5\n[policy]\nkind = \"target\"\ninterval = \"5s\"\n[policy.target]\nmetric = \"cpu\"\ntarget = 40\n", "/tmp");
}

// Every decision of a policy over a run with a fake clock: a fleet whose servers all report
// `load(t)` (latency in ms for the step policy, requests per second to share for target).
std::string policy_trace(const PolicyConfig& config, const std::function<double(int)>& load) {
    std::deque<Sample> history;
    std::vector<ScalingAction> actions;
    std::vector<TimePoint> since{TimePoint{0}};
    std::string out;
    for (int i = 1; i <= 240; ++i) {
        const TimePoint now{i * config.interval.count()};
        Sample s{now, config.interval, {}};
        const double v = load(i);
        for (std::size_t n = 0; n < since.size(); ++n) {
            const bool latency = config.kind == PolicyConfig::Kind::step;
            const std::uint64_t requests = latency ? (v > 0 ? 10 : 0) : static_cast<std::uint64_t>(v * 5 / static_cast<double>(since.size()));
            s.servers.push_back(ServerSample{"web-" + std::to_string(n + 1), n != 2 || i % 7 != 0, since[n], requests,
                                             latency ? v * static_cast<double>(requests) : 30.0 * static_cast<double>(requests), std::nullopt, std::nullopt});
        }
        history.push_back(s);
        const int cap = static_cast<int>(since.size());
        const auto d = decide(config, PolicyInput{now, history, actions, cap, cap, 1, 6});
        out += fmt::format("{} {} {} {} {}\n", now.count() / 1000, d.desired, d.rule, d.value ? fmt::format("{:.3f}", *d.value) : "-", d.reason);
        if (d.changes(cap)) {
            actions.push_back({now, cap, d.desired});
            since.resize(static_cast<std::size_t>(d.desired), now);
        }
    }
    return out;
}

}  // namespace

TEST(Golden, PolicyDecisions) {
    auto step = parse_fleet_config("[policy]\ninterval = \"5s\"\n[policy.step]\nperiod = \"30s\"\ncooldown = \"60s\"\n", "/tmp").policy;
    expect_golden("policy-step.txt", policy_trace(step, [](int i) { return i < 30 ? 100.0 : i < 90 ? 1500.0 : i < 170 ? 300.0 : i < 200 ? 700.0 : 0.0; }));
    auto target = parse_fleet_config("[policy]\nkind = \"target\"\ninterval = \"5s\"\n[policy.target]\ntarget = 20\nin_window = \"60s\"\n"
                                     "in_cooldown = \"60s\"\nwarmup = \"15s\"\n",
                                     "/tmp")
                      .policy;
    expect_golden("policy-target.txt", policy_trace(target, [](int i) { return i < 40 ? 15.0 : i < 100 ? 95.0 : i < 110 ? 0.0 : i < 180 ? 35.0 : 5.0; }));
}

TEST(Golden, HaproxyConfig) {
    expect_golden("haproxy-stats.cfg", haproxy_config(haproxy_sample("127.0.0.1:19301"), 5514));
    expect_golden("haproxy-nostats.cfg", haproxy_config(haproxy_sample(""), 40000));
}

TEST(Golden, Dashboard) {
    const auto s = sample_state();
    const TimePoint now{30'000};
    for (const auto& [label, config] : {std::pair{"step", step_config()}, std::pair{"target", target_config()}}) {
        const std::string p = std::string("dashboard-") + label;
        expect_golden(p + ".html", Dashboard::page(s, config, now));
        for (const char* chart : {"size", "latency", "requests", "policy", "summary"})
            expect_golden(p + "-" + chart + ".svg", Dashboard::chart(chart, s, config, now));
        expect_golden(p + "-status.json", Dashboard::status_json(s, config, now));
    }
    expect_golden("dashboard-history.json", Dashboard::history_json(s));
    expect_golden("dashboard.css", Dashboard::stylesheet());
    FleetState empty;
    empty.started_wall = s.started_wall;
    expect_golden("dashboard-empty.html", Dashboard::page(empty, step_config(), TimePoint{0}));
}
