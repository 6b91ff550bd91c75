// redis:// beyond the shared contract: AUTH, SELECT, and what callers see when the server
// dies, hangs or comes back.
#include <gtest/gtest.h>

#include <thread>

#include "kv/kv.hpp"
#include "services.hpp"

namespace photoshare::kv {
namespace {

using namespace std::chrono_literals;
using testing::Service;
using testing::shared_redis;
using testing::timed;

std::string what_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Unavailable& e) {
        return e.what();
    }
    return "no Unavailable";
}

// "%xx" for every byte: a password in a URL.
std::string url_encoded(const std::string& s) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        out += '%';
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

class RedisAuth : public ::testing::Test {
protected:
    void SetUp() override {
        try {
            redis = &shared_redis();
        } catch (const std::exception& e) {
            FAIL() << "cannot start redis: " << e.what();
        }
        address = redis->redis->address();
        prefix = testing::unique_prefix();
    }
    const testing::Shared* redis = nullptr;
    std::string address, prefix;
};

TEST_F(RedisAuth, AWrongOrMissingPasswordIsUnavailableAndNeverShown) {
    const std::string wrong = "not-the-password-4711";
    auto bad = open("redis://:" + wrong + "@" + address + "/0");
    const std::string error = what_of([&] { bad->get(prefix + "k"); });
    EXPECT_NE(error.find("AUTH"), std::string::npos) << error;
    EXPECT_EQ(error.find(wrong), std::string::npos) << error;
    EXPECT_THROW(bad->check(), Unavailable);
    EXPECT_EQ(bad->describe().find(wrong), std::string::npos);

    auto none = open("redis://" + address);
    EXPECT_NE(what_of([&] { none->set(prefix + "k", "v", 1s); }).find("NOAUTH"), std::string::npos);
}

TEST_F(RedisAuth, AclUserAndPasswordWork) {
    // requirepass is the password of the ACL user "default" (Redis 6+): AUTH user password.
    auto store = open("redis://default:" + url_encoded(redis->redis_password) + "@" + address + "/0");
    store->set(prefix + "k", "v", 60s);
    EXPECT_EQ(store->get(prefix + "k"), "v");
    const auto text = store->describe();
    EXPECT_NE(text.find("redis://default:***@"), std::string::npos) << text;
    auto wrong_user = open("redis://nobody-here:" + url_encoded(redis->redis_password) + "@" + address + "/0");
    EXPECT_THROW(wrong_user->get(prefix + "k"), Unavailable);
}

TEST_F(RedisAuth, TheDatabaseNumberSelectsADatabase) {
    auto db0 = open(redis->redis_url);
    const std::string base = redis->redis_url.substr(0, redis->redis_url.rfind('/'));
    auto db1 = open(base + "/1");
    auto db1_again = open(base + "/1");
    db1->set(prefix + "k", "in db 1", 60s);
    EXPECT_EQ(db1_again->get(prefix + "k"), "in db 1");
    EXPECT_EQ(db0->get(prefix + "k"), std::nullopt);
    auto db99 = open(base + "/99");  // Redis has 16 by default
    EXPECT_NE(what_of([&] { db99->get(prefix + "k"); }).find("SELECT"), std::string::npos);
}

// A Redis server of these tests' own, since they stop it.
class RedisFailure : public ::testing::Test {
protected:
    static void SetUpTestSuite() { server = new Service("redis", "secret"); }
    static void TearDownTestSuite() {
        delete server;
        server = nullptr;
    }
    void SetUp() override {
        try {
            server->thaw();
            url = server->start();
        } catch (const std::exception& e) {
            FAIL() << e.what();
        }
        store = open(url + "?retry_ms=200");
        prefix = testing::unique_prefix();
    }

    template <class Op>
    void eventually(Op op, std::chrono::milliseconds limit = 3000ms) {
        const auto until = std::chrono::steady_clock::now() + limit;
        for (;;) {
            try {
                op();
                return;
            } catch (const Unavailable& e) {
                if (std::chrono::steady_clock::now() > until) {
                    FAIL() << "still unavailable after " << limit.count() << " ms: " << e.what();
                }
            }
            std::this_thread::sleep_for(50ms);
        }
    }

