#include "http/runtime.hpp"
#include "http/semaphore.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

using namespace photoshare::http;
using namespace std::chrono_literals;

namespace {

// Spawns `n` coroutines that each hold a permit for `hold`, on `threads` I/O threads;
// returns the most that held one at the same time.
int peak_holders(AsyncSemaphore& sem, int n, std::chrono::milliseconds hold, int threads = 2) {
    asio::io_context ioc;
    std::atomic<int> holding{0}, peak{0}, done{0};
    for (int i = 0; i < n; ++i) {
        asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
            auto permit = co_await sem.hold();
            int now = ++holding;
            int seen = peak.load();
            while (now > seen && !peak.compare_exchange_weak(seen, now)) {}
            co_await sleep_for(hold);
            --holding;
            ++done;
        }, asio::detached);
    }
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back([&] { ioc.run(); });
    for (auto& t : pool) t.join();
    EXPECT_EQ(done.load(), n);
    return peak.load();
}

}  // namespace

TEST(AsyncSemaphore, NeverMorePermitsThanSet) {
    AsyncSemaphore sem(3);
    EXPECT_EQ(peak_holders(sem, 12, 20ms), 3);
}

TEST(AsyncSemaphore, ZeroMeansUnlimited) {
    AsyncSemaphore sem(0);
    EXPECT_EQ(peak_holders(sem, 10, 30ms, 1), 10);
}

TEST(AsyncSemaphore, WaitersGetPermitsWhenTheLimitIsRaised) {
    AsyncSemaphore sem(1);
    asio::io_context ioc;
    std::atomic<int> done{0};
    for (int i = 0; i < 4; ++i)
        asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
            auto permit = co_await sem.hold();
            co_await sleep_for(200ms);
            ++done;
        }, asio::detached);
    std::thread t([&] { ioc.run(); });
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(sem.waiting(), 3u);
    const auto start = std::chrono::steady_clock::now();
    sem.set_permits(0);
    t.join();
    EXPECT_EQ(done.load(), 4);
    // All waiters ran together after the change, not one after another.
    EXPECT_LT(std::chrono::steady_clock::now() - start, 600ms);
}
