#include "auth/rate_limit.hpp"

#include <gtest/gtest.h>

#include <set>

namespace photoshare::auth {
namespace {

using namespace std::chrono_literals;
using std::chrono::seconds;

// login:v1:(fail|lock):(user|addr):<64 hex digits>. Checked by hand: <regex> trips a
// false -Wmaybe-uninitialized in GCC 12 under the sanitizer build.
bool has_limiter_key_shape(const std::string& key) {
    constexpr std::string_view prefixes[] = {"login:v1:fail:user:", "login:v1:fail:addr:",
                                             "login:v1:lock:user:", "login:v1:lock:addr:"};
    for (std::string_view p : prefixes) {
        if (key.starts_with(p)) {
            const std::string_view rest = std::string_view(key).substr(p.size());
            return rest.size() == 64 &&
                   rest.find_first_not_of("0123456789abcdef") == std::string_view::npos;
        }
    }
    return false;
}

// Records every key the limiter uses, to check what a request can make of them.
class RecordingStore final : public kv::Store {
public:
    explicit RecordingStore(kv::Store& inner) : inner_(inner) {}
    std::optional<std::string> get(std::string_view k) override { return inner_.get(note(k)); }
    void set(std::string_view k, std::string_view v, seconds ttl) override {
        inner_.set(note(k), v, ttl);
    }
    bool add(std::string_view k, std::string_view v, seconds ttl) override {
        return inner_.add(note(k), v, ttl);
    }
    void erase(std::string_view k) override { inner_.erase(note(k)); }
    std::int64_t incr(std::string_view k, std::int64_t d, seconds ttl) override {
        return inner_.incr(note(k), d, ttl);
    }
    void check() override {}
    std::string describe() const override { return "recording"; }
    std::set<std::string> keys;

private:
    std::string_view note(std::string_view k) {
        keys.emplace(k);
        return k;
    }
    kv::Store& inner_;
};

// One fake "now" drives both the store's expiry and the limiter's wall clock, as on a real
// server where both follow the same time.
class LoginLimiterTest : public ::testing::Test {
protected:
    std::unique_ptr<kv::Store> make_store() {
        return kv::open_memory({.max_entries = 10'000, .clock = [this] {
                                    return std::chrono::steady_clock::time_point{} + 1h + elapsed;
                                }});
    }
    LoginLimiter make_limiter(kv::Store& s, LoginPolicy p = {}) {
        return LoginLimiter(s, p, [this] {
            return std::chrono::system_clock::time_point{} + seconds(1'700'000'000) + elapsed;
        });
    }
    void fail_times(LoginLimiter& l, int n, std::string_view address, std::string_view user) {
        for (int i = 0; i < n; ++i) {
            l.record_failure(address, user);
        }
    }

    seconds elapsed{0};
    std::unique_ptr<kv::Store> store = make_store();
    LoginLimiter limiter = make_limiter(*store);
};

TEST_F(LoginLimiterTest, LocksAUserAfterFiveFailuresForTheLockoutTime) {
    EXPECT_EQ(limiter.blocked("10.0.0.1", "alice"), std::nullopt);
    fail_times(limiter, 4, "10.0.0.1", "alice");
    EXPECT_EQ(limiter.blocked("10.0.0.1", "alice"), std::nullopt);
    limiter.record_failure("10.0.0.1", "alice");
    EXPECT_EQ(limiter.blocked("10.0.0.1", "alice"), seconds(900));
    // The user is locked from any address; other users from the same address are not.
    EXPECT_EQ(limiter.blocked("192.0.2.7", "alice"), seconds(900));
    EXPECT_EQ(limiter.blocked("10.0.0.1", "bob"), std::nullopt);

    elapsed = 300s;
    EXPECT_EQ(limiter.blocked("10.0.0.1", "alice"), seconds(600));
    elapsed = 899s;
    EXPECT_EQ(limiter.blocked("10.0.0.1", "alice"), seconds(1));
    elapsed = 900s;  // the lock key's TTL ends the lock; nobody lifts it
    EXPECT_EQ(limiter.blocked("10.0.0.1", "alice"), std::nullopt);
}

TEST_F(LoginLimiterTest, AfterALockEndsTheCountStartsAfresh) {
    fail_times(limiter, 5, "10.0.0.1", "alice");
    elapsed = 900s;
    limiter.record_failure("10.0.0.1", "alice");
    EXPECT_EQ(limiter.blocked("10.0.0.1", "alice"), std::nullopt);
}

TEST_F(LoginLimiterTest, UsernamesAreCaseFolded) {
    limiter.record_failure("10.0.0.1", "Alice");
    limiter.record_failure("10.0.0.2", "ALICE");
    limiter.record_failure("10.0.0.3", "alice");
    limiter.record_failure("10.0.0.4", "aLiCe");
    limiter.record_failure("10.0.0.5", "alicE");
    EXPECT_TRUE(limiter.blocked("10.0.0.9", "ALICE").has_value());
}

TEST_F(LoginLimiterTest, FailuresOutsideTheWindowAreForgotten) {
    fail_times(limiter, 4, "10.0.0.1", "alice");
    elapsed = 900s;  // window (15 min) from the first failure is over
    fail_times(limiter, 4, "10.0.0.1", "alice");
    EXPECT_EQ(limiter.blocked("10.0.0.1", "alice"), std::nullopt);
    limiter.record_failure("10.0.0.1", "alice");
    EXPECT_TRUE(limiter.blocked("10.0.0.1", "alice").has_value());
}

TEST_F(LoginLimiterTest, SuccessClearsTheUsersFailures) {
    fail_times(limiter, 4, "10.0.0.1", "alice");
    limiter.record_success("10.0.0.1", "Alice");
    fail_times(limiter, 4, "10.0.0.1", "alice");
    EXPECT_EQ(limiter.blocked("10.0.0.1", "alice"), std::nullopt);
}

TEST_F(LoginLimiterTest, LocksAnAddressThatGuessesManyUsernames) {
    for (int i = 0; i < 19; ++i) {
        limiter.record_failure("10.0.0.1", "user" + std::to_string(i));
    }
    EXPECT_EQ(limiter.blocked("10.0.0.1", "someone"), std::nullopt);
    // A success on the attacker's own account must not reset the address count.
    limiter.record_success("10.0.0.1", "mallory");
    limiter.record_failure("10.0.0.1", "user19");
    EXPECT_EQ(limiter.blocked("10.0.0.1", "someone"), seconds(900));
    EXPECT_EQ(limiter.blocked("10.0.0.2", "someone"), std::nullopt);
}

TEST_F(LoginLimiterTest, BlockedReportsTheLongerOfTwoLocks) {
    LoginLimiter l = make_limiter(*store, {.max_failures_per_user = 1,
                                           .max_failures_per_address = 2,
                                           .window = 60s,
                                           .lockout = 100s});
    l.record_failure("10.0.0.1", "alice");  // alice locked until t=100
    elapsed = 30s;
    l.record_failure("10.0.0.1", "bob");    // address locked until t=130
    EXPECT_EQ(l.blocked("10.0.0.1", "alice"), seconds(100));
    EXPECT_EQ(l.blocked("10.0.0.2", "alice"), seconds(70));
}

TEST_F(LoginLimiterTest, ServersSharingAStoreShareTheCounts) {
    LoginLimiter other_server = make_limiter(*store);
    fail_times(limiter, 3, "10.0.0.1", "alice");
    fail_times(other_server, 2, "10.0.0.1", "alice");
    EXPECT_TRUE(limiter.blocked("10.0.0.1", "alice").has_value());
    EXPECT_TRUE(other_server.blocked("10.0.0.1", "alice").has_value());
}

TEST_F(LoginLimiterTest, RequestInputCannotShapeTheKeys) {
    RecordingStore recording(*store);
    LoginLimiter l = make_limiter(recording);
    const std::string nasty = "alice\r\nset x 0 0 1:login:v1:lock:user: " + std::string(300, 'x');
    fail_times(l, 5, nasty, nasty);
    l.record_success(nasty, nasty);
    (void)l.blocked(nasty, nasty);
    ASSERT_EQ(recording.keys.size(), 4u);  // fail and lock, for user and address
    for (const auto& key : recording.keys) {
        EXPECT_TRUE(has_limiter_key_shape(key)) << key;
    }
}

TEST_F(LoginLimiterTest, UnreadableLockValueStillLocks) {
    // Only the lock key's existence matters for locking; its value only for Retry-After.
    RecordingStore recording(*store);
    LoginLimiter l = make_limiter(recording);
    fail_times(l, 5, "10.0.0.1", "alice");
    for (const auto& key : recording.keys) {
        if (key.find(":lock:user:") != std::string::npos) {
            store->set(key, "garbage", 60s);
        }
    }
    EXPECT_EQ(l.blocked("10.0.0.1", "alice"), seconds(900));
}

TEST_F(LoginLimiterTest, RejectsPoliciesThatCannotWork) {
    EXPECT_THROW(make_limiter(*store, {.max_failures_per_user = 0}), std::invalid_argument);
    EXPECT_THROW(make_limiter(*store, {.max_failures_per_address = 0}), std::invalid_argument);
    EXPECT_THROW(make_limiter(*store, {.window = 0s}), std::invalid_argument);
    EXPECT_THROW(make_limiter(*store, {.lockout = 0s}), std::invalid_argument);
}

}  // namespace
}  // namespace photoshare::auth
