#include "config/config.hpp"
#include "fleet/fleet_config.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace photoshare::fleet;
using namespace std::chrono_literals;

namespace {

std::string error_of(const std::string& toml) {
    try {
        parse_fleet_config(toml, "/srv/fleet");
    } catch (const photoshare::config::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(FleetConfig, DefaultsAreTheSeedsPolicy) {
    auto c = parse_fleet_config("", "/srv/fleet");
    EXPECT_EQ(c.state_dir, "/srv/fleet/fleet-data");
    EXPECT_EQ(c.servers.min, 1);
    EXPECT_EQ(c.servers.max, 4);
    EXPECT_EQ(c.servers.initial, 1);
    EXPECT_EQ(c.slot_count(), 6);
    EXPECT_EQ(c.policy.kind, PolicyConfig::Kind::step);
    EXPECT_EQ(c.policy.step.high, 1000);
    EXPECT_EQ(c.policy.step.low, 500);
    EXPECT_EQ(c.policy.step.period, 60s);
    EXPECT_EQ(c.policy.step.cooldown, 300s);
}

TEST(FleetConfig, ReadsEverything) {
    auto c = parse_fleet_config(R"(
state_dir = "/var/lib/fleet"
[servers]
min = 2
max = 6
initial = 3
config = "photoshare.toml"
base_port = 9100
start_timeout = "20s"
drain_timeout = 15
unhealthy_after = "5s"
[servers.settings]
"server.shutdown_delay" = "2s"
knobs = { slots = 16 }
[servers.settings.database]
url = "sqlite:///srv/shared.db"
[haproxy]
listen = "0.0.0.0:80"
[dashboard]
listen = "127.0.0.1:9999"
history = "1h"
[policy]
kind = "target"
interval = "2s"
[policy.target]
metric = "in_flight"
target = 8
warmup = "45s"
in_window = "10m"
)", "/srv/fleet");
    EXPECT_EQ(c.servers.config, "/srv/fleet/photoshare.toml");
    EXPECT_EQ(c.servers.start_timeout, 20s);
    EXPECT_EQ(c.servers.drain_timeout, 15s);
    EXPECT_EQ(c.policy.kind, PolicyConfig::Kind::target);
    EXPECT_EQ(c.policy.target.metric, Metric::in_flight);
    EXPECT_EQ(c.policy.target.target, 8);
    EXPECT_EQ(c.policy.target.in_window, 600s);
    EXPECT_EQ(c.dashboard.history, 3600s);
    std::vector<std::pair<std::string, std::string>> want{
        {"database.url", "sqlite:///srv/shared.db"}, {"knobs.slots", "16"}, {"server.shutdown_delay", "2s"}};
    auto got = c.servers.settings;
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, want);
}

TEST(FleetConfig, ErrorsNameTheKey) {
    EXPECT_NE(error_of("[servers]\nmin = 3\nmax = 2\n").find("servers.min"), std::string::npos);
    EXPECT_NE(error_of("[servers]\nmaxx = 2\n").find("unknown key 'servers.maxx'"), std::string::npos);
    EXPECT_NE(error_of("[policy.step]\nhigh = 100\nlow = 500\n").find("policy.step.low"), std::string::npos);
    EXPECT_NE(error_of("[policy.step]\nperiod = \"soon\"\n").find("policy.step.period"), std::string::npos);
    EXPECT_NE(error_of("[policy]\nkind = \"magic\"\n").find("policy.kind"), std::string::npos);
    EXPECT_NE(error_of("[haproxy]\nlisten = \"nowhere\"\n").find("haproxy.listen"), std::string::npos);
    // Latency is not proportional to load: target tracking refuses it, and says why.
    auto latency = error_of("[policy.target]\nmetric = \"latency\"\n");
    EXPECT_NE(latency.find("not proportional to load"), std::string::npos) << latency;
    EXPECT_NE(error_of("[servers]\nmax = 3\ninitial = 5\n").find("servers.initial"), std::string::npos);
    EXPECT_NE(error_of("[servers]\nhost = \"localhost\"\n").find("servers.host"), std::string::npos);
    EXPECT_NE(error_of("this is = not toml =").find("fleet configuration"), std::string::npos);
}

TEST(FleetConfig, DescribesItsPolicy) {
    auto c = parse_fleet_config("", "/srv");
    auto d = describe_policy(c.policy);
    EXPECT_NE(d.find("> 1000 ms for 60s -> +1"), std::string::npos) << d;
    EXPECT_NE(d.find("cooldown 300s"), std::string::npos) << d;
}
