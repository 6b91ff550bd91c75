// The behaviour every kv::Store promises, run on memory://, memcached:// with three real
// servers, and redis:// with a real server that requires a password.
#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <thread>
#include <vector>

#include "kv/kv.hpp"
#include "services.hpp"

namespace photoshare::kv {
namespace {

using namespace std::chrono_literals;
using testing::shared_redis;

class StoreContract : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        try {
            url = testing::url_for(GetParam());
        } catch (const std::exception& e) {
            FAIL() << "cannot start " << GetParam() << ": " << e.what();
        }
        store = open(url);
        prefix = testing::unique_prefix();
    }
    std::string key(const std::string& name) const { return prefix + name; }
    bool is(const char* backend) const { return GetParam() == backend; }

    std::string url;
    std::unique_ptr<Store> store;
    std::string prefix;
};

TEST_P(StoreContract, SetGetEraseOverwrite) {
    EXPECT_EQ(store->get(key("k")), std::nullopt);
    store->set(key("k"), "v1", 0s);
    EXPECT_EQ(store->get(key("k")), "v1");
    store->set(key("k"), "v2", 60s);
    EXPECT_EQ(store->get(key("k")), "v2");
    store->erase(key("k"));
    EXPECT_EQ(store->get(key("k")), std::nullopt);
    store->erase(key("never-there"));  // not an error
}

TEST_P(StoreContract, ValuesAreBinarySafe) {
    std::string every_byte;
    for (int i = 0; i < 256; ++i) every_byte += static_cast<char>(i);
    store->set(key("bytes"), every_byte, 60s);
    EXPECT_EQ(store->get(key("bytes")), every_byte);

    store->set(key("empty"), "", 60s);
    EXPECT_EQ(store->get(key("empty")), "");

    std::string big(200 * 1024, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7919 % 251);
    store->set(key("big"), big, 60s);
    EXPECT_EQ(store->get(key("big")), big);
}

TEST_P(StoreContract, OddAndLongKeysAreDistinctAndWork) {
    const std::string long_a = key(std::string(300, 'a'));
    const std::string long_b = long_a.substr(0, long_a.size() - 1) + "b";  // same first 299 bytes
    const std::vector<std::string> keys = {
        key("with space"), key("tab\there"), key("line\r\nbreak"), key(std::string("nul\0byte", 8)),
        key("nul"), key("\xc3\xbc-utf8-\xe2\x82\xac"), key("\x7f\x01\xff"), long_a, long_b,
        std::string(250, 'x'),  // the longest key memcached takes as it is
        std::string(251, 'x'),  // one more: hashed
        "~" + key("tilde"), key("plain"), key("~"), "",
    };
    for (std::size_t i = 0; i < keys.size(); ++i) store->set(keys[i], "value" + std::to_string(i), 60s);
    for (std::size_t i = 0; i < keys.size(); ++i) {
        EXPECT_EQ(store->get(keys[i]), "value" + std::to_string(i)) << "key #" << i;
    }
    EXPECT_TRUE(store->add(key("new odd key\n"), "x", 60s));
    EXPECT_FALSE(store->add(key("new odd key\n"), "y", 60s));
    EXPECT_EQ(store->incr(key("odd counter \x01"), 2, 60s), 2);
    EXPECT_EQ(store->incr(key("odd counter \x01"), 2, 60s), 4);
    for (const auto& k : keys) store->erase(k);
    for (const auto& k : keys) EXPECT_EQ(store->get(k), std::nullopt);
}

TEST_P(StoreContract, AddSetsOnlyWhenAbsent) {
    EXPECT_TRUE(store->add(key("k"), "first", 60s));
    EXPECT_FALSE(store->add(key("k"), "second", 60s));
    EXPECT_EQ(store->get(key("k")), "first");
    store->erase(key("k"));
    EXPECT_TRUE(store->add(key("k"), "third", 0s));
    EXPECT_EQ(store->get(key("k")), "third");
}

TEST_P(StoreContract, IncrCreatesAddsAndReturnsTheNewValue) {
    EXPECT_EQ(store->incr(key("n"), 1, 60s), 1);
    EXPECT_EQ(store->incr(key("n"), 5, 60s), 6);
    EXPECT_EQ(store->incr(key("n"), 0, 60s), 6);
    EXPECT_EQ(store->get(key("n")), "6");
    store->set(key("m"), "41", 60s);
    EXPECT_EQ(store->incr(key("m"), 1, 60s), 42);
    EXPECT_EQ(store->incr(key("fresh"), 7, 0s), 7);
    if (is("memcached")) {
        EXPECT_THROW(store->incr(key("n"), -1, 60s), std::invalid_argument);  // unsigned counters
        EXPECT_EQ(store->get(key("n")), "6");
    } else {
        EXPECT_EQ(store->incr(key("n"), -10, 60s), -4);
    }
}

TEST_P(StoreContract, IncrRejectsNonIntegersAndOverflowChangingNothing) {
    store->set(key("text"), "12abc", 60s);
    EXPECT_THROW(store->incr(key("text"), 1, 60s), std::invalid_argument);
    EXPECT_EQ(store->get(key("text")), "12abc");
    store->set(key("empty"), "", 60s);
    EXPECT_THROW(store->incr(key("empty"), 1, 60s), std::invalid_argument);
    const std::string max = std::to_string(std::numeric_limits<std::int64_t>::max());
    store->set(key("big"), max, 60s);
    EXPECT_THROW(store->incr(key("big"), 1, 60s), std::invalid_argument);
    EXPECT_EQ(store->get(key("big")), max);
    // The store is still usable afterwards (memcached: the failed answers closed connections).
    EXPECT_EQ(store->incr(key("after"), 1, 60s), 1);
}

