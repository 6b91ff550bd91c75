// The pieces the policies are made of, each on its own.
#include "fleet/policy_steps.hpp"

#include <gtest/gtest.h>

using namespace photoshare::fleet;
using namespace photoshare::fleet::policy_steps;
using namespace std::chrono_literals;

namespace {

Sample sample(TimePoint at, std::vector<ServerSample> servers) { return Sample{at, 5000ms, std::move(servers)}; }

ServerSample busy(const char* name, bool in_service, TimePoint since, double in_flight) {
    ServerSample s;
    s.name = name;
    s.in_service = in_service;
    s.in_service_since = since;
    s.in_flight = in_flight;
    return s;
}

}  // namespace

TEST(PolicySteps, WindowsAndCoverage) {
    EXPECT_EQ(expected_intervals(60s, 5s), 12);
    EXPECT_EQ(expected_intervals(3s, 5s), 1);  // at least one
    EXPECT_EQ(expected_intervals(60s, 0s), 1);
    EXPECT_EQ(required(0.5, 12), 6);
    EXPECT_EQ(required(0.5, 3), 2);
    EXPECT_EQ(required(0.0, 12), 1);  // at least one
    EXPECT_EQ(ceil_div(40, 20), 2);
    EXPECT_EQ(ceil_div(40.5, 20), 3);
    EXPECT_EQ(ceil_div(40, 0), 0);

    std::deque<Sample> history;
    EXPECT_FALSE(spans(history, TimePoint{60'000}, 60s, 5s));
    history.push_back(sample(TimePoint{5'000}, {}));  // covers (0, 5 s]
    EXPECT_TRUE(spans(history, TimePoint{57'500}, 60s, 5s));  // within half an interval
    EXPECT_FALSE(spans(history, TimePoint{57'000}, 60s, 5s));
}

TEST(PolicySteps, TicksCountWarmServersOnly) {
    std::deque<Sample> history{sample(TimePoint{5'000}, {busy("web-1", true, TimePoint{0}, 4), busy("web-2", true, TimePoint{4'000}, 10),
                                                          busy("web-3", false, TimePoint{0}, 50)}),
                               sample(TimePoint{10'000}, {busy("web-1", true, TimePoint{0}, 2), busy("web-2", true, TimePoint{4'000}, 6)})};
    const auto t = ticks(Metric::in_flight, history, TimePoint{0}, TimePoint{10'000}, 5s);
    ASSERT_EQ(t.size(), 2u);
    EXPECT_EQ(t[0].per_server, 4);  // web-2 is warming, web-3 out of service
    EXPECT_EQ(t[0].in_service, 2);
    EXPECT_EQ(t[0].load(), 8);
    EXPECT_EQ(t[1].per_server, 4);  // both warm now
    EXPECT_EQ(ticks(Metric::in_flight, history, TimePoint{5'000}, TimePoint{10'000}, 5s).size(), 1u);  // (from, to]
    EXPECT_TRUE(warm(history[0].servers[1], TimePoint{9'000}, 5s));
    EXPECT_FALSE(warm(history[0].servers[1], TimePoint{8'999}, 5s));
    EXPECT_TRUE(warm(history[0].servers[1], TimePoint{0}, std::nullopt));
}

TEST(PolicySteps, Texts) {
    EXPECT_EQ(duration_text(60s), "60 s");
    EXPECT_EQ(duration_text(2500ms), "2.5 s");
    EXPECT_EQ(value_text(Metric::latency, 1234.4), "1234 ms");
    EXPECT_EQ(value_text(Metric::rps, 12.25), "12.2 req/s");
    EXPECT_EQ(value_text(Metric::cpu, 40), "40.0 % CPU");
}
