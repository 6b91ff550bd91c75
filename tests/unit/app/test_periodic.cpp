// Housekeeping jobs: run after their first delay and then at every interval, keep running
// when a run throws, and stop (joining their thread) when destroyed.
#include "app/periodic.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

namespace photoshare::app {
namespace {

using namespace std::chrono_literals;

template <class F>
bool eventually(F done, std::chrono::milliseconds within = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < deadline) {
        if (done()) return true;
        std::this_thread::sleep_for(1ms);
    }
    return done();
}

TEST(Periodic, RunsAgainAtEveryInterval) {
    std::atomic<int> runs{0};
    Periodic job("counting", 0ms, 5ms, [&] { ++runs; });
    EXPECT_TRUE(eventually([&] { return runs.load() >= 3; }));
}

TEST(Periodic, WaitsForItsFirstDelay) {
    std::atomic<int> runs{0};
    {
        Periodic job("later", 1h, 1ms, [&] { ++runs; });
        std::this_thread::sleep_for(20ms);
    }  // destroyed while waiting: it stops at once instead of waiting out the hour
    EXPECT_EQ(runs.load(), 0);
}

TEST(Periodic, KeepsRunningWhenARunThrows) {
    std::atomic<int> runs{0};
    Periodic job("failing", 0ms, 1ms, [&] {
        ++runs;
        throw std::runtime_error("the database is down");
    });
    EXPECT_TRUE(eventually([&] { return runs.load() >= 3; }));
}

TEST(Periodic, StopsWhenDestroyed) {
    std::atomic<int> runs{0};
    {
        Periodic job("stopping", 0ms, 1ms, [&] { ++runs; });
        ASSERT_TRUE(eventually([&] { return runs.load() >= 1; }));
    }
    const int after = runs.load();
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(runs.load(), after);
}

}  // namespace
}  // namespace photoshare::app
