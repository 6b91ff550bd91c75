#include "app/feed.hpp"
#include "app/feed_baselines.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

using namespace photoshare;
using photoshare::app::DeleteOnChangeFeed;
using photoshare::app::Feed;
using photoshare::app::FeedSource;
using photoshare::app::GenerationFeed;
using photoshare::app::UncachedFeed;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

std::vector<store::Photo> photos(int n, std::int64_t top) {
    std::vector<store::Photo> out;
    for (int i = 0; i < n; ++i) {
        store::Photo p;
        p.seq = top - i;
        p.id = "p" + std::to_string(p.seq);
        p.username = "alice";
        out.push_back(p);
    }
    return out;
}

// Runs coroutines to completion on one I/O thread.
template <class F>
void run(F make) {
    asio::io_context ioc;
    asio::co_spawn(ioc, make(), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
    });
    ioc.run();
}

const char* source(FeedSource s) { return photoshare::app::header_value(s); }

// Waits until a feed's copy of the generation has been confirmed (its poller's first read).
void wait_fresh(const GenerationFeed& feed) {
    for (int i = 0; i < 500 && feed.generation().near().state != kv::SharedCounter::State::fresh; ++i)
        std::this_thread::sleep_for(2ms);
}

struct Fixture {
    std::unique_ptr<kv::Store> cache = kv::open("memory://");
    http::Workers workers{8};
    metrics::Registry metrics;
    std::atomic<int> queries{0};
    std::int64_t newest = 25;
    GenerationFeed feed{*cache, workers,
                        [this](const store::PhotoRange& range) {
                            ++queries;
                            std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a slow database
                            auto top = range.before ? *range.before - 1 : newest;
                            return photos(std::min<int>(range.limit, static_cast<int>(top)), top);
                        },
                        {}, metrics};
};

}  // namespace

TEST(Feed, ConcurrentMissesMakeOneQuery) {
    Fixture f;
    std::vector<std::string> sources;
    run([&]() -> asio::awaitable<void> {
        // 16 requests for the same page, all started before the first query returns.
        std::atomic<int> done{0};
        auto ex = co_await asio::this_coro::executor;
        for (int i = 0; i < 16; ++i) {
            asio::co_spawn(ex, [&]() -> asio::awaitable<void> {
                auto view = co_await f.feed.page({}, 10);
                sources.emplace_back(source(view.source));
                ++done;
            }, asio::detached);
        }
        co_return;
    });
    EXPECT_EQ(f.queries.load(), 1);
    ASSERT_EQ(sources.size(), 16u);
    EXPECT_EQ(std::count(sources.begin(), sources.end(), "database"), 1);
    EXPECT_EQ(std::count(sources.begin(), sources.end(), "cache"), 15);
}

TEST(Feed, PagesCarryTheCursorForOlderPhotos) {
    Fixture f;
    run([&]() -> asio::awaitable<void> {
        auto first = co_await f.feed.page({}, 10);
        EXPECT_EQ(first.page->photos.size(), 10u);
        EXPECT_EQ(first.page->photos.front().seq, 25);
        EXPECT_EQ(first.page->next.value_or(-1), 16);
        auto second = co_await f.feed.page({.before = first.page->next}, 10);
        EXPECT_EQ(second.page->photos.front().seq, 15);
        auto last = co_await f.feed.page({.before = 6}, 10);
        EXPECT_EQ(last.page->photos.size(), 5u);
        EXPECT_FALSE(last.page->next.has_value());
    });
}

TEST(Feed, AChangeMakesTheNextViewQueryAgain) {
    Fixture f;
    run([&]() -> asio::awaitable<void> {
        auto a = co_await f.feed.page({}, 10);
        auto b = co_await f.feed.page({}, 10);
        EXPECT_STREQ(source(a.source), "database");
        EXPECT_STREQ(source(b.source), "cache");
        EXPECT_EQ(f.queries.load(), 1);
        f.newest = 26;  // an upload
        // In process (memory://) there is no other server to tell: nothing for the writer to carry.
        EXPECT_EQ(co_await f.feed.changed(), 0);
        auto c = co_await f.feed.page({}, 10);
        EXPECT_STREQ(source(c.source), "database");
        EXPECT_EQ(c.page->photos.front().seq, 26);
        EXPECT_EQ(f.queries.load(), 2);
    });
}

