// The controller's rules about its servers, without processes: slots, the order of a
// scale-in, the back-off after failed starts, what a server is told of the knobs.
#include "fleet/process.hpp"
#include "fleet/servers.hpp"

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

using namespace photoshare::fleet;
using namespace std::chrono_literals;

namespace {

ServerRecord server(int slot, ServerState state, std::string haproxy = "UP") {
    ServerRecord r;
    r.slot = slot;
    r.name = "web-" + std::to_string(slot);
    r.state = state;
    r.haproxy_status = std::move(haproxy);
    return r;
}

}  // namespace

TEST(Servers, CapacityCountsStartingAndInService) {
    std::vector<ServerRecord> s{server(1, ServerState::in_service), server(2, ServerState::starting), server(3, ServerState::draining),
                                server(4, ServerState::stopping), server(5, ServerState::in_service, "DOWN")};
    EXPECT_EQ(capacity(s), 3);
    const auto n = count_states(s);
    EXPECT_EQ(n.in_service, 1);  // web-5 is in service but fails its checks
    EXPECT_EQ(n.starting, 1);
    EXPECT_EQ(n.draining, 2);
    EXPECT_EQ(capacity({}), 0);
}

TEST(Servers, ANewServerTakesTheLowestFreeSlot) {
    std::vector<ServerRecord> s{server(1, ServerState::in_service), server(3, ServerState::stopping)};
    EXPECT_EQ(free_slot(s, 4), 2);
    s.push_back(server(2, ServerState::starting));
    EXPECT_EQ(free_slot(s, 4), 4);
    s.push_back(server(4, ServerState::starting));
    EXPECT_EQ(free_slot(s, 4), std::nullopt);  // a stopping server still holds its slot
}

TEST(Servers, ScaleInTakesStartingServersFirstThenTheHighestSlot) {
    std::vector<ServerRecord> s{server(1, ServerState::in_service), server(2, ServerState::starting), server(3, ServerState::in_service),
                                server(4, ServerState::draining), server(5, ServerState::starting)};
    EXPECT_EQ(scale_in_order(s), (std::vector<std::size_t>{4, 1, 2, 0}));  // web-5, web-2, web-3, web-1; never the draining web-4
}

TEST(Servers, FailedStartsBackOffUpToThirtySeconds) {
    EXPECT_EQ(start_backoff(1), 1s);
    EXPECT_EQ(start_backoff(2), 2s);
    EXPECT_EQ(start_backoff(5), 16s);
    EXPECT_EQ(start_backoff(6), 30s);
    EXPECT_EQ(start_backoff(40), 30s);
}

TEST(Servers, Knobs) {
    Knobs k;
    EXPECT_TRUE(knobs_json(k).empty());
    EXPECT_TRUE(knob_arguments(k).empty());
    k.latency_ms = 1200;
    k.slots = 4;
    EXPECT_EQ(boost::json::serialize(knobs_json(k)), R"({"latency_ms":1200,"slots":4})");
    EXPECT_EQ(knob_arguments(k), (std::vector<std::string>{"--set", "knobs.latency_ms=1200", "--set", "knobs.slots=4"}));
    EXPECT_EQ(k.describe(), "latency_ms=1200 slots=4");
}

TEST(Servers, AddressesAndCpu) {
    EXPECT_EQ(host_and_port("127.0.0.1:9011"), (std::pair<std::string, std::string>{"127.0.0.1", "9011"}));
    EXPECT_EQ(cpu_percent(std::chrono::microseconds(1'500'000), std::chrono::microseconds(1'000'000), 1000ms), 50.0);
    EXPECT_EQ(cpu_percent(std::nullopt, std::chrono::microseconds(1), 1000ms), std::nullopt);
    EXPECT_EQ(cpu_percent(std::chrono::microseconds(1), std::nullopt, 1000ms), std::nullopt);
}

TEST(Servers, AChildsEnvironmentReplacesWhatTheFleetSets) {
    std::string a = "PATH=/bin", b = "PHOTOSHARE_ADMIN_TOKEN=old", c = "HOME=/root";
    char* environment[] = {a.data(), b.data(), c.data(), nullptr};
    EXPECT_EQ(child_environment(environment, {{"PHOTOSHARE_ADMIN_TOKEN", "new"}}),
              (std::vector<std::string>{"PATH=/bin", "HOME=/root", "PHOTOSHARE_ADMIN_TOKEN=new"}));
    EXPECT_EQ(child_environment(environment, {}).size(), 3u);
}
