// The in-memory copy of proxied photos: bounded in bytes, least recently used out first,
// nothing kept past its lifetime, nothing too large kept at all.
#include "app/media_cache.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

namespace photoshare::app {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<const std::string> bytes(std::size_t n, char fill) {
    return std::make_shared<const std::string>(n, fill);
}

struct FakeClock {
    std::chrono::steady_clock::time_point now{};
    MediaCache::Clock clock() {
        return [this] { return now; };
    }
};

double sample(const metrics::Registry& registry, const std::string& series) {
    const std::string text = "\n" + registry.render();
    const std::string line = "\n" + series + " ";  // a sample, not the # HELP or # TYPE line
    const auto at = text.find(line);
    return at == std::string::npos ? -1 : std::stod(text.substr(at + line.size()));
}

TEST(MediaCache, KeepsWhatFitsAndForgetsTheLeastRecentlyUsedFirst) {
    metrics::Registry registry;
    MediaCache cache(1600, 1h, registry);  // photos of at most 100 bytes
    cache.put("a", bytes(100, 'a'));
    cache.put("b", bytes(100, 'b'));
    cache.put("big", bytes(101, 'x'));  // over 1/16 of the cache: not kept
    EXPECT_EQ(cache.find("big"), nullptr);
    ASSERT_NE(cache.find("a"), nullptr);  // now "b" is the least recently used
    EXPECT_EQ(*cache.find("a"), std::string(100, 'a'));
    for (int i = 0; i < 14; ++i) cache.put("k" + std::to_string(i), bytes(100, 'k'));
    EXPECT_EQ(cache.bytes(), 1600u);
    EXPECT_EQ(cache.count(), 16u);
    cache.put("c", bytes(100, 'c'));  // one must go: "b"
    EXPECT_EQ(cache.find("b"), nullptr);
    EXPECT_NE(cache.find("a"), nullptr);
    EXPECT_NE(cache.find("c"), nullptr);
    EXPECT_EQ(cache.bytes(), 1600u);
    EXPECT_EQ(sample(registry, "photoshare_media_cache_bytes"), 1600);
}

TEST(MediaCache, ReplacingOrErasingKeepsTheByteCountRight) {
    metrics::Registry registry;
    MediaCache cache(1600, 1h, registry);
    cache.put("a", bytes(100, 'a'));
    cache.put("a", bytes(60, 'A'));
    EXPECT_EQ(cache.bytes(), 60u);
    EXPECT_EQ(*cache.find("a"), std::string(60, 'A'));
    cache.erase("a");
    cache.erase("a");  // twice is fine
    cache.erase("never");
    EXPECT_EQ(cache.bytes(), 0u);
    EXPECT_EQ(cache.count(), 0u);
    EXPECT_EQ(cache.find("a"), nullptr);
    EXPECT_EQ(sample(registry, "photoshare_media_cache_bytes"), 0);
}

TEST(MediaCache, NothingIsServedPastItsLifetime) {
    metrics::Registry registry;
    FakeClock clock;
    MediaCache cache(1600, 10s, registry, clock.clock());
    cache.put("a", bytes(10, 'a'));
    clock.now += 9s;
    EXPECT_NE(cache.find("a"), nullptr);  // a hit does not extend the lifetime
    clock.now += 1s;
    EXPECT_EQ(cache.find("a"), nullptr);
    EXPECT_EQ(cache.count(), 0u);
    EXPECT_EQ(cache.bytes(), 0u);
}

TEST(MediaCache, CountsHitsAndMisses) {
    metrics::Registry registry;
    MediaCache cache(1600, 1h, registry);
    cache.put("a", bytes(10, 'a'));
    cache.find("a");
    cache.find("a");
    cache.find("b");
    EXPECT_EQ(sample(registry, "photoshare_media_cache_requests_total{result=\"hit\"}"), 2);
    EXPECT_EQ(sample(registry, "photoshare_media_cache_requests_total{result=\"miss\"}"), 1);
}

TEST(MediaCache, ZeroBytesTurnsItOff) {
    metrics::Registry registry;
    MediaCache cache(0, 1h, registry);
    EXPECT_FALSE(cache.enabled());
    EXPECT_FALSE(cache.fits(1));
    cache.put("a", bytes(1, 'a'));
    EXPECT_EQ(cache.find("a"), nullptr);
    EXPECT_EQ(cache.count(), 0u);
}

}  // namespace
}  // namespace photoshare::app