TEST(Feed, CachedPageSurvivesTheProcessMemoryBeingDropped) {
    // Two Feed objects over one cache store stand for two servers: the second finds the
    // page the first stored, without a query.
    Fixture f;
    std::atomic<int> other_queries{0};
    GenerationFeed other{*f.cache, f.workers,
                         [&](const store::PhotoRange&) {
                             ++other_queries;
                             return photos(1, 1);
                         },
                         {}, f.metrics};
    run([&]() -> asio::awaitable<void> {
        co_await f.feed.page({}, 10);
        auto view = co_await other.page({}, 10);
        EXPECT_STREQ(source(view.source), "cache");
        EXPECT_EQ(view.page->photos.size(), 10u);
    });
    EXPECT_EQ(other_queries.load(), 0);
}

namespace {
// A cache that is down: every call fails as a network store's would.
class DeadStore final : public kv::Store {
public:
    std::optional<std::string> get(std::string_view) override { throw kv::Unavailable("down"); }
    void set(std::string_view, std::string_view, std::chrono::seconds) override { throw kv::Unavailable("down"); }
    bool add(std::string_view, std::string_view, std::chrono::seconds) override { throw kv::Unavailable("down"); }
    void erase(std::string_view) override { throw kv::Unavailable("down"); }
    std::int64_t incr(std::string_view, std::int64_t, std::chrono::seconds) override { throw kv::Unavailable("down"); }
    void check() override { throw kv::Unavailable("down"); }
    std::string describe() const override { return "dead"; }
};
}  // namespace

TEST(Feed, ADeadCacheFallsBackToTheDatabaseAndSaysSo) {
    DeadStore dead;
    http::Workers workers{4};
    metrics::Registry metrics;
    int queries = 0;
    GenerationFeed feed{dead, workers,
                        [&](const store::PhotoRange&) {
                            ++queries;
                            return photos(3, 3);
                        },
                        {}, metrics};
    run([&]() -> asio::awaitable<void> {
        auto view = co_await feed.page({}, 10);
        EXPECT_STREQ(source(view.source), "database");
        EXPECT_EQ(view.page->photos.size(), 3u);
        // The next view within a second gets this server's copy, and says so: not "cache".
        auto again = co_await feed.page({}, 10);
        EXPECT_STREQ(source(again.source), "local");
        EXPECT_EQ(again.page, view.page);
        EXPECT_EQ(co_await feed.changed(), 0);  // must not throw; nothing to carry
    });
    EXPECT_EQ(queries, 1);
    const auto text = metrics.render();
    EXPECT_NE(text.find("photoshare_feed_cache_errors_total"), std::string::npos);
    EXPECT_NE(text.find("photoshare_feed_cache_requests_total{result=\"unavailable\"} 2"), std::string::npos) << text;
    EXPECT_NE(text.find("photoshare_feed_cache_requests_total{result=\"hit\"} 0"), std::string::npos) << text;
}

namespace {
// An in-process store that says it is remote, so Feed takes the path it takes with
// memcached or Redis (near copy with a poller, cross-server lock, reads on a worker). It
// counts the reads of the generation.
class ActsRemote final : public kv::Store {
public:
    explicit ActsRemote(kv::Store& inner) : inner_(inner) {}
    std::optional<std::string> get(std::string_view k) override {
        if (k == GenerationFeed::generation_key) ++generation_reads;
        return inner_.get(k);
    }
    void set(std::string_view k, std::string_view v, std::chrono::seconds t) override { inner_.set(k, v, t); }
    bool add(std::string_view k, std::string_view v, std::chrono::seconds t) override { return inner_.add(k, v, t); }
    void erase(std::string_view k) override { inner_.erase(k); }
    std::int64_t incr(std::string_view k, std::int64_t d, std::chrono::seconds t) override { return inner_.incr(k, d, t); }
    void check() override {}
    bool local() const override { return false; }
    std::string describe() const override { return "remote-ish"; }
    std::atomic<int> generation_reads{0};

private:
    kv::Store& inner_;
};
}  // namespace

