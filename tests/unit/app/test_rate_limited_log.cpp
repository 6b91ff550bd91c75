#include "app/rate_limited_log.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace photoshare::app {
namespace {

using namespace std::chrono_literals;

struct Recorder {
    std::chrono::steady_clock::duration elapsed{};
    std::vector<std::string> lines;
    RateLimitedLog log{"cache down", 10s, [this] { return std::chrono::steady_clock::time_point{} + 1h + elapsed; },
                       [this](const std::string& line) { lines.push_back(line); }};
};

TEST(RateLimitedLog, TheFirstWarningIsLoggedAsIsAndRepeatsWithinTheIntervalAreLeftOut) {
    Recorder r;
    r.log.warn("connection refused");
    for (int i = 0; i < 5; ++i) {
        r.elapsed += 1s;
        r.log.warn("connection refused");
    }
    ASSERT_EQ(r.lines.size(), 1u);
    EXPECT_EQ(r.lines[0], "cache down: connection refused");
}

TEST(RateLimitedLog, TheNextLineCountsWhatWasLeftOutOverTheTimeSinceTheLastOneLogged) {
    Recorder r;
    r.log.warn("connection refused");
    r.elapsed = 2s;
    r.log.warn("timed out");  // left out: another message, the same subject
    r.elapsed = 3s;
    r.log.warn("connection refused");
    r.elapsed = 95s;  // a quiet stretch, far longer than the interval
    r.log.warn("connection refused");
    ASSERT_EQ(r.lines.size(), 2u);
    EXPECT_EQ(r.lines[1], "cache down: connection refused (2 more warnings of this kind left out in the 95 s since the last one logged)");
    r.elapsed = 105s;
    r.log.warn("timed out");
    ASSERT_EQ(r.lines.size(), 3u);
    EXPECT_EQ(r.lines[2], "cache down: timed out") << "nothing was left out since the last line";
}

TEST(RateLimitedLog, OneLeftOutIsSingular) {
    Recorder r;
    r.log.warn("a");
    r.elapsed = 1s;
    r.log.warn("b");
    r.elapsed = 10s;
    r.log.warn("c");
    ASSERT_EQ(r.lines.size(), 2u);
    EXPECT_EQ(r.lines[1], "cache down: c (1 more warning of this kind left out in the 10 s since the last one logged)");
}

}  // namespace
}  // namespace photoshare::app
