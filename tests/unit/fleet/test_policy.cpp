// The scaling policies against a fake clock: a simulated fleet whose servers report what
// each test says, one Sample per evaluation interval, and whose size follows each decision.
#include "fleet/policy.hpp"

// Reports are written as {in_service, requests, latency[, in_flight[, cpu]]}.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

using namespace photoshare::fleet;
using namespace std::chrono_literals;

namespace {

// What one server reports over one interval.
struct Report {
    bool in_service = true;
    std::optional<std::uint64_t> requests = 10;
    double latency_ms = 100;  // mean latency of those requests
    std::optional<double> in_flight;
    std::optional<double> cpu;
};

struct Sim {
    PolicyConfig config;
    std::deque<Sample> history;
    std::vector<ScalingAction> actions;
    TimePoint now{0};
    int capacity = 1;
    int min = 1, max = 4;
    std::vector<TimePoint> since;  // per server: in service since (new servers warm up)
    Decision last;

    explicit Sim(PolicyConfig c, int initial = 1) : config(std::move(c)), capacity(initial), since(static_cast<std::size_t>(initial), TimePoint{-3'600'000}) {}

    // One interval: `report(i)` for each server; returns the decision (applied).
    Decision step(const std::function<Report(int)>& report) {
        now += config.interval;
        Sample s;
        s.at = now;
        s.span = config.interval;
        for (int i = 0; i < capacity; ++i) {
            Report r = report(i);
            ServerSample ss;
            ss.name = "web-" + std::to_string(i + 1);
            ss.in_service = r.in_service;
            ss.in_service_since = since[static_cast<std::size_t>(i)];
            ss.requests = r.requests;
            ss.latency_sum_ms = r.requests ? r.latency_ms * static_cast<double>(*r.requests) : 0;
            ss.in_flight = r.in_flight;
            ss.cpu_percent = r.cpu;
            s.servers.push_back(ss);
        }
        history.push_back(s);
        while (history.size() > 2000) history.pop_front();
        int in_service = 0;
        for (const auto& ss : s.servers)
            if (ss.in_service) ++in_service;
        last = decide(config, PolicyInput{now, history, actions, capacity, in_service, min, max});
        if (last.changes(capacity)) {
            actions.push_back({now, capacity, last.desired});
            since.resize(static_cast<std::size_t>(last.desired), now);  // new servers: warming from now
            capacity = last.desired;
        }
        return last;
    }
    // Runs for `d` with every server reporting the same.
    void run(Millis d, const std::function<Report(int)>& report) {
        for (auto end = now + d; now < end;) step(report);
    }
    Report latency(double ms) const { return Report{true, 10, ms}; }
};

PolicyConfig step_config() {
    PolicyConfig c;
    c.kind = PolicyConfig::Kind::step;
    c.interval = 5s;
    return c;
}

PolicyConfig target_config(Metric m = Metric::rps, double target = 20) {
    PolicyConfig c;
    c.kind = PolicyConfig::Kind::target;
    c.interval = 5s;
    c.target.metric = m;
    c.target.target = target;
    c.target.warmup = 30s;
    c.target.out_window = 10s;
    c.target.in_window = 300s;
    c.target.in_cooldown = 300s;
    return c;
}

// Requests per second per server when `total` req/s is spread over the in-service servers.
Report rps_share(double total, int servers) {
    Report r;
    r.requests = static_cast<std::uint64_t>(std::llround(total / servers * 5));  // 5 s intervals
    return r;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// The seed's step policy

TEST(StepPolicy, DefaultsAreTheSeeds) {
    PolicyConfig c;
    EXPECT_EQ(c.kind, PolicyConfig::Kind::step);
    EXPECT_EQ(c.step.metric, Metric::latency);
    EXPECT_EQ(c.step.high, 1000);
    EXPECT_EQ(c.step.low, 500);
    EXPECT_EQ(c.step.period, 60s);
    EXPECT_EQ(c.step.cooldown, 300s);
    EXPECT_EQ(c.step.out_step, 1);
    EXPECT_EQ(c.step.in_step, 1);
}

TEST(StepPolicy, HighLatencyForAWholePeriodAddsOneServer) {
    Sim sim(step_config());
    sim.run(55s, [&](int) { return sim.latency(1500); });
    EXPECT_EQ(sim.capacity, 1) << sim.last.reason;  // 55 s is not "for 60 s"
    EXPECT_EQ(sim.last.rule, "no data");
    sim.step([&](int) { return sim.latency(1500); });
    EXPECT_EQ(sim.capacity, 2) << sim.last.reason;
    EXPECT_EQ(sim.last.rule, "high");
    EXPECT_NE(sim.last.reason.find("1500 ms"), std::string::npos) << sim.last.reason;
    EXPECT_NE(sim.last.reason.find("> 1000 ms"), std::string::npos) << sim.last.reason;
    ASSERT_EQ(sim.actions.size(), 1u);
    EXPECT_EQ(sim.actions[0].from, 1);
    EXPECT_EQ(sim.actions[0].to, 2);
}

TEST(StepPolicy, CooldownHoldsTheNextActionFor300Seconds) {
    Sim sim(step_config());
    sim.run(60s, [&](int) { return sim.latency(1500); });
    ASSERT_EQ(sim.capacity, 2);
    const auto first = sim.now;
    sim.run(295s, [&](int) { return sim.latency(1500); });
    EXPECT_EQ(sim.capacity, 2);
    EXPECT_EQ(sim.last.rule, "cooldown");
    EXPECT_NE(sim.last.reason.find("5 s left"), std::string::npos) << sim.last.reason;
    sim.step([&](int) { return sim.latency(1500); });
    EXPECT_EQ(sim.capacity, 3);
    EXPECT_EQ(sim.actions.back().at - first, 300s);
}

TEST(StepPolicy, LowLatencyForAPeriodRemovesOneServerAfterTheCooldown) {
    Sim sim(step_config(), 3);
    sim.run(60s, [&](int) { return sim.latency(200); });
    EXPECT_EQ(sim.capacity, 2);
    EXPECT_EQ(sim.actions.back().at, 60s);
    EXPECT_EQ(sim.actions.front().to, 2);
    sim.run(300s, [&](int) { return sim.latency(200); });
    EXPECT_EQ(sim.capacity, 1);
    EXPECT_EQ(sim.actions.back().at, 360s);
    sim.step([&](int) { return sim.latency(200); });
    EXPECT_EQ(sim.last.rule, "min");
}

TEST(StepPolicy, BetweenTheThresholdsNothingChanges) {
    Sim sim(step_config(), 2);
    sim.run(3600s, [&](int) { return sim.latency(750); });
    EXPECT_TRUE(sim.actions.empty());
    EXPECT_EQ(sim.last.rule, "band");
}

TEST(StepPolicy, TheAverageOverThePeriodDecidesNotOneSpike) {
    Sim sim(step_config(), 2);
    int i = 0;
    // One interval in twelve at 4 s, the rest at 600 ms: the minute's mean is 883 ms.
    sim.run(600s, [&](int server) { return sim.latency(server == 0 && i++ % 24 == 0 ? 4000 : 600); });
    EXPECT_TRUE(sim.actions.empty()) << sim.last.reason;
}

TEST(StepPolicy, NoFlappingOnANoisySignal) {
    // Noise of +-350 ms around 750 ms, for four hours: the band holds.
    Sim sim(step_config(), 2);
    std::mt19937 rng(42);
    std::uniform_real_distribution<double> noise(400, 1100);
    sim.run(4h, [&](int) { return sim.latency(noise(rng)); });
    EXPECT_TRUE(sim.actions.empty()) << sim.actions.size() << " actions; last: " << sim.last.reason;

    // Noise around a high level: the fleet grows to max and never shrinks on the way.
    Sim high(step_config(), 1);
    std::uniform_real_distribution<double> noisy_high(600, 2200);
    high.run(2h, [&](int) { return high.latency(noisy_high(rng)); });
    EXPECT_EQ(high.capacity, high.max);
    for (const auto& a : high.actions) EXPECT_GT(a.to, a.from);
}

TEST(StepPolicy, StaysWithinMinAndMax) {
    Sim sim(step_config(), 4);
    sim.max = 4;
    sim.run(600s, [&](int) { return sim.latency(3000); });
    EXPECT_EQ(sim.capacity, 4);
    EXPECT_EQ(sim.last.rule, "max");
    EXPECT_NE(sim.last.reason.find("maximum of 4"), std::string::npos);

    Sim low(step_config(), 2);
    low.min = 2;
    low.run(600s, [&](int) { return low.latency(10); });
    EXPECT_EQ(low.capacity, 2);
    EXPECT_EQ(low.last.rule, "min");

    // Below the minimum (a configuration change, say): straight back to it, no cooldown.
    Sim under(step_config(), 1);
    under.min = 3;
    under.step([&](int) { return under.latency(100); });
    EXPECT_EQ(under.capacity, 3);
    EXPECT_EQ(under.last.rule, "min");
}

TEST(StepPolicy, MissingDataIsNotABreach) {
    Sim sim(step_config(), 2);
    int i = 0;
    // The load balancer could not be read for 7 of every 12 intervals: too little to act on.
    sim.run(600s, [&](int) {
        Report r = sim.latency(3000);
        if (i++ / 2 % 12 < 7) r.requests.reset();
        return r;
    });
    EXPECT_TRUE(sim.actions.empty());
    EXPECT_EQ(sim.last.rule, "no data");

    // Half the intervals missing is enough (min_coverage 0.5), as long as what there is breaches.
    Sim half(step_config(), 2);
    int j = 0;
    half.run(60s, [&](int) {
        Report r = half.latency(3000);
        if (j++ / 2 % 2 == 0) r.requests.reset();
        return r;
    });
    EXPECT_EQ(half.capacity, 3) << half.last.reason;
}

TEST(StepPolicy, AnIdleFleetCountsAsFastUnlessToldOtherwise) {
    Sim sim(step_config(), 3);
    sim.run(60s, [&](int) { return Report{true, 0, 0}; });
    EXPECT_EQ(sim.capacity, 2);
    EXPECT_NE(sim.last.reason.find("idle"), std::string::npos);

    auto strict = step_config();
    strict.step.idle_is_low = false;
    Sim cw(strict, 3);
    cw.run(600s, [&](int) { return Report{true, 0, 0}; });
    EXPECT_EQ(cw.capacity, 3);
    EXPECT_EQ(cw.last.rule, "no data");
}

TEST(StepPolicy, ADeadServerIsLeftOutOfTheAverage) {
    // web-1 is out of service (dead or failing checks) and its few requests were very slow
    // (timeouts); the two live servers answer fast: the fleet is fast.
    Sim sim(step_config(), 3);
    sim.run(60s, [&](int i) { return i == 0 ? Report{false, 500, 10'000} : sim.latency(100); });
    EXPECT_EQ(sim.capacity, 2) << sim.last.reason;
    EXPECT_EQ(sim.last.rule, "low");
}

TEST(StepPolicy, LatencyIsWeightedByRequests) {
    // One request at 5 s and 99 at 100 ms: the mean of the requests is 149 ms, not 2.5 s.
    Sim sim(step_config(), 2);
    sim.run(60s, [&](int i) { return i == 0 ? Report{true, 1, 5000} : Report{true, 99, 100}; });
    ASSERT_TRUE(sim.last.value);
    EXPECT_NEAR(*sim.last.value, 149, 1);
    EXPECT_EQ(sim.last.rule, "low");
}

TEST(StepPolicy, WorksOnOtherMetricsToo) {
    auto c = step_config();
    c.step.metric = Metric::in_flight;
    c.step.high = 8;
    c.step.low = 2;
    Sim sim(c, 1);
    sim.run(60s, [&](int) { return Report{true, 10, 100, 12.0}; });
    EXPECT_EQ(sim.capacity, 2);
    EXPECT_NE(sim.last.reason.find("in_flight"), std::string::npos) << sim.last.reason;
}

// ---------------------------------------------------------------------------------------
// Target tracking

TEST(TargetPolicy, ScalesOutAtOnceToTheCapacityTheLoadNeeds) {
    Sim sim(target_config(Metric::rps, 20), 2);
    sim.max = 10;
    sim.run(10s, [&](int) { return rps_share(200, 2); });  // 100 req/s per server, target 20
    EXPECT_EQ(sim.capacity, 10) << sim.last.reason;
    EXPECT_EQ(sim.last.rule, "target");
    ASSERT_EQ(sim.actions.size(), 1u);  // one step, not ten
    EXPECT_EQ(sim.actions[0].at, 10s);  // after the short window
}

TEST(TargetPolicy, WithinTheToleranceNothingHappens) {
    Sim sim(target_config(Metric::rps, 20), 2);
    sim.run(600s, [&](int) { return rps_share(43, 2); });  // 21.5 per server: +7.5%, under +10%
    EXPECT_TRUE(sim.actions.empty()) << sim.last.reason;
    EXPECT_EQ(sim.last.rule, "band");
}

TEST(TargetPolicy, NewServersWarmUpBeforeTheyCountOrTheFleetShrinks) {
    Sim sim(target_config(Metric::rps, 20), 2);
    sim.max = 10;
    double load = 80;  // 40 per server: needs 4
    auto share = [&](int) { return rps_share(load, sim.capacity); };
    sim.run(10s, share);
    ASSERT_EQ(sim.capacity, 4);
    // The load halves at once: four servers stay while the new two warm up (30 s), and
    // then until the scale-in cooldown (300 s) has passed.
    load = 40;
    sim.run(25s, share);
    EXPECT_EQ(sim.capacity, 4);
    EXPECT_EQ(sim.last.rule, "warming");
    sim.run(200s, share);
    EXPECT_EQ(sim.capacity, 4);
    EXPECT_EQ(sim.last.rule, "cooldown");
}

TEST(TargetPolicy, WarmingServersAreNotCountedInTheMetric) {
    // Two warm servers at 30 req/s each and a warming one that gets nothing yet (0): the
    // metric is 30, not 20 (the warming one is left out), and the load is estimated as if
    // every server in service carried that: 90 req/s, which needs 5.
    Sim sim(target_config(Metric::rps, 20), 3);
    sim.max = 10;
    sim.since[2] = TimePoint{0};
    sim.step([&](int i) { return i == 2 ? rps_share(0, 1) : rps_share(30, 1); });
    auto d = sim.step([&](int i) { return i == 2 ? rps_share(0, 1) : rps_share(30, 1); });
    ASSERT_TRUE(d.value);
    EXPECT_NEAR(*d.value, 30, 0.01);
    EXPECT_EQ(sim.capacity, 5) << d.reason;  // the load of the warm ones, 30 x 3 in service = 90, needs 5
}

TEST(TargetPolicy, ScalesInSlowlyOneServerAtATimeOnThePeakOfTheWindow) {
    Sim sim(target_config(Metric::rps, 20), 6);
    sim.max = 10;
    double load = 40;  // needs 2
    auto share = [&](int) { return rps_share(load, sim.capacity); };
    sim.run(295s, share);
    EXPECT_EQ(sim.capacity, 6) << sim.last.reason;  // the in-window (300 s) is not full yet
    sim.run(5s, share);
    EXPECT_EQ(sim.capacity, 5) << sim.last.reason;
    EXPECT_EQ(sim.last.rule, "target");
    // And each next one only after the cooldown.
    sim.run(295s, share);
    EXPECT_EQ(sim.capacity, 5);
    sim.run(5s, share);
    EXPECT_EQ(sim.capacity, 4);
}

TEST(TargetPolicy, OneBusyMomentInTheWindowKeepsTheCapacity) {
    Sim sim(target_config(Metric::rps, 20), 4);
    int i = 0;
    // 40 req/s, with one interval at 80 every 4 minutes: the peak needs 4.
    sim.run(3600s, [&](int) { return rps_share(i++ % (48 * 4) < 4 ? 80 : 40, sim.capacity); });
    EXPECT_EQ(sim.capacity, 4) << sim.last.reason;
    EXPECT_TRUE(sim.actions.empty());
}

TEST(TargetPolicy, NoFlappingOnANoisySignal) {
    Sim sim(target_config(Metric::rps, 20), 3);
    sim.max = 10;
    std::mt19937 rng(7);
    std::normal_distribution<double> noise(55, 10);  // about 2.75 servers' worth, noisy
    sim.run(4h, [&](int) { return rps_share(std::max(0.0, noise(rng)), sim.capacity); });
    // Direction changes: out then in then out... at most a few in four hours.
    int changes = 0;
    for (std::size_t k = 1; k < sim.actions.size(); ++k)
        if ((sim.actions[k].to > sim.actions[k].from) != (sim.actions[k - 1].to > sim.actions[k - 1].from)) ++changes;
    EXPECT_LE(changes, 2) << sim.actions.size() << " actions";
    EXPECT_GE(sim.capacity, 3);
}

TEST(TargetPolicy, InFlightAndCpu) {
    Sim sim(target_config(Metric::in_flight, 4), 2);
    sim.max = 8;
    sim.run(10s, [&](int) { return Report{true, 10, 100, 10.0}; });  // 20 in flight: 5 servers
    EXPECT_EQ(sim.capacity, 5);

    Sim cpu(target_config(Metric::cpu, 50), 1);
    cpu.run(10s, [&](int) { return Report{true, 10, 100, std::nullopt, 95.0}; });
    EXPECT_EQ(cpu.capacity, 2);
}

TEST(TargetPolicy, MissingDataDoesNothing) {
    Sim sim(target_config(Metric::in_flight, 4), 2);
    sim.run(600s, [&](int) { return Report{true, 10, 100, std::nullopt}; });
    EXPECT_TRUE(sim.actions.empty());
    EXPECT_EQ(sim.last.rule, "no data");
}

TEST(TargetPolicy, ADeadServerIsLeftOut) {
    // web-1 is out of service with a huge stale in-flight count; the others are at target.
    Sim sim(target_config(Metric::in_flight, 4), 3);
    sim.run(60s, [&](int i) { return i == 0 ? Report{false, 0, 0, 500.0} : Report{true, 10, 100, 4.0}; });
    EXPECT_TRUE(sim.actions.empty()) << sim.last.reason;
}

TEST(Metrics, NamesRoundTrip) {
    for (auto m : {Metric::latency, Metric::rps, Metric::in_flight, Metric::cpu}) EXPECT_EQ(parse_metric(to_string(m)), m);
    EXPECT_FALSE(parse_metric("p99"));
}
