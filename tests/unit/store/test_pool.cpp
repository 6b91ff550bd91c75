// The connection pool, with connections that only pretend: what matters here is lending,
// waiting, giving up, and replacing broken connections.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "store/dialect.hpp"
#include "store/pool.hpp"
#include "store/repository.hpp"

namespace photoshare::store {
namespace {

using namespace std::chrono_literals;

class FakeConnection final : public sql::Connection {
public:
    explicit FakeConnection(int serial) : serial(serial) {}
    sql::Rows query(std::string_view, std::span<const sql::Value>) override { return {}; }
    std::int64_t execute(std::string_view, std::span<const sql::Value>) override { return 0; }
    std::int64_t insert(std::string_view, std::span<const sql::Value>) override { return 0; }
    void run_ddl(std::string_view) override {}
    void begin(sql::TxKind) override {}
    void commit() override {}
    void rollback() noexcept override {}
    bool healthy() const noexcept override { return !broken; }
    bool alive(bool round_trip) noexcept override {
        (round_trip ? pinged : looked) += 1;
        return !broken && !gone;
    }

    const int serial;
    bool broken = false;
    bool gone = false;  // the server dropped it while it sat in the pool
    int looked = 0;     // alive(false) calls
    int pinged = 0;     // alive(true) calls
};

// Counts the connections it opens and can be told to fail, like a database that is down.
struct FakeDatabase {
    std::atomic<int> opened{0};
    std::atomic<int> attempts{0};
    std::atomic<bool> down{false};
    std::chrono::milliseconds connect_delay{0};

