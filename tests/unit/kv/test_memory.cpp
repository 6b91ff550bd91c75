#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <thread>
#include <vector>

#include "kv/kv.hpp"

namespace photoshare::kv {
namespace {

using namespace std::chrono_literals;
using std::chrono::seconds;

// Time is injected, so expiry is tested exactly and without sleeping.
class MemoryStoreTest : public ::testing::Test {
protected:
    std::unique_ptr<Store> make(std::size_t max_entries) {
        return open_memory({.max_entries = max_entries, .clock = [this] {
                                return std::chrono::steady_clock::time_point{} + 1h + elapsed.load();
                            }});
    }
    std::atomic<std::chrono::nanoseconds> elapsed{0s};
    std::unique_ptr<Store> store = make(1000);
};

TEST_F(MemoryStoreTest, SetGetEraseOverwrite) {
    EXPECT_EQ(store->get("k"), std::nullopt);
    store->set("k", "v1", 0s);
    EXPECT_EQ(store->get("k"), "v1");
    store->set("k", "v2", 0s);
    EXPECT_EQ(store->get("k"), "v2");
    store->erase("k");
    EXPECT_EQ(store->get("k"), std::nullopt);
    store->erase("never-there");  // not an error
}

TEST_F(MemoryStoreTest, KeysAndValuesAreBinarySafe) {
    const std::string key("a\0b", 3);
    const std::string value("\0\xff\n", 3);
    store->set(key, value, 0s);
    EXPECT_EQ(store->get(key), value);
    EXPECT_EQ(store->get("a"), std::nullopt);
    store->set("", "empty key", 0s);
    EXPECT_EQ(store->get(""), "empty key");
}

TEST_F(MemoryStoreTest, ValuesExpireAfterTheirTtl) {
    store->set("short", "v", 10s);
    store->set("forever", "v", 0s);
    elapsed = 9s;
    EXPECT_EQ(store->get("short"), "v");
    elapsed = 10s;
    EXPECT_EQ(store->get("short"), std::nullopt);
    elapsed = 24h * 365 * 50;
    EXPECT_EQ(store->get("forever"), "v");
}

TEST_F(MemoryStoreTest, SetReplacesTheTtl) {
    store->set("k", "v", 10s);
    store->set("k", "v", 0s);
    elapsed = 20s;
    EXPECT_EQ(store->get("k"), "v");
    store->set("k", "v", 5s);
    elapsed = 25s;
    EXPECT_EQ(store->get("k"), std::nullopt);
}

TEST_F(MemoryStoreTest, HugeTtlMeansNoExpiry) {
    store->set("k", "v", seconds::max());
    elapsed = 24h * 365 * 100;
    EXPECT_EQ(store->get("k"), "v");
}

TEST_F(MemoryStoreTest, NegativeTtlIsRejected) {
    EXPECT_THROW(store->set("k", "v", -1s), std::invalid_argument);
    EXPECT_THROW(store->add("k", "v", -1s), std::invalid_argument);
    EXPECT_THROW(store->incr("k", 1, -1s), std::invalid_argument);
    EXPECT_EQ(store->get("k"), std::nullopt);
}

TEST_F(MemoryStoreTest, AddSetsOnlyWhenAbsentOrExpired) {
    EXPECT_TRUE(store->add("k", "first", 10s));
    EXPECT_FALSE(store->add("k", "second", 10s));
    EXPECT_EQ(store->get("k"), "first");
    elapsed = 10s;
    EXPECT_TRUE(store->add("k", "third", 0s));
    EXPECT_EQ(store->get("k"), "third");
}

TEST_F(MemoryStoreTest, IncrCreatesAddsAndReturnsTheNewValue) {
    EXPECT_EQ(store->incr("n", 1, 0s), 1);
    EXPECT_EQ(store->incr("n", 5, 0s), 6);
    EXPECT_EQ(store->incr("n", -10, 0s), -4);
    EXPECT_EQ(store->get("n"), "-4");
    store->set("m", "41", 0s);
    EXPECT_EQ(store->incr("m", 1, 0s), 42);
    EXPECT_EQ(store->incr("new", -3, 0s), -3);
}

TEST_F(MemoryStoreTest, IncrKeepsTheExpiryOfTheFirstIncrement) {
    EXPECT_EQ(store->incr("n", 1, 10s), 1);
    elapsed = 5s;
    EXPECT_EQ(store->incr("n", 1, 10s), 2);  // does not push the expiry to t=15
    elapsed = 10s;
    EXPECT_EQ(store->get("n"), std::nullopt);
    EXPECT_EQ(store->incr("n", 1, 10s), 1);
}

TEST_F(MemoryStoreTest, IncrRejectsNonIntegersAndOverflow) {
    store->set("text", "12abc", 0s);
    EXPECT_THROW(store->incr("text", 1, 0s), std::invalid_argument);
    store->set("empty", "", 0s);
    EXPECT_THROW(store->incr("empty", 1, 0s), std::invalid_argument);
    store->set("big", std::to_string(std::numeric_limits<std::int64_t>::max()), 0s);
    EXPECT_THROW(store->incr("big", 1, 0s), std::invalid_argument);
    EXPECT_EQ(store->get("text"), "12abc");  // a failed incr changes nothing
}

TEST_F(MemoryStoreTest, EvictsTheLeastRecentlyUsedWhenFull) {
    auto small = make(3);
    small->set("a", "1", 0s);
    small->set("b", "2", 0s);
    small->set("c", "3", 0s);
    EXPECT_EQ(small->get("a"), "1");  // a is now more recent than b
    small->set("d", "4", 0s);
    EXPECT_EQ(small->get("b"), std::nullopt);
    EXPECT_EQ(small->get("a"), "1");
    EXPECT_EQ(small->get("c"), "3");
    EXPECT_EQ(small->get("d"), "4");
}

TEST_F(MemoryStoreTest, EvictsExpiredEntriesBeforeLiveOnes) {
    auto small = make(3);
    small->set("old-but-live", "1", 0s);
    small->set("expiring", "2", 5s);
    small->set("live", "3", 0s);
    elapsed = 6s;
    small->set("new", "4", 0s);
    EXPECT_EQ(small->get("old-but-live"), "1");  // would have been the LRU victim
    EXPECT_EQ(small->get("live"), "3");
    EXPECT_EQ(small->get("new"), "4");
}

TEST_F(MemoryStoreTest, OverwritingDoesNotEvict) {
    auto small = make(2);
    small->set("a", "1", 0s);
    small->set("b", "2", 0s);
    small->set("a", "1b", 0s);
    EXPECT_EQ(small->get("a"), "1b");
    EXPECT_EQ(small->get("b"), "2");
}

TEST_F(MemoryStoreTest, ShardedStoreNeverHoldsMoreThanItsBound) {
    constexpr std::size_t bound = 5000;  // large enough to be split into shards
    auto big = make(bound);
    constexpr int written = 20'000;
    for (int i = 0; i < written; ++i) {
        big->set("key" + std::to_string(i), "v", 0s);
    }
    std::size_t present = 0;
    for (int i = 0; i < written; ++i) {
        present += big->get("key" + std::to_string(i)).has_value();
    }
    EXPECT_LE(present, bound);
    EXPECT_GT(present, bound / 2);
    EXPECT_EQ(big->get("key" + std::to_string(written - 1)), "v");  // the newest survives
}

TEST_F(MemoryStoreTest, ConcurrentIncrementsAreNotLost) {
    auto big = make(100'000);
    constexpr int threads = 8;
    constexpr int per_thread = 20'000;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            const std::string own = "own" + std::to_string(t);
            for (int i = 0; i < per_thread; ++i) {
                big->incr("shared", 1, 0s);
                big->set(own + ":" + std::to_string(i % 100), std::to_string(i), 0s);
                ASSERT_EQ(big->get(own + ":" + std::to_string(i % 100)), std::to_string(i));
            }
        });
    }
    for (auto& t : pool) {
        t.join();
    }
    EXPECT_EQ(big->get("shared"), std::to_string(threads * per_thread));
}

TEST_F(MemoryStoreTest, ConcurrentAddHasOneWinner) {
    auto big = make(100'000);
    std::atomic<int> winners{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < 8; ++t) {
        pool.emplace_back([&] {
            for (int i = 0; i < 1000; ++i) {
                winners += big->add("lock" + std::to_string(i), "x", 0s);
            }
        });
    }
    for (auto& t : pool) {
        t.join();
    }
    EXPECT_EQ(winners.load(), 1000);
}

TEST_F(MemoryStoreTest, IsLocalAndDescribesItself) {
    EXPECT_TRUE(store->local());
    EXPECT_NO_THROW(store->check());
    EXPECT_EQ(store->describe(), "memory://?max_entries=1000");
    EXPECT_THROW(open_memory({.max_entries = 0}), std::invalid_argument);
}

TEST(MemoryStoreRealClock, ExpiresWithTheDefaultClock) {
    auto store = open_memory();
    store->set("k", "v", 1s);
    EXPECT_EQ(store->get("k"), "v");  // the one test that uses real time: no sleep needed
}

}  // namespace
}  // namespace photoshare::kv