TEST(Feed, TwoServersMissingAtOnceMakeOneQuery) {
    auto shared = kv::open("memory://");
    ActsRemote view_a(*shared), view_b(*shared);
    http::Workers workers{8};
    metrics::Registry metrics;
    std::atomic<int> queries{0};
    auto query = [&](const store::PhotoRange&) {
        ++queries;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        return photos(3, 3);
    };
    GenerationFeed a{view_a, workers, query, {}, metrics};
    GenerationFeed b{view_b, workers, query, {}, metrics};
    std::vector<std::string> sources;
    std::mutex m;
    run([&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        for (GenerationFeed* f : {&a, &b, &a, &b}) {
            asio::co_spawn(ex, [&, f]() -> asio::awaitable<void> {
                auto v = co_await f->page({}, 10);
                std::lock_guard lock(m);
                sources.emplace_back(source(v.source));
            }, asio::detached);
        }
        co_return;
    });
    EXPECT_EQ(queries.load(), 1);
    EXPECT_EQ(std::count(sources.begin(), sources.end(), "database"), 1);
}

namespace {
// Two servers, a and b, over one (remote-looking) cache store and one database whose newest
// photo is `newest`.
struct TwoServers {
    explicit TwoServers(std::chrono::milliseconds max_staleness)
        : a{view_a, workers, query(), {.max_staleness = max_staleness}, metrics}, b{view_b, workers, query(), {.max_staleness = max_staleness}, metrics} {
        wait_fresh(a);
        wait_fresh(b);
    }
    Feed::Query query() {
        return [this](const store::PhotoRange&) { return photos(static_cast<int>(newest.load()), newest.load()); };
    }
    std::unique_ptr<kv::Store> shared = kv::open("memory://");
    ActsRemote view_a{*shared}, view_b{*shared};
    http::Workers workers{4};
    metrics::Registry metrics;
    std::atomic<std::int64_t> newest{5};
    GenerationFeed a, b;
};
}  // namespace

// With a bound of 10 s, another server's copy is still the old generation right after a
// change; its writer, carrying the generation the change produced, sees the change at once
// there, and so does everyone on that server after it (the read raised its copy).
TEST(Feed, TheWriterSeesTheirChangeAtOnceOnAnotherServer) {
    TwoServers servers(10s);
    auto& a = servers.a;
    auto& b = servers.b;
    auto& newest = servers.newest;
    run([&]() -> asio::awaitable<void> {
        auto first = co_await b.page({}, 10);
        EXPECT_EQ(first.page->photos.front().seq, 5);
        newest = 6;
        const auto made = co_await a.changed();  // the upload happened on server a
        EXPECT_GT(made, 0);
        EXPECT_EQ((co_await b.page({}, 10)).page->photos.front().seq, 5) << "b's copy is within its bound";
        auto own = co_await b.page({}, 10, made);
        EXPECT_EQ(own.page->photos.front().seq, 6) << "the writer does not see their own upload on b";
        EXPECT_EQ((co_await b.page({}, 10)).page->photos.front().seq, 6);
    });
}

