// memcached:// beyond the shared contract: where keys live, and what callers see when a
// server dies, hangs or comes back. These tests start servers of their own, since they stop
// them.
#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "kv/kv.hpp"
#include "services.hpp"

namespace photoshare::kv {
namespace {

using namespace std::chrono_literals;
using testing::Service;
using testing::timed;

// Ketama placement is computed by the client alone: no servers needed.
TEST(MemcachedPlacement, RemovingAServerMovesOnlyItsKeys) {
    const std::string abc = "memcached://10.0.0.1:11211,10.0.0.2:11211,10.0.0.3:11211";
    const std::string ab = "memcached://10.0.0.1:11211,10.0.0.2:11211";
    const std::string cab = "memcached://10.0.0.3:11211,10.0.0.1:11211,10.0.0.2:11211";
    constexpr int keys = 1000;
    int stayed = 0;
    std::map<std::string, int> per_server;
    for (int i = 0; i < keys; ++i) {
        const std::string key = "session:" + std::to_string(i);
        const std::string before = memcached_server_for(abc, key);
        ++per_server[before];
        EXPECT_EQ(memcached_server_for(cab, key), before) << "placement depends on the order of the list";
        const std::string after = memcached_server_for(ab, key);
        if (before != "10.0.0.3:11211") {
            EXPECT_EQ(after, before) << "a key on a remaining server moved: " << key;
        }
        stayed += after == before;
    }
    // Only the third server's keys (about a third) move.
    EXPECT_GT(stayed, keys * 55 / 100);
    ASSERT_EQ(per_server.size(), 3u);
    for (const auto& [server, count] : per_server) {
        EXPECT_GT(count, keys / 6) << server << " holds too few keys: the ring is unbalanced";
    }
}

TEST(MemcachedPlacement, OddKeysArePlacedByTheirHashedName) {
    const std::string url = "memcached://10.0.0.1:11211,10.0.0.2:11211,10.0.0.3:11211";
    const std::string long_key(400, 'k');
    EXPECT_EQ(memcached_server_for(url, long_key), memcached_server_for(url, long_key));
    EXPECT_NO_THROW(memcached_server_for(url, std::string("a\0b c\n", 6)));
    EXPECT_NO_THROW(memcached_server_for(url, ""));
    EXPECT_THROW(memcached_server_for("redis://x", "k"), std::invalid_argument);
}

// Three servers of these tests' own (started once, restarted by a test that stops one), and
// a store on them that retries a dead server after 200 ms rather than the default second.
class MemcachedFailure : public ::testing::Test {
protected:
    static void SetUpTestSuite() { nodes = new Service[3]{Service("memcached"), Service("memcached"), Service("memcached")}; }
    static void TearDownTestSuite() {
        // memcached exits on its next clock tick after SIGTERM: stop the three at once.
        std::vector<std::thread> stopping;
        for (int i = 0; i < 3; ++i) stopping.emplace_back([i] { nodes[i].stop(); });
        for (auto& t : stopping) t.join();
        delete[] nodes;
        nodes = nullptr;
    }

    void SetUp() override {
        try {
            for (int i = 0; i < 3; ++i) {
                nodes[i].thaw();   // in case a failed test left it frozen
                nodes[i].start();  // no-op when running
            }
        } catch (const std::exception& e) {
            FAIL() << e.what();
        }
        url = testing::memcached_url({&nodes[0], &nodes[1], &nodes[2]}, "retry_ms=200");
        store = open(url);
        prefix = testing::unique_prefix();
    }

    // A key (of this test) the store places on node i.
    std::string key_on(std::size_t i, const std::string& name) {
        for (int n = 0;; ++n) {
            std::string key = prefix + name + ":" + std::to_string(n);
            if (memcached_server_for(url, key) == nodes[i].address()) return key;
        }
    }

    // Calls op until it succeeds (the server was marked down and is tried again after
    // retry_ms); fails the test after `limit`.
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

    static Service* nodes;
    std::string url;
    std::unique_ptr<Store> store;
    std::string prefix;
};
Service* MemcachedFailure::nodes = nullptr;

TEST_F(MemcachedFailure, KeysAreStoredOnTheServerThePlacementNames) {
    for (std::size_t i = 0; i < 3; ++i) {
        const std::string key = key_on(i, "placed");
        store->set(key, "on " + nodes[i].address(), 60s);
        for (std::size_t j = 0; j < 3; ++j) {
            // A store on one server sees only what was placed there.
            auto single = open("memcached://" + nodes[j].address());
            EXPECT_EQ(single->get(key).has_value(), i == j) << key << " on server " << j;
        }
    }
    // Hashed (odd or long) keys are placed and named the same way by every store.
    const std::string odd = std::string(300, 'o') + " \n";
    store->set(odd, "odd", 60s);
    auto single = open("memcached://" + memcached_server_for(url, odd));
    EXPECT_EQ(single->get(odd), "odd");
}

TEST_F(MemcachedFailure, ADeadServerFailsFastOnlyForItsKeysAndComesBack) {
    const std::string alive0 = key_on(0, "alive"), alive1 = key_on(1, "alive");
    const std::string dead = key_on(2, "dead"), counter = key_on(2, "counter"), added = key_on(2, "added");
    store->set(alive0, "a0", 60s);
    store->set(alive1, "a1", 60s);
    store->set(dead, "d", 60s);
    EXPECT_NO_THROW(store->check());

    nodes[2].stop();
    // Every call for the dead server's key fails, quickly; the first finds out, the
    // others fail at once while it is marked down.
    for (int i = 0; i < 5; ++i) {
        const auto took = timed([&] { EXPECT_THROW(store->get(dead), Unavailable); });
        EXPECT_LT(took, 500ms) << "call " << i;
    }
    EXPECT_LT(timed([&] { EXPECT_THROW(store->set(dead, "x", 60s), Unavailable); }), 500ms);
    EXPECT_LT(timed([&] { EXPECT_THROW(store->incr(counter, 1, 60s), Unavailable); }), 500ms);
    EXPECT_LT(timed([&] { EXPECT_THROW(store->add(added, "x", 60s), Unavailable); }), 500ms);
    EXPECT_LT(timed([&] { EXPECT_THROW(store->erase(dead), Unavailable); }), 500ms);
    // The other servers' keys are unaffected, and not moved to another server.
    const auto took = timed([&] {
        for (int i = 0; i < 50; ++i) {
            EXPECT_EQ(store->get(alive0), "a0");
            EXPECT_EQ(store->get(alive1), "a1");
        }
    });
    EXPECT_LT(took, 500ms);
    try {
        store->check();
        ADD_FAILURE() << "check() passed with a server down";
    } catch (const Unavailable& e) {
        EXPECT_NE(std::string(e.what()).find(nodes[2].address()), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).find(nodes[0].address()), std::string::npos) << e.what();
    }

