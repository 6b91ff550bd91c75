// kv::AsyncRedis against a real Redis: what a GET returns, many at once on one io_context,
// AUTH and SELECT, and what callers see when the server is stopped or hangs (as fast as the
// blocking client, and the same client works again afterwards).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <thread>

#include "kv/async_redis.hpp"
#include "kv/kv.hpp"
#include "services.hpp"

namespace photoshare::kv {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::Service;
using testing::shared_redis;

// Runs a coroutine on a fresh io_context (as one of the server's I/O threads) to its end.
// The client's connection always waits to read, so the context is stopped then.
template <class F>
void run(F make) {
    asio::io_context ioc(1);
    std::exception_ptr error;
    asio::co_spawn(ioc, make(), [&](std::exception_ptr e) {
        error = e;
        ioc.stop();
    });
    ioc.run();
    if (error) std::rethrow_exception(error);
}

TEST(AsyncRedis, GetsWhatTheBlockingClientStored) {
    std::string url;
    try {
        url = shared_redis().redis_url;  // with a password: AUTH on connect
    } catch (const std::exception& e) {
        FAIL() << e.what();
    }
    auto store = open(url);
    auto async = open_async(url);
    ASSERT_TRUE(async);
    const auto prefix = testing::unique_prefix();
    std::string every_byte;
    for (int i = 0; i < 256; ++i) every_byte += static_cast<char>(i);
    store->set(prefix + "bytes", every_byte, 60s);
    store->set(prefix + "empty", "", 60s);
    run([&]() -> asio::awaitable<void> {
        EXPECT_EQ(co_await async->get(prefix + "bytes"), every_byte);
        EXPECT_EQ(co_await async->get(prefix + "empty"), "");
        EXPECT_EQ(co_await async->get(prefix + "missing"), std::nullopt);
    });
}

TEST(AsyncRedis, ManyCallsAtOnceOnOneContextEachGetTheirOwnAnswer) {
    auto url = shared_redis().redis_url;
    auto store = open(url);
    auto async = open_async(url);
    const auto prefix = testing::unique_prefix();
    for (int i = 0; i < 200; ++i) store->set(prefix + std::to_string(i), "value " + std::to_string(i), 60s);
    asio::io_context ioc(1);
    int right = 0, done = 0;
    for (int i = 0; i < 200; ++i) {
        asio::co_spawn(
            ioc,
            [&, i]() -> asio::awaitable<void> {
                if (co_await async->get(prefix + std::to_string(i)) == "value " + std::to_string(i)) ++right;
            },
            [&](std::exception_ptr e) {
                if (++done == 200) ioc.stop();
                if (e) std::rethrow_exception(e);
            });
    }
    ioc.run();
    EXPECT_EQ(right, 200);
}

TEST(AsyncRedis, TheDatabaseNumberSelectsADatabase) {
    const auto& shared = shared_redis();
    auto base = shared.redis_url.substr(0, shared.redis_url.rfind('/'));
    auto store3 = open(base + "/3");
    auto async3 = open_async(base + "/3");
    auto async0 = open_async(base + "/0");
    const auto key = testing::unique_prefix() + "db";
    store3->set(key, "in 3", 60s);
    run([&]() -> asio::awaitable<void> {
        EXPECT_EQ(co_await async3->get(key), "in 3");
        EXPECT_EQ(co_await async0->get(key), std::nullopt);
    });
}

TEST(AsyncRedis, OnlyRedisHasOne) {
    EXPECT_EQ(open_async("memory://"), nullptr);
    EXPECT_EQ(open_async("memcached://127.0.0.1:11211"), nullptr);
    EXPECT_THROW(open_async("redis://host:notaport"), std::invalid_argument);
}

// Time of one call that must fail with Unavailable, on a context of its own.
double failing_call_seconds(AsyncRedis& async, const std::string& key, std::string* what = nullptr) {
    const auto start = std::chrono::steady_clock::now();
    bool unavailable = false;
    run([&]() -> asio::awaitable<void> {
        try {
            co_await async.get(key);
        } catch (const Unavailable& e) {
            unavailable = true;
            if (what) *what = e.what();
        }
    });
    EXPECT_TRUE(unavailable) << "the call did not fail";
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(AsyncRedisFailure, AWrongPasswordIsUnavailableAndNeverShown) {
    const auto& shared = shared_redis();
    auto async = open_async("redis://:not-the-password@" + shared.redis->address() + "/0");
    std::string what;
    failing_call_seconds(*async, "k", &what);
    EXPECT_EQ(what.find("not-the-password"), std::string::npos) << what;
}

TEST(AsyncRedisFailure, StoppedOrHungServerFailsFastAndTheSameClientRecovers) {
    Service server("redis");
    std::string url;
    try {
        url = server.start();
    } catch (const std::exception& e) {
        FAIL() << e.what();
    }
    auto store = open(url);
    auto async = open_async(url + "?retry_ms=200");
    const auto key = testing::unique_prefix() + "k";
    store->set(key, "v", 600s);
    asio::io_context ioc(1);  // one context throughout, as a server's I/O thread keeps its connection
    auto get = [&]() -> std::optional<std::string> {
        std::optional<std::string> out;
        std::exception_ptr error;
        asio::co_spawn(ioc, [&]() -> asio::awaitable<void> { out = co_await async->get(key); }, [&](std::exception_ptr e) {
            error = e;
            ioc.stop();
        });
        ioc.restart();
        ioc.run_for(5s);
        if (error) std::rethrow_exception(error);
        return out;
    };
    EXPECT_EQ(get(), "v");

    // Hung: the call gives up after timeout_ms (100), and the next fail at once for retry_ms.
    server.freeze();
    auto start = std::chrono::steady_clock::now();
    EXPECT_THROW(get(), Unavailable);
    const double hung = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_GE(hung, 0.09);
    EXPECT_LT(hung, 0.5);
    start = std::chrono::steady_clock::now();
    EXPECT_THROW(get(), Unavailable);
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 0.05) << "not failed fast while marked down";
    server.thaw();
    std::this_thread::sleep_for(250ms);
    EXPECT_EQ(get(), "v") << "the client did not recover after the server thawed";

    // Stopped: refused at once.
    server.stop();
    std::this_thread::sleep_for(250ms);
    start = std::chrono::steady_clock::now();
    EXPECT_THROW(get(), Unavailable);
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 0.5);
    server.start();  // empty: no persistence
    std::this_thread::sleep_for(250ms);
    std::optional<std::string> after;
    for (int i = 0; i < 20; ++i) {
        try {
            after = get();
            break;
        } catch (const Unavailable&) {
            std::this_thread::sleep_for(100ms);
        }
    }
    EXPECT_EQ(after, std::nullopt);
    store->set(key, "again", 60s);
    EXPECT_EQ(get(), "again");
}

}  // namespace
}  // namespace photoshare::kv
