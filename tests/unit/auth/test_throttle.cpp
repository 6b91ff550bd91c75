#include "auth/throttle.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

namespace photoshare::auth {
namespace {

using namespace testing;

class ThrottleTest : public ::testing::Test {
protected:
    Throttle make(kv::Store& s, ThrottlePolicy p) { return Throttle(s, "test", p, time.wall_clock()); }
    FakeTime time;
    std::unique_ptr<kv::Store> store = time.store();
    Throttle throttle = make(*store, {.free = 3, .window = seconds(600), .first_delay = seconds(2), .max_delay = seconds(20)});
};

TEST_F(ThrottleTest, TheFreeEventsPassThenEachWaitDoublesUpToTheMaximum) {
    for (int i = 0; i < 2; ++i) {
        throttle.record("k");
        EXPECT_EQ(throttle.waiting("k"), std::nullopt) << "event " << i + 1 << " is free";
    }
    // From the third on: 2, 4, 8, 16, then 20 (the cap) each time.
    for (seconds expected : {seconds(2), seconds(4), seconds(8), seconds(16), seconds(20), seconds(20), seconds(20)}) {
        throttle.record("k");
        EXPECT_EQ(throttle.waiting("k"), expected);
        time.elapsed += expected - seconds(1);
        EXPECT_EQ(throttle.waiting("k"), seconds(1));
        time.elapsed += seconds(1);  // the wait key's TTL ends the wait; nobody lifts it
        EXPECT_EQ(throttle.waiting("k"), std::nullopt);
    }
    EXPECT_EQ(throttle.waiting("other"), std::nullopt) << "keys are counted apart";
}

TEST_F(ThrottleTest, ALongRunOfEventsDoesNotOverflowTheDelay) {
    Throttle t = make(*store, {.free = 1, .window = seconds(3600), .first_delay = seconds(1), .max_delay = seconds(900)});
    for (int i = 0; i < 200; ++i) t.record("k");
    EXPECT_EQ(t.waiting("k"), seconds(900));
}

TEST_F(ThrottleTest, EventsOutsideTheWindowAreForgotten) {
    for (int i = 0; i < 2; ++i) throttle.record("k");
    time.elapsed = seconds(600);  // the window from the first event is over
    for (int i = 0; i < 2; ++i) throttle.record("k");
    EXPECT_EQ(throttle.waiting("k"), std::nullopt);
    throttle.record("k");
    EXPECT_EQ(throttle.waiting("k"), seconds(2));
}

TEST_F(ThrottleTest, ClearForgetsTheCountAndTheWait) {
    for (int i = 0; i < 5; ++i) throttle.record("k");
    ASSERT_TRUE(throttle.waiting("k"));
    throttle.clear("k");
    EXPECT_EQ(throttle.waiting("k"), std::nullopt);
    for (int i = 0; i < 2; ++i) throttle.record("k");
    EXPECT_EQ(throttle.waiting("k"), std::nullopt);
}

TEST_F(ThrottleTest, ThrottlesSharingAStoreShareTheCountsButNotAcrossNames) {
    Throttle other_server = make(*store, throttle.policy());
    Throttle other_name(*store, "other", throttle.policy(), time.wall_clock());
    throttle.record("k");
    throttle.record("k");
    other_server.record("k");
    EXPECT_EQ(throttle.waiting("k"), seconds(2));
    EXPECT_EQ(other_name.waiting("k"), std::nullopt);
}

TEST_F(ThrottleTest, RequestInputCannotShapeTheKeys) {
    RecordingStore recording(*store);
    Throttle t = make(recording, throttle.policy());
    const std::string nasty = "alice\r\nset x 0 0 1:throttle:v1:test:wait: " + std::string(300, 'x');
    for (int i = 0; i < 5; ++i) t.record(nasty);
    (void)t.waiting(nasty);
    t.clear(nasty);
    ASSERT_EQ(recording.keys.size(), 2u);  // the count and the wait
    for (const auto& key : recording.keys) EXPECT_TRUE(has_throttle_key_shape(key)) << key;
}

TEST_F(ThrottleTest, AnUnreadableWaitStillWaits) {
    RecordingStore recording(*store);
    Throttle t = make(recording, throttle.policy());
    for (int i = 0; i < 4; ++i) t.record("k");
    for (const auto& key : recording.keys)
        if (key.find(":wait:") != std::string::npos) store->set(key, "garbage", seconds(60));
    EXPECT_EQ(t.waiting("k"), seconds(20)) << "present but unreadable: the longest wait";
}

TEST_F(ThrottleTest, RejectsPoliciesThatCannotWork) {
    EXPECT_THROW(make(*store, {.free = 0}), std::invalid_argument);
    EXPECT_THROW(make(*store, {.window = seconds(0)}), std::invalid_argument);
    EXPECT_THROW(make(*store, {.first_delay = seconds(0)}), std::invalid_argument);
    EXPECT_THROW(make(*store, {.first_delay = seconds(10), .max_delay = seconds(5)}), std::invalid_argument);
}

}  // namespace
}  // namespace photoshare::auth