    // Back on the same port (empty: memcached keeps nothing): the same store uses it again.
    nodes[2].start();
    eventually([&] { store->set(dead, "d2", 60s); });
    EXPECT_EQ(store->get(dead), "d2");
    EXPECT_EQ(store->incr(counter, 1, 60s), 1);
    EXPECT_TRUE(store->add(added, "x", 60s));
    EXPECT_NO_THROW(store->check());
    EXPECT_EQ(store->get(alive0), "a0");
}

TEST_F(MemcachedFailure, AllServersDownThenBackWithManyThreads) {
    for (int i = 0; i < 3; ++i) nodes[i].stop();
    std::atomic<int> slow{0}, succeeded{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 20; ++i) {
                const auto took = timed([&] {
                    try {
                        store->get(prefix + std::to_string(t * 100 + i));
                        ++succeeded;
                    } catch (const Unavailable&) {
                    }
                });
                slow += took > 500ms;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(slow.load(), 0);
    EXPECT_EQ(succeeded.load(), 0);
    EXPECT_THROW(store->check(), Unavailable);

    for (int i = 0; i < 3; ++i) nodes[i].start();
    eventually([&] { store->check(); });
    for (int i = 0; i < 30; ++i) {
        eventually([&] { store->set(prefix + std::to_string(i), "v", 60s); });
        EXPECT_EQ(store->get(prefix + std::to_string(i)), "v");
    }
}

// A server that stops answering (hung, overloaded: here SIGSTOP) keeps its connections
// open; calls must time out, and the connection that timed out must never be used again:
// the late answer still on it would be read as the answer to the next request.
TEST_F(MemcachedFailure, AHungServerTimesOutAndItsLateAnswersAreNeverRead) {
    const std::string k1 = key_on(1, "first"), k2 = key_on(1, "second");
    store->set(k1, "one", 60s);
    store->set(k2, "two", 60s);
    nodes[1].freeze();
    const auto took = timed([&] { EXPECT_THROW(store->get(k1), Unavailable); });
    EXPECT_GE(took, 90ms);  // it waited for the answer...
    EXPECT_LT(took, 500ms);  // ...for about timeout_ms
    EXPECT_LT(timed([&] { EXPECT_THROW(store->get(k2), Unavailable); }), 50ms);  // marked down
    EXPECT_EQ(store->get(key_on(0, "other")), std::nullopt);                     // other servers work
    nodes[1].thaw();
    std::optional<std::string> value;
    eventually([&] { value = store->get(k2); });
    EXPECT_EQ(value, "two");
    EXPECT_EQ(store->get(k1), "one");
}

TEST_F(MemcachedFailure, AValueTooLargeIsRefusedWithoutMarkingTheServerDown) {
    const std::string key = key_on(0, "big");
    try {
        store->set(key, std::string(2 << 20, 'x'), 60s);  // memcached's default limit is 1 MB
        ADD_FAILURE() << "no error";
    } catch (const Unavailable& e) {
        EXPECT_NE(std::string(e.what()).find(nodes[0].address()), std::string::npos) << e.what();
    }
    store->set(key, "small", 60s);
    EXPECT_EQ(store->get(key), "small");
}

TEST_F(MemcachedFailure, TimeoutsComeFromTheUrl) {
    auto slow = open(testing::memcached_url({&nodes[0]}, "timeout_ms=300&retry_ms=0"));
    slow->set(prefix, "v", 60s);
    nodes[0].freeze();
    const auto took = timed([&] { EXPECT_THROW(slow->get(prefix), Unavailable); });
    nodes[0].thaw();
    EXPECT_GE(took, 290ms);
    EXPECT_LT(took, 800ms);
}

TEST(MemcachedUnreachable, NothingListeningFailsAtOnceWithTheServerNamed) {
    auto store = open("memcached://127.0.0.1:1");
    try {
        store->get("k");
        ADD_FAILURE() << "no error";
    } catch (const Unavailable& e) {
        EXPECT_NE(std::string(e.what()).find("127.0.0.1:1"), std::string::npos) << e.what();
    }
    EXPECT_THROW(store->check(), Unavailable);
    EXPECT_LT(timed([&] { EXPECT_THROW(store->set("k", "v", 1s), Unavailable); }), 100ms);
}

}  // namespace
}  // namespace photoshare::kv