    static Service* server;
    std::string url, prefix;
    std::unique_ptr<Store> store;
};
Service* RedisFailure::server = nullptr;

TEST_F(RedisFailure, StoppedServerFailsFastAndTheSameStoreRecovers) {
    // Fill the pool with several connections that the restart will leave dead.
    std::vector<std::thread> warm;
    for (int t = 0; t < 8; ++t) warm.emplace_back([&, t] { store->set(prefix + std::to_string(t), "v", 60s); });
    for (auto& t : warm) t.join();
    EXPECT_NO_THROW(store->check());

    server->stop();
    for (int i = 0; i < 5; ++i) {
        EXPECT_LT(timed([&] { EXPECT_THROW(store->get(prefix + "0"), Unavailable); }), 500ms) << "call " << i;
    }
    EXPECT_LT(timed([&] { EXPECT_THROW(store->set(prefix + "k", "v", 60s), Unavailable); }), 500ms);
    EXPECT_LT(timed([&] { EXPECT_THROW(store->add(prefix + "a", "v", 60s), Unavailable); }), 500ms);
    EXPECT_LT(timed([&] { EXPECT_THROW(store->incr(prefix + "n", 1, 60s), Unavailable); }), 500ms);
    EXPECT_LT(timed([&] { EXPECT_THROW(store->erase(prefix + "k"), Unavailable); }), 500ms);
    EXPECT_LT(timed([&] { EXPECT_THROW(store->check(), Unavailable); }), 500ms);

    server->start();  // same port, empty (no persistence)
    eventually([&] { store->check(); });
    // Every call now succeeds: the pooled connections the restart closed are noticed and
    // replaced before use, not failed on.
    for (int i = 0; i < 40; ++i) {
        EXPECT_NO_THROW(store->set(prefix + "after" + std::to_string(i), "v", 60s)) << i;
    }
    EXPECT_EQ(store->incr(prefix + "n", 1, 60s), 1);
    EXPECT_EQ(store->get(prefix + "0"), std::nullopt);
}

TEST_F(RedisFailure, AHungServerTimesOutAndItsLateAnswersAreNeverRead) {
    store->set(prefix + "first", "one", 60s);
    store->set(prefix + "second", "two", 60s);
    server->freeze();
    const auto took = timed([&] { EXPECT_THROW(store->get(prefix + "first"), Unavailable); });
    EXPECT_GE(took, 90ms);
    EXPECT_LT(took, 500ms);
    EXPECT_LT(timed([&] { EXPECT_THROW(store->get(prefix + "second"), Unavailable); }), 50ms);  // marked down
    server->thaw();
    std::optional<std::string> value;
    eventually([&] { value = store->get(prefix + "second"); });
    EXPECT_EQ(value, "two");
    EXPECT_EQ(store->get(prefix + "first"), "one");
}

TEST_F(RedisFailure, ManyThreadsOnAHungServerAllGiveUpInTime) {
    store->set(prefix + "k", "v", 60s);
    auto no_breaker = open(url + "?retry_ms=0&timeout_ms=150&pool=4");
    server->freeze();
    std::atomic<int> slow{0}, failed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 3; ++i) {
                const auto took = timed([&] {
                    try {
                        no_breaker->get(prefix + "k");
                    } catch (const Unavailable&) {
                        ++failed;
                    }
                });
                slow += took > 500ms;
            }
        });
    }
    for (auto& t : threads) t.join();
    server->thaw();
    EXPECT_EQ(failed.load(), 24);
    EXPECT_EQ(slow.load(), 0);  // including those that waited for one of the 4 connections
    eventually([&] { EXPECT_EQ(no_breaker->get(prefix + "k"), "v"); });
}

TEST(RedisUnreachable, NothingListeningFailsAtOnceWithTheServerNamed) {
    auto store = open("redis://127.0.0.1:1/0");
    const std::string error = what_of([&] { store->get("k"); });
    EXPECT_NE(error.find("127.0.0.1:1"), std::string::npos) << error;
    EXPECT_LT(timed([&] { EXPECT_THROW(store->check(), Unavailable); }), 100ms);
    EXPECT_LT(timed([&] { EXPECT_THROW(store->set("k", "v", 1s), Unavailable); }), 100ms);
}

}  // namespace
}  // namespace photoshare::kv