// Without the writer's generation, every other server sees a change within max_staleness.
TEST(Feed, EveryServerSeesAChangeWithinTheBound) {
    TwoServers servers(100ms);
    auto& a = servers.a;
    auto& b = servers.b;
    auto& newest = servers.newest;
    double seen_after = -1;
    run([&]() -> asio::awaitable<void> {
        EXPECT_EQ((co_await b.page({}, 10)).page->photos.front().seq, 5);
        newest = 6;
        co_await a.changed();
        const auto changed_at = std::chrono::steady_clock::now();
        for (int i = 0; i < 200; ++i) {
            if ((co_await b.page({}, 10)).page->photos.front().seq == 6) {
                seen_after = std::chrono::duration<double>(std::chrono::steady_clock::now() - changed_at).count();
                break;
            }
            co_await http::sleep_for(5ms);
        }
    });
    ASSERT_GE(seen_after, 0) << "b never saw the change";
    // The bound, with room for a loaded machine's scheduling (the poller runs every 50 ms).
    EXPECT_LT(seen_after, 0.5);
}

// A warm view is answered from the copy: no read of the store per view.
TEST(Feed, AWarmViewDoesNotReadTheStore) {
    auto shared = kv::open("memory://");
    ActsRemote remote(*shared);
    http::Workers workers{2};
    metrics::Registry metrics;
    GenerationFeed feed{remote, workers, [](const store::PhotoRange&) { return photos(2, 2); }, {.max_staleness = 10s}, metrics};
    wait_fresh(feed);
    int reads_during = -1;
    run([&]() -> asio::awaitable<void> {
        co_await feed.page({}, 10);
        const int before = remote.generation_reads.load();
        for (int i = 0; i < 100; ++i) EXPECT_STREQ(source((co_await feed.page({}, 10)).source), "cache");
        reads_during = remote.generation_reads.load() - before;
    });
    EXPECT_EQ(reads_during, 0);
    EXPECT_EQ(feed.generation().stats().reads, 0u);
}

// max_staleness 0 is the old design: one read of the generation per view.
TEST(Feed, ZeroStalenessReadsTheStoreOnEveryView) {
    auto shared = kv::open("memory://");
    ActsRemote remote(*shared);
    http::Workers workers{2};
    metrics::Registry metrics;
    GenerationFeed feed{remote, workers, [](const store::PhotoRange&) { return photos(2, 2); }, {.max_staleness = 0ms}, metrics};
    run([&]() -> asio::awaitable<void> {
        for (int i = 0; i < 5; ++i) co_await feed.page({}, 10);
    });
    EXPECT_GE(remote.generation_reads.load(), 5);
}

TEST(Feed, OffQueriesOnEveryView) {
    http::Workers workers{2};
    metrics::Registry metrics;
    int queries = 0;
    UncachedFeed feed{workers,
                      [&](const store::PhotoRange&) {
                          ++queries;
                          return photos(2, 2);
                      },
                      metrics};
    run([&]() -> asio::awaitable<void> {
        for (int i = 0; i < 3; ++i) EXPECT_STREQ(source((co_await feed.page({}, 10)).source), "database");
    });
    EXPECT_EQ(queries, 3);
}

TEST(Feed, TheSeedsSchemeCachesUntilDeletedAndThenStampedes) {
    auto shared = kv::open("memory://");
    ActsRemote remote(*shared);
    http::Workers workers{8};
    metrics::Registry metrics;
    std::atomic<int> queries{0};
    DeleteOnChangeFeed feed{remote, workers,
                            [&](const store::PhotoRange&) {
                                ++queries;
                                std::this_thread::sleep_for(std::chrono::milliseconds(50));
                                return photos(2, 2);
                            },
                            std::chrono::seconds(60), metrics};
    run([&]() -> asio::awaitable<void> {
        EXPECT_STREQ(source((co_await feed.page({}, 10)).source), "database");
        EXPECT_STREQ(source((co_await feed.page({}, 10)).source), "cache");
        co_await feed.changed();
        // Eight concurrent views after the delete: without single flight, several query.
        auto ex = co_await asio::this_coro::executor;
        for (int i = 0; i < 8; ++i)
            asio::co_spawn(ex, [&]() -> asio::awaitable<void> { co_await feed.page({}, 10); }, asio::detached);
    });
    EXPECT_GT(queries.load(), 2);
}
