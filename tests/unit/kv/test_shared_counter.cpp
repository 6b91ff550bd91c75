// kv::SharedCounter on memory://, three real memcached servers and a real Redis: the values it
// promises (from the clock, only growing, above any lost value), the staleness bound between
// two processes (two stores stand for two servers), Redis's push, and a store that stops
// answering and comes back.
#include <gtest/gtest.h>

#include <thread>

#include "kv/kv.hpp"
#include "kv/shared_counter.hpp"
#include "services.hpp"

namespace photoshare::kv {
namespace {

using namespace std::chrono_literals;
using State = SharedCounter::State;
using testing::Service;

const std::chrono::milliseconds kBound{100};  // the staleness bound of most tests here

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Waits until pred() or the limit; returns how long it took, or -1 s at the limit.
template <class Pred>
double seconds_until(Pred pred, std::chrono::milliseconds limit = 3000ms) {
    const auto start = std::chrono::steady_clock::now();
    while (!pred()) {
        if (std::chrono::steady_clock::now() - start > limit) return -1;
        std::this_thread::sleep_for(1ms);
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

class SharedCounterOn : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        try {
            url = testing::url_for(GetParam());
        } catch (const std::exception& e) {
            FAIL() << "cannot start " << GetParam() << ": " << e.what();
        }
        store = open(url);
        key = testing::unique_prefix() + "counter";
    }
    bool networked() const { return GetParam() != "memory"; }
    std::string url, key;
    std::unique_ptr<Store> store;
};

TEST_P(SharedCounterOn, StartsFromTheClockAndGrowsByOne) {
    const auto before = now_us();
    SharedCounter c(*store, key, kBound);
    const auto first = c.read();
    EXPECT_GE(first, before);
    EXPECT_LE(first, now_us());
    EXPECT_EQ(c.bump(), first + 1);
    EXPECT_EQ(c.bump(), first + 2);
    EXPECT_EQ(c.read(), first + 2);
    const auto near = c.near();
    EXPECT_EQ(near.state, State::fresh);
    EXPECT_EQ(near.value, first + 2);
}

TEST_P(SharedCounterOn, AVanishedCounterStartsAgainAboveItsOldValue) {
    SharedCounter c(*store, key, kBound);
    const auto old = c.bump();
    store->erase(key);  // a cache server restarted, or evicted it
    const auto again = c.read();
    EXPECT_GT(again, old);
    store->erase(key);
    EXPECT_GT(c.bump(), again) << "an incr of a missing key starts from 1: that must not be taken for a value";
    store->set(key, "not a number", 0s);
    EXPECT_GT(c.read(), again);
}

TEST_P(SharedCounterOn, ZeroStalenessKeepsNoCopy) {
    if (!networked()) GTEST_SKIP() << "in process the copy is the counter";
    SharedCounter c(*store, key, std::chrono::milliseconds(0));
    c.read();
    EXPECT_EQ(c.near().state, State::unknown);
}

// Two stores opened on one URL stand for two servers.
TEST_P(SharedCounterOn, ABumpOnOneServerReachesTheOtherWithinTheBound) {
    if (!networked()) GTEST_SKIP() << "memory:// is one process's";
    auto other_store = open(url);
    SharedCounter a(*store, key, kBound);
    SharedCounter b(*other_store, key, kBound);
    ASSERT_GE(seconds_until([&] { return b.near().state == State::fresh; }), 0) << "b never confirmed its copy";
    double worst = 0;
    for (int i = 0; i < 10; ++i) {
        const auto v = a.bump();
        const double took = seconds_until([&] { return b.near().value >= v; });
        ASSERT_GE(took, 0) << "bump " << i << " never reached b";
        worst = std::max(worst, took);
        EXPECT_EQ(b.near().state, State::fresh);
    }
    // 100 ms is the promise; the rest is room for a loaded machine.
    EXPECT_LT(worst, 0.4);
    std::cerr << "[shared counter] " << GetParam() << ": worst of 10 bumps reached the other copy in " << worst * 1000 << " ms\n";
}

// With a bound of 10 s only a push can bring a change within a second: Redis pushes,
// memcached cannot (and then the copy really is not re-read).
TEST_P(SharedCounterOn, OnlyAStoreThatPushesDeliversAChangeBeforeThePoll) {
    if (!networked()) GTEST_SKIP() << "memory:// is one process's";
    auto other_store = open(url);
    SharedCounter a(*store, key, std::chrono::seconds(10));
    SharedCounter b(*other_store, key, std::chrono::seconds(10));
    ASSERT_GE(seconds_until([&] { return b.near().state == State::fresh; }), 0);
    const auto before = b.near().value;
    std::this_thread::sleep_for(100ms);  // the subscription is made by then
    const auto v = a.bump();
    const double took = seconds_until([&] { return b.near().value >= v; }, 1000ms);
    if (GetParam() == "redis") {
        EXPECT_TRUE(b.pushed());
        EXPECT_GE(took, 0) << "the push never arrived";
        EXPECT_GE(b.stats().pushes, 1u);
    } else {
        EXPECT_FALSE(b.pushed());
        EXPECT_LT(took, 0) << "memcached cannot push, so only a poll could have brought it";
        EXPECT_EQ(b.near().value, before);
        EXPECT_EQ(b.read(), v);
    }
}

INSTANTIATE_TEST_SUITE_P(Stores, SharedCounterOn, ::testing::Values("memory", "memcached", "redis"));

// A store of our own that can be frozen (SIGSTOP: calls time out) and thawed with its data.
class SharedCounterFailure : public ::testing::TestWithParam<std::string> {};

TEST_P(SharedCounterFailure, AHungStoreIsDownThenFreshAgainAndAMissedBumpIsMade) {
    Service server(GetParam());
    std::string url;
    try {
        url = server.start();
    } catch (const std::exception& e) {
        FAIL() << e.what();
    }
    auto store = open(url + (url.find('?') == std::string::npos ? "?" : "&") + "retry_ms=100");
    const std::string key = testing::unique_prefix() + "counter";
    SharedCounter c(*store, key, kBound);
    ASSERT_GE(seconds_until([&] { return c.near().state == State::fresh; }), 0);
    const auto v = c.read();

    server.freeze();
    EXPECT_THROW(c.bump(), Unavailable);
    EXPECT_GE(seconds_until([&] { return c.near().state == State::down; }), 0) << "the copy still claims to be fresh";
    EXPECT_EQ(c.near().state, State::down);
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(c.near().state, State::down) << "a dead store's counter must not look confirmed";

    server.thaw();
    EXPECT_GE(seconds_until([&] { return c.near().state == State::fresh; }, 5000ms), 0) << "the copy never recovered";
    // The bump that failed was made once the store answered: every server's pages are stale.
    // At least once: a frozen server still carries out the requests that timed out (the
    // bump's and the poller's retries), which is harmless for a counter that only says
    // "changed".
    auto fresh_store = open(url);
    const auto after = SharedCounter(*fresh_store, key, std::chrono::milliseconds(0)).read();
    EXPECT_GE(after, v + 1);
    EXPECT_LT(after, v + 100);
    EXPECT_GE(seconds_until([&] { return c.near().value == after; }), 0);
}

INSTANTIATE_TEST_SUITE_P(Stores, SharedCounterFailure, ::testing::Values("memcached", "redis"));

}  // namespace
}  // namespace photoshare::kv
