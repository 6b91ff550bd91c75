#include "auth/rate_limit.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

namespace photoshare::auth {
namespace {

using namespace testing;

class LoginLimiterTest : public ::testing::Test {
protected:
    LoginLimiter make_limiter(kv::Store& s, LoginPolicy p = {}) { return LoginLimiter(s, p, time.wall_clock()); }
    static void fail_times(LoginLimiter& l, int n, std::string_view address, std::string_view user) {
        for (int i = 0; i < n; ++i) l.record_failure(address, user);
    }

    FakeTime time;
    std::unique_ptr<kv::Store> store = time.store();
    LoginLimiter limiter = make_limiter(*store);
};

TEST_F(LoginLimiterTest, AfterFiveFailuresFromOneAddressEachTryWaitsLongerThanTheLast) {
    fail_times(limiter, 4, "10.0.0.1", "alice");
    EXPECT_EQ(limiter.blocked("10.0.0.1", "alice"), std::nullopt) << "four failures cost nothing";
    seconds waited{0};
    for (seconds expected : {1s, 2s, 4s, 8s, 16s}) {
        limiter.record_failure("10.0.0.1", "alice");
        EXPECT_EQ(limiter.blocked("10.0.0.1", "alice"), expected);
        time.elapsed += expected;
        waited += expected;
    }
    EXPECT_EQ(limiter.blocked("10.0.0.1", "alice"), std::nullopt);
    // Nine guesses in 31 s, and the waits keep doubling up to the lockout (15 min).
    EXPECT_EQ(waited, 31s);
    fail_times(limiter, 10, "10.0.0.1", "alice");
    EXPECT_EQ(limiter.blocked("10.0.0.1", "alice"), 900s);
}

TEST_F(LoginLimiterTest, AGuesserElsewhereDoesNotMakeTheOwnerWait) {
    // The attack of the old hard lock: five wrong passwords locked alice out everywhere.
    fail_times(limiter, 12, "203.0.113.9", "alice");
    ASSERT_TRUE(limiter.blocked("203.0.113.9", "alice"));
    EXPECT_EQ(limiter.blocked("10.0.0.1", "alice"), std::nullopt) << "alice at home is not locked out";
    EXPECT_EQ(limiter.blocked("203.0.113.9", "bob"), std::nullopt) << "the guesser's address is not yet over its own limit";
}

TEST_F(LoginLimiterTest, GuessesSpreadOverManyAddressesHitTheUsernameCeilingButNotKnownAddresses) {
    limiter.record_success("10.0.0.1", "alice");  // alice's home address is now known
    for (int i = 0; i < 99; ++i) limiter.record_failure("198.51.100." + std::to_string(i), "alice");
    EXPECT_EQ(limiter.blocked("192.0.2.1", "alice"), std::nullopt) << "99 failures are under the ceiling";
    limiter.record_failure("198.51.100.99", "alice");
    EXPECT_EQ(limiter.blocked("192.0.2.1", "alice"), 1s) << "over the ceiling: a new address waits";
    EXPECT_EQ(limiter.blocked("10.0.0.1", "ALICE"), std::nullopt) << "alice's known address does not";
    EXPECT_EQ(limiter.blocked("192.0.2.1", "bob"), std::nullopt) << "other users do not";
}

TEST_F(LoginLimiterTest, AnAddressGuessingManyUsernamesWaitsExceptForItsKnownUsers) {
    limiter.record_success("10.0.0.1", "carol");  // carol logs in from this office
    for (int i = 0; i < 19; ++i) limiter.record_failure("10.0.0.1", "user" + std::to_string(i));
    EXPECT_EQ(limiter.blocked("10.0.0.1", "someone"), std::nullopt);
    // A success on the attacker's own account must not reset the address count.
    limiter.record_success("10.0.0.1", "mallory");
    limiter.record_failure("10.0.0.1", "user19");
    EXPECT_EQ(limiter.blocked("10.0.0.1", "someone"), 1s);
    EXPECT_EQ(limiter.blocked("10.0.0.2", "someone"), std::nullopt);
    EXPECT_EQ(limiter.blocked("10.0.0.1", "carol"), std::nullopt) << "a colleague behind the same NAT still gets in";
}

TEST_F(LoginLimiterTest, AKnownAddressIsForgottenAfterRememberAddress) {
    LoginLimiter l = make_limiter(*store, {.max_failures_per_user_total = 1, .remember_address = 3600s});
    l.record_success("10.0.0.1", "alice");
    l.record_failure("203.0.113.1", "alice");
    l.record_failure("203.0.113.2", "alice");
    EXPECT_EQ(l.blocked("10.0.0.1", "alice"), std::nullopt);
    time.elapsed = 3600s;  // the failures' window has ended too: two fresh ones
    l.record_failure("203.0.113.3", "alice");
    l.record_failure("203.0.113.4", "alice");
    EXPECT_TRUE(l.blocked("10.0.0.1", "alice")) << "no longer known";
}

TEST_F(LoginLimiterTest, UsernamesAreCaseFolded) {
    for (auto name : {"Alice", "ALICE", "alice", "aLiCe", "alicE"}) limiter.record_failure("10.0.0.1", name);
    EXPECT_EQ(limiter.blocked("10.0.0.1", "alice"), 1s);
}

TEST_F(LoginLimiterTest, SuccessClearsThePairsFailures) {
    fail_times(limiter, 4, "10.0.0.1", "alice");
    limiter.record_success("10.0.0.1", "Alice");
    fail_times(limiter, 4, "10.0.0.1", "alice");
    EXPECT_EQ(limiter.blocked("10.0.0.1", "alice"), std::nullopt);
}

TEST_F(LoginLimiterTest, BlockedReportsTheLongestWait) {
    LoginLimiter l = make_limiter(*store, {.max_failures_per_user = 1, .max_failures_per_address = 1, .first_delay = 10s, .lockout = 100s});
    l.record_failure("10.0.0.1", "bob");    // address: 1, waits 10 s
    l.record_failure("10.0.0.1", "alice");  // pair: 1, waits 10 s; address: 2, waits 20 s
    EXPECT_EQ(l.blocked("10.0.0.1", "alice"), 20s);
    EXPECT_EQ(l.blocked("10.0.0.1", "bob"), 20s);
    EXPECT_EQ(l.blocked("10.0.0.2", "alice"), std::nullopt);
}

TEST_F(LoginLimiterTest, ServersSharingAStoreShareTheCounts) {
    LoginLimiter other_server = make_limiter(*store);
    fail_times(limiter, 3, "10.0.0.1", "alice");
    fail_times(other_server, 3, "10.0.0.1", "alice");
    EXPECT_TRUE(limiter.blocked("10.0.0.1", "alice").has_value());
    EXPECT_TRUE(other_server.blocked("10.0.0.1", "alice").has_value());
}

TEST_F(LoginLimiterTest, RequestInputCannotShapeTheKeys) {
    RecordingStore recording(*store);
    LoginLimiter l = make_limiter(recording);
    const std::string nasty = "alice\r\nset x 0 0 1:throttle:v1:login-pair:wait: " + std::string(300, 'x');
    fail_times(l, 7, nasty, nasty);
    (void)l.blocked(nasty, nasty);
    l.record_success(nasty, nasty);
    (void)l.blocked(nasty, nasty);
    // count and wait for the pair, the address and the username, and the known pair
    ASSERT_EQ(recording.keys.size(), 7u);
    for (const auto& key : recording.keys) EXPECT_TRUE(has_throttle_key_shape(key)) << key;
}

TEST_F(LoginLimiterTest, RejectsPoliciesThatCannotWork) {
    EXPECT_THROW(make_limiter(*store, {.max_failures_per_user = 0}), std::invalid_argument);
    EXPECT_THROW(make_limiter(*store, {.max_failures_per_address = 0}), std::invalid_argument);
    EXPECT_THROW(make_limiter(*store, {.max_failures_per_user_total = 0}), std::invalid_argument);
    EXPECT_THROW(make_limiter(*store, {.window = 0s}), std::invalid_argument);
    EXPECT_THROW(make_limiter(*store, {.first_delay = 0s}), std::invalid_argument);
    EXPECT_THROW(make_limiter(*store, {.first_delay = 60s, .lockout = 30s}), std::invalid_argument);
    EXPECT_THROW(make_limiter(*store, {.remember_address = 0s}), std::invalid_argument);
}

}  // namespace
}  // namespace photoshare::auth