    Pool::Factory factory() {
        return [this]() -> std::unique_ptr<sql::Connection> {
            ++attempts;
            std::this_thread::sleep_for(connect_delay);
            if (down) {
                throw Unavailable("fake database is down");
            }
            return std::make_unique<FakeConnection>(++opened);
        };
    }
};

int serial_of(const Pool::Lease& lease) {
    return dynamic_cast<FakeConnection&>(*lease).serial;
}

TEST(Pool, OpensLazilyAndReusesReturnedConnections) {
    FakeDatabase db;
    Pool pool(db.factory(), 3, 100ms, "fake");
    EXPECT_EQ(pool.open_count(), 0u);
    int first = 0;
    {
        auto lease = pool.acquire();
        first = serial_of(lease);
    }
    auto again = pool.acquire();
    EXPECT_EQ(serial_of(again), first);
    EXPECT_EQ(db.opened, 1);
    auto second = pool.acquire();
    EXPECT_NE(serial_of(second), first);
    EXPECT_EQ(pool.open_count(), 2u);
}

TEST(Pool, AnExhaustedPoolGivesUnavailableAfterTheTimeout) {
    FakeDatabase db;
    Pool pool(db.factory(), 2, 150ms, "fake-db-name");
    auto a = pool.acquire();
    auto b = pool.acquire();
    const auto start = std::chrono::steady_clock::now();
    std::optional<std::string> message;
    try {
        auto c = pool.acquire();
    } catch (const Unavailable& e) {
        message = e.what();
    }
    const auto waited = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(message) << "expected Unavailable";
    EXPECT_NE(message->find("all 2 pooled connections"), std::string::npos) << *message;
    EXPECT_NE(message->find("150 ms"), std::string::npos) << *message;
    EXPECT_NE(message->find("fake-db-name"), std::string::npos) << *message;
    EXPECT_GE(waited, 140ms);
    EXPECT_LT(waited, 2s);
    EXPECT_EQ(db.opened, 2);
}

TEST(Pool, AZeroTimeoutFailsAtOnce) {
    FakeDatabase db;
    Pool pool(db.factory(), 1, 0ms, "fake");
    auto a = pool.acquire();
    EXPECT_THROW(pool.acquire(), Unavailable);
}

TEST(Pool, AWaiterGetsTheConnectionWhenItIsReturned) {
    FakeDatabase db;
    Pool pool(db.factory(), 1, 5s, "fake");
    auto held = std::make_unique<Pool::Lease>(pool.acquire());
    const int serial = serial_of(*held);
    std::thread returner([&] {
        std::this_thread::sleep_for(50ms);
        held.reset();
    });
    const auto start = std::chrono::steady_clock::now();
    auto lease = pool.acquire();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    EXPECT_EQ(serial_of(lease), serial);
    returner.join();
}

TEST(Pool, ABrokenConnectionIsClosedAndReplaced) {
    FakeDatabase db;
    Pool pool(db.factory(), 1, 100ms, "fake");
    {
        auto lease = pool.acquire();
        dynamic_cast<FakeConnection&>(*lease).broken = true;
    }
    EXPECT_EQ(pool.open_count(), 0u);
    auto lease = pool.acquire();
    EXPECT_EQ(serial_of(lease), 2);
}

TEST(Pool, SurvivesTheDatabaseGoingAwayAndComingBack) {
    FakeDatabase db;
    Pool pool(db.factory(), 2, 50ms, "fake");
    {
        auto lease = pool.acquire();
        dynamic_cast<FakeConnection&>(*lease).broken = true;  // the server restarted under it
    }
    db.down = true;
    // Opening fails, and the failed attempts do not use up the pool's slots.
    for (int i = 0; i < 5; ++i) {
        EXPECT_THROW(pool.acquire(), Unavailable);
    }
    EXPECT_EQ(pool.open_count(), 0u);
    db.down = false;
    auto a = pool.acquire();
    auto b = pool.acquire();
    EXPECT_EQ(pool.open_count(), 2u);
}

TEST(Pool, AMovedLeaseReturnsOnce) {
    FakeDatabase db;
    Pool pool(db.factory(), 1, 50ms, "fake");
    {
        auto lease = pool.acquire();
        Pool::Lease moved(std::move(lease));
        EXPECT_EQ(serial_of(moved), 1);
    }
    auto lease = pool.acquire();
    EXPECT_EQ(serial_of(lease), 1);
    EXPECT_EQ(pool.open_count(), 1u);
}

TEST(Pool, ManyThreadsShareAFewConnections) {
    FakeDatabase db;
    Pool pool(db.factory(), 3, 5s, "fake");
    std::atomic<int> inside{0};
    std::atomic<int> most{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 200; ++i) {
                auto lease = pool.acquire();
                const int now = ++inside;
                int seen = most.load();
                while (now > seen && !most.compare_exchange_weak(seen, now)) {
                }
                --inside;
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    EXPECT_LE(most.load(), 3);
    EXPECT_LE(db.opened.load(), 3);
}

TEST(Pool, AnIdleConnectionTheServerDroppedIsReplacedBeforeItIsLent) {
    FakeDatabase db;
    Pool pool(db.factory(), 2, 100ms, "fake");
    FakeConnection* first = nullptr;
    {
        auto lease = pool.acquire();
        first = &dynamic_cast<FakeConnection&>(*lease);
    }
    first->gone = true;  // e.g. the database restarted
    auto lease = pool.acquire();
    EXPECT_EQ(serial_of(lease), 2);
    EXPECT_EQ(pool.open_count(), 1u);
}

TEST(Pool, OnlyAConnectionIdleForLongIsPinged) {
    FakeDatabase db;
    Pool pool(db.factory(), 1, 100ms, "fake", 200ms);
    { auto lease = pool.acquire(); }
    {
        auto lease = pool.acquire();  // just returned: a look at the socket, no round trip
        auto& connection = dynamic_cast<FakeConnection&>(*lease);
        EXPECT_EQ(connection.looked, 1);
        EXPECT_EQ(connection.pinged, 0);
    }
    std::this_thread::sleep_for(250ms);
    auto lease = pool.acquire();
    EXPECT_EQ(dynamic_cast<FakeConnection&>(*lease).pinged, 1);
}

TEST(Pool, SuspectIdleConnectionsArePingedBeforeTheirNextUse) {
    FakeDatabase db;
    Pool pool(db.factory(), 2, 100ms, "fake", 1h);
    {
        auto a = pool.acquire();
        auto b = pool.acquire();
    }
    pool.suspect_idle();
    auto a = pool.acquire();
    auto b = pool.acquire();
    EXPECT_EQ(dynamic_cast<FakeConnection&>(*a).pinged, 1);
    EXPECT_EQ(dynamic_cast<FakeConnection&>(*b).pinged, 1);
}

// try_acquire lends only what it can lend without waiting: an idle connection that needs no
// round trip. It never opens one and never waits for one.
TEST(Pool, TryAcquireLendsOnlyAnIdleConnectionThatNeedsNoRoundTrip) {
    FakeDatabase db;
    Pool pool(db.factory(), 1, 100ms, "fake", 200ms);
    EXPECT_FALSE(pool.try_acquire().has_value());  // none open yet: opening could wait
    EXPECT_EQ(db.attempts.load(), 0);
    { auto lease = pool.acquire(); }
    {
        auto lease = pool.try_acquire();
        ASSERT_TRUE(lease.has_value());
        EXPECT_EQ(serial_of(*lease), 1);
        EXPECT_EQ(dynamic_cast<FakeConnection&>(**lease).looked, 1);
        EXPECT_EQ(dynamic_cast<FakeConnection&>(**lease).pinged, 0);
        // Lent out: a second caller would have to wait, so it gets nothing.
        EXPECT_FALSE(pool.try_acquire().has_value());
    }
    EXPECT_TRUE(pool.try_acquire().has_value());  // returned by the lease above

    // Idle for long, or suspect: it must be pinged first, which is acquire()'s job.
    std::this_thread::sleep_for(250ms);
    EXPECT_FALSE(pool.try_acquire().has_value());
    { auto lease = pool.acquire(); }
    pool.suspect_idle();
    EXPECT_FALSE(pool.try_acquire().has_value());
    { auto lease = pool.acquire(); }  // pinged: no longer suspect
    EXPECT_TRUE(pool.try_acquire().has_value());
    EXPECT_EQ(db.attempts.load(), 1);  // all along, one connection

    // A connection found dead is closed, and its slot is free again.
    { auto lease = pool.acquire(); dynamic_cast<FakeConnection&>(*lease).gone = true; }
    EXPECT_FALSE(pool.try_acquire().has_value());
    EXPECT_EQ(pool.open_count(), 0u);
    EXPECT_EQ(serial_of(pool.acquire()), 2);
}

// While the database is unreachable, callers do not queue up behind connect timeouts:
// one tries, the others hear at once that it is down.
TEST(Pool, WhileTheDatabaseIsUnreachableOnlyOneCallerTriesToConnect) {
    FakeDatabase db;
    Pool pool(db.factory(), 4, 100ms, "fake");
    db.down = true;
    EXPECT_THROW(pool.acquire(), Unavailable);  // now known to be unreachable
    db.connect_delay = 300ms;                   // the next attempt is slow, like a connect timeout
    std::thread prober([&] { EXPECT_THROW(pool.acquire(), Unavailable); });
    // Wait until the prober is inside its slow connect (not a fixed sleep: on a loaded
    // machine the thread may take a while to start).
    for (int i = 0; i < 400 && db.attempts.load() < 2; ++i) std::this_thread::sleep_for(5ms);
    ASSERT_EQ(db.attempts.load(), 2);
    const auto start = std::chrono::steady_clock::now();
    try {
        pool.acquire();
        ADD_FAILURE() << "expected Unavailable";
    } catch (const Unavailable& e) {
        EXPECT_NE(std::string(e.what()).find("fake database is down"), std::string::npos) << e.what();
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 100ms);
    prober.join();
    EXPECT_EQ(db.attempts, 2);
    // Back up: the next caller connects, and so do the ones after it.
    db.down = false;
    db.connect_delay = 0ms;
    auto a = pool.acquire();
    auto b = pool.acquire();
    EXPECT_EQ(pool.open_count(), 2u);
}

TEST(Pool, RejectsAnEmptyPool) {
    FakeDatabase db;
    EXPECT_THROW(Pool(db.factory(), 0, 1s, "fake"), std::invalid_argument);
    EXPECT_THROW(Pool(db.factory(), 1, -1ms, "fake"), std::invalid_argument);
}

TEST(Placeholders, AreNumberedForPostgres) {
    EXPECT_EQ(with_placeholders("SELECT a FROM t WHERE b = ? AND c < ?", Placeholders::numbered),
              "SELECT a FROM t WHERE b = $1 AND c < $2");
    EXPECT_EQ(with_placeholders("SELECT a FROM t WHERE b = ?", Placeholders::question),
              "SELECT a FROM t WHERE b = ?");
}

}  // namespace
}  // namespace photoshare::store
