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
    Throttle throttle = make(*store, {.free = 3, .window = 600s, .first_delay = 2s, .max_delay = 20s});
};

TEST_F(ThrottleTest, TheFreeEventsPassThenEachWaitDoublesUpToTheMaximum) {
    for (int i = 0; i < 2; ++i) {
        throttle.record("k");
        EXPECT_EQ(throttle.waiting("k"), std::nullopt) << "event " << i + 1 << " is free";
    }
    // From the third on: 2, 4, 8, 16, then 20 (the cap) each time.
    for (seconds expected : {2s, 4s, 8s, 16s, 20s, 20s, 20s}) {
        throttle.record("k");
        EXPECT_EQ(throttle.waiting("k"), expected);
        time.elapsed += expected - 1s;
        EXPECT_EQ(throttle.waiting("k"), 1s);
        time.elapsed += 1s;  // the wait key's TTL ends the wait; nobody lifts it
        EXPECT_EQ(throttle.waiting("k"), std::nullopt);
    }
    EXPECT_EQ(throttle.waiting("other"), std::nullopt) << "keys are counted apart";
}

TEST_F(ThrottleTest, ALongRunOfEventsDoesNotOverflowTheDelay) {
    Throttle t = make(*store, {.free = 1, .window = 3600s, .first_delay = 1s, .max_delay = 900s});
    for (int i = 0; i < 200; ++i) t.record("k");
    EXPECT_EQ(t.waiting("k"), 900s);
}

TEST_F(ThrottleTest, EventsOutsideTheWindowAreForgotten) {
    for (int i = 0; i < 2; ++i) throttle.record("k");
    time.elapsed = 600s;  // the window from the first event is over
    for (int i = 0; i < 2; ++i) throttle.record("k");
    EXPECT_EQ(throttle.waiting("k"), std::nullopt);
    throttle.record("k");
    EXPECT_EQ(throttle.waiting("k"), 2s);
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
    EXPECT_EQ(throttle.waiting("k"), 2s);
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
        if (key.find(":wait:") != std::string::npos) store->set(key, "garbage", 60s);
    EXPECT_EQ(t.waiting("k"), 20s) << "present but unreadable: the longest wait";
}

TEST_F(ThrottleTest, RejectsPoliciesThatCannotWork) {
    EXPECT_THROW(make(*store, {.free = 0}), std::invalid_argument);
    EXPECT_THROW(make(*store, {.window = 0s}), std::invalid_argument);
    EXPECT_THROW(make(*store, {.first_delay = 0s}), std::invalid_argument);
    EXPECT_THROW(make(*store, {.first_delay = 10s, .max_delay = 5s}), std::invalid_argument);
}

}  // namespace
}  // namespace photoshare::auth
