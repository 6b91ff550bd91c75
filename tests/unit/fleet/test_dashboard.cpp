// The dashboard renders from a state alone: charts, tables, and nothing a strict CSP blocks.
#include "fleet/dashboard.hpp"
#include "fleet/svg.hpp"

#include <gtest/gtest.h>

using namespace photoshare::fleet;

namespace {

FleetState sample_state() {
    FleetState s;
    s.started_wall = std::chrono::system_clock::now();
    s.phase = "running";
    s.desired = 2;
    for (int i = 1; i <= 30; ++i) {
        Sample sample;
        sample.at = TimePoint{i * 1000};
        sample.span = std::chrono::milliseconds(1000);  // not 1000ms: cppcheck 2.10 cannot evaluate it
        for (int n = 1; n <= (i > 15 ? 2 : 1); ++n)
            sample.servers.push_back(ServerSample{"web-" + std::to_string(n), true, TimePoint{0}, 10, 10.0 * (i > 10 ? 1200 : 50), 1.0, 5.0});
        s.samples.push_back(sample);
        FleetTick t;
        t.at = sample.at;
        t.desired = i > 14 ? 2 : 1;
        t.in_service = i > 15 ? 2 : 1;
        t.latency_ms = i > 10 ? 1200 : 50;
        t.rps = 10;
        t.policy_value = t.latency_ms;
        t.rule = "band";
        s.ticks.push_back(t);
    }
    s.actions.push_back({TimePoint{14'000}, 1, 2});
    ServerRecord r;
    r.slot = 1;
    r.name = "web-1";
    r.address = "127.0.0.1:9011";
    r.pid = 1234;
    r.state = ServerState::in_service;
    r.haproxy_status = "UP";
    r.latency_ms = 1200;
    s.servers.push_back(r);
    r.slot = 2;
    r.name = "web-2";
    r.state = ServerState::draining;
    r.why = "scale-in <to> 1";
    s.servers.push_back(r);
    s.events.push_back(Event{TimePoint{14'000}, "scale-out", "average latency 1200 ms over the last 3 s > 1000 ms: +1 (1 -> 2)"});
    s.last_decision = Decision{2, "max", "at <max>", 1200.0};
    return s;
}

FleetConfig sample_config() { return parse_fleet_config("[policy]\ninterval = \"1s\"\n[policy.step]\nperiod = \"3s\"\n", "/tmp"); }

}  // namespace

TEST(Dashboard, PageHasTheChartsTheTablesAndNoScript) {
    auto html = Dashboard::page(sample_state(), sample_config(), TimePoint{30'000});
    EXPECT_NE(html.find("<title>photoshare fleet: 1 in service</title>"), std::string::npos);
    EXPECT_NE(html.find("Fleet size"), std::string::npos);
    EXPECT_NE(html.find("Latency at the load balancer"), std::string::npos);
    EXPECT_NE(html.find("Requests per second"), std::string::npos);
    EXPECT_NE(html.find("<td><span class=\"swatch c2\"></span>web-2</td>"), std::string::npos);
    EXPECT_NE(html.find("scale-in &lt;to&gt; 1"), std::string::npos);  // escaped
    EXPECT_NE(html.find("at &lt;max&gt;"), std::string::npos);
    EXPECT_NE(html.find("+1 (1 -&gt; 2)"), std::string::npos);
    EXPECT_EQ(html.find("<script"), std::string::npos);
    EXPECT_EQ(html.find("style=\""), std::string::npos);  // CSP: style-src 'self'
    EXPECT_EQ(html.find("<style"), std::string::npos);
    EXPECT_NE(html.find("http-equiv=\"refresh\" content=\"2\""), std::string::npos);
}

TEST(Dashboard, ChartsAreStandaloneSvg) {
    auto s = sample_state();
    auto c = sample_config();
    for (const char* name : {"size", "latency", "requests", "summary"}) {
        auto svg = Dashboard::chart(name, s, c, TimePoint{30'000});
        ASSERT_FALSE(svg.empty()) << name;
        EXPECT_TRUE(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"")) << name;
        EXPECT_NE(svg.find("</svg>"), std::string::npos);
        EXPECT_NE(svg.find("<path d=\"M"), std::string::npos) << name;
    }
    EXPECT_TRUE(Dashboard::chart("policy", s, c, TimePoint{30'000}).empty());  // step on latency: the latency chart shows it
    EXPECT_TRUE(Dashboard::chart("nope", s, c, TimePoint{30'000}).empty());
    auto latency = Dashboard::chart("latency", s, c, TimePoint{30'000});
    EXPECT_NE(latency.find("scale out &gt; 1000"), std::string::npos);
    EXPECT_NE(latency.find(">+1<"), std::string::npos);  // the scaling marker
}

TEST(Dashboard, StatusJson) {
    auto json = Dashboard::status_json(sample_state(), sample_config(), TimePoint{30'000});
    EXPECT_NE(json.find("\"phase\":\"running\""), std::string::npos);
    EXPECT_NE(json.find("\"name\":\"web-2\""), std::string::npos);
    EXPECT_NE(json.find("\"state\":\"draining\""), std::string::npos);
}

TEST(Svg, ClockLabelsAndEscapes) {
    EXPECT_EQ(svg::clock_label(0), "0:00");
    EXPECT_EQ(svg::clock_label(75), "1:15");
    EXPECT_EQ(svg::clock_label(3725), "1:02:05");
    EXPECT_EQ(svg::escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    svg::Chart empty;
    empty.title = "nothing";
    EXPECT_NE(svg::render(empty).find("no data yet"), std::string::npos);
}

TEST(Dashboard, ParsesAKnobsRequest) {
    auto [k, server] = Dashboard::parse_knobs(R"({"latency_ms": 1200, "slots": 0, "server": "web-2"})");
    EXPECT_EQ(k.latency_ms, 1200);
    EXPECT_EQ(k.slots, 0);
    EXPECT_FALSE(k.cpu_ms);
    EXPECT_EQ(server, "web-2");
    EXPECT_EQ(Dashboard::parse_knobs(R"({"cpu_ms": 5})").second, "");
    auto status = [](const char* body) {
        try {
            Dashboard::parse_knobs(body);
        } catch (const photoshare::http::HttpError& e) {
            return e.status();
        }
        return 0;
    };
    EXPECT_EQ(status("nope"), 400);
    EXPECT_EQ(status("[1]"), 400);
    EXPECT_EQ(status(R"({"server": 2, "slots": 1})"), 422);
    EXPECT_EQ(status(R"({"speed": 1})"), 422);
    EXPECT_EQ(status(R"({"latency_ms": 60001})"), 422);
    EXPECT_EQ(status(R"({"latency_ms": -1})"), 422);
    EXPECT_EQ(status(R"({"latency_ms": 1.5})"), 422);
    EXPECT_EQ(status("{}"), 422);
}