TEST_P(StoreContract, NegativeTtlIsRejected) {
    EXPECT_THROW(store->set(key("k"), "v", -1s), std::invalid_argument);
    EXPECT_THROW(store->add(key("k"), "v", -1s), std::invalid_argument);
    EXPECT_THROW(store->incr(key("k"), 1, -1s), std::invalid_argument);
    EXPECT_EQ(store->get(key("k")), std::nullopt);
}

TEST_P(StoreContract, LongTtlsDoNotExpireAtOnce) {
    // memcached reads an expiry over 30 days as an absolute time: the store converts it.
    store->set(key("31 days"), "v", 24h * 31);
    store->set(key("forever"), "v", std::chrono::seconds::max());
    EXPECT_TRUE(store->add(key("add 31 days"), "v", 24h * 31));
    EXPECT_EQ(store->incr(key("incr 31 days"), 1, 24h * 31), 1);
    EXPECT_EQ(store->get(key("31 days")), "v");
    EXPECT_EQ(store->get(key("forever")), "v");
    EXPECT_EQ(store->get(key("add 31 days")), "v");
    EXPECT_EQ(store->get(key("incr 31 days")), "1");
}

// The one test that waits for real time. memcached counts expiry in whole seconds of its
// own clock, so a ttl of 3 s ends between 2 and 3 s after the write; elsewhere exactly.
TEST_P(StoreContract, ValuesExpireAfterTheirTtlAndIncrKeepsTheFirstExpiry) {
    const auto ttl = is("memcached") ? 3s : 2s;
    const auto start = std::chrono::steady_clock::now();
    store->set(key("set"), "v", ttl);
    EXPECT_TRUE(store->add(key("add"), "v", ttl));
    EXPECT_EQ(store->incr(key("incr"), 1, ttl), 1);
    store->set(key("forever"), "v", 0s);
    store->set(key("ttl replaced"), "v", ttl);
    store->set(key("ttl replaced"), "v", 0s);
    for (const char* k : {"set", "add", "forever", "ttl replaced"}) EXPECT_EQ(store->get(key(k)), "v") << k;

    std::this_thread::sleep_until(start + 1s);
    EXPECT_EQ(store->incr(key("incr"), 1, 100s), 2);  // does not move the expiry

    std::this_thread::sleep_until(start + ttl + 400ms);
    EXPECT_EQ(store->get(key("set")), std::nullopt);
    EXPECT_EQ(store->get(key("add")), std::nullopt);
    EXPECT_EQ(store->get(key("incr")), std::nullopt);
    EXPECT_EQ(store->get(key("forever")), "v");
    EXPECT_EQ(store->get(key("ttl replaced")), "v");
    EXPECT_TRUE(store->add(key("add"), "again", 60s));  // an expired key counts as absent
    EXPECT_EQ(store->incr(key("incr"), 1, 60s), 1);
}

TEST_P(StoreContract, EightThreadsAtOnce) {
    constexpr int threads = 8;
    constexpr int per_thread = 250;
    std::atomic<int> winners{0};
    std::atomic<int> errors{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            try {
                const std::string own = key("own" + std::to_string(t) + ":");
                for (int i = 0; i < per_thread; ++i) {
                    store->incr(key("shared"), 1, 60s);
                    store->set(own + std::to_string(i % 20), std::to_string(i), 60s);
                    if (store->get(own + std::to_string(i % 20)) != std::to_string(i)) ++errors;
                    winners += store->add(key("claim") + std::to_string(i % 50), std::to_string(t), 60s);
                }
            } catch (const std::exception& e) {
                ADD_FAILURE() << e.what();
            }
        });
    }
    for (auto& t : pool) t.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(store->get(key("shared")), std::to_string(threads * per_thread));
    EXPECT_EQ(winners.load(), 50);  // each claimed key had exactly one winner
}

TEST_P(StoreContract, CheckAndDescribe) {
    EXPECT_NO_THROW(store->check());
    const auto text = store->describe();
    EXPECT_EQ(text.substr(0, text.find("://") + 3), url.substr(0, url.find("://") + 3));
    if (is("redis")) {
        EXPECT_EQ(text.find(shared_redis().redis_password), std::string::npos) << text;
        EXPECT_EQ(text.find("p@ss"), std::string::npos) << text;
        EXPECT_NE(text.find(":***@"), std::string::npos) << text;
    }
    EXPECT_EQ(store->local(), is("memory"));
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContract, ::testing::Values("memory", "memcached", "redis"),
                         [](const auto& info) { return info.param; });

// What several servers rely on: what one writes, every other reads.
class SharedStore : public StoreContract {};

TEST_P(SharedStore, WhatOneStoreWritesAnotherReads) {
    auto other = open(url);  // a second server's store, on the same URL
    store->set(key("session"), "user=42", 60s);
    EXPECT_EQ(other->get(key("session")), "user=42");
    EXPECT_EQ(other->incr(key("generation"), 1, 0s), 1);
    EXPECT_EQ(store->incr(key("generation"), 1, 0s), 2);
    EXPECT_FALSE(other->add(key("session"), "user=7", 60s));
    other->erase(key("session"));
    EXPECT_EQ(store->get(key("session")), std::nullopt);
}

INSTANTIATE_TEST_SUITE_P(Networked, SharedStore, ::testing::Values("memcached", "redis"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace photoshare::kv
