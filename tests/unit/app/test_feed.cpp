#include "app/feed.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

using namespace photoshare;
using photoshare::app::Feed;
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

struct Fixture {
    std::unique_ptr<kv::Store> cache = kv::open("memory://");
    http::Workers workers{8};
    metrics::Registry metrics;
    std::atomic<int> queries{0};
    std::int64_t newest = 25;
    Feed feed{*cache, workers,
              [this](std::optional<std::int64_t> before, int limit) {
                  ++queries;
                  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a slow database
                  auto top = before ? *before - 1 : newest;
                  return photos(std::min<int>(limit, static_cast<int>(top)), top);
              },
              std::chrono::seconds(60), metrics};
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
                auto view = co_await f.feed.page(std::nullopt, 10);
                sources.emplace_back(view.source);
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
        auto first = co_await f.feed.page(std::nullopt, 10);
        EXPECT_EQ(first.page->photos.size(), 10u);
        EXPECT_EQ(first.page->photos.front().seq, 25);
        EXPECT_EQ(first.page->next.value_or(-1), 16);
        auto second = co_await f.feed.page(first.page->next, 10);
        EXPECT_EQ(second.page->photos.front().seq, 15);
        auto last = co_await f.feed.page(std::int64_t{6}, 10);
        EXPECT_EQ(last.page->photos.size(), 5u);
        EXPECT_FALSE(last.page->next.has_value());
    });
}

TEST(Feed, InvalidateMakesTheNextViewQueryAgain) {
    Fixture f;
    run([&]() -> asio::awaitable<void> {
        auto a = co_await f.feed.page(std::nullopt, 10);
        auto b = co_await f.feed.page(std::nullopt, 10);
        EXPECT_STREQ(a.source, "database");
        EXPECT_STREQ(b.source, "cache");
        EXPECT_EQ(f.queries.load(), 1);
        f.newest = 26;  // an upload
        co_await f.feed.invalidate();
        auto c = co_await f.feed.page(std::nullopt, 10);
        EXPECT_STREQ(c.source, "database");
        EXPECT_EQ(c.page->photos.front().seq, 26);
        EXPECT_EQ(f.queries.load(), 2);
    });
}

TEST(Feed, CachedPageSurvivesTheProcessMemoryBeingDropped) {
    // Two Feed objects over one cache store stand for two servers: the second finds the
    // page the first stored, without a query.
    Fixture f;
    std::atomic<int> other_queries{0};
    Feed other{*f.cache, f.workers, [&](std::optional<std::int64_t>, int) {
                   ++other_queries;
                   return photos(1, 1);
               },
               std::chrono::seconds(60), f.metrics};
    run([&]() -> asio::awaitable<void> {
        co_await f.feed.page(std::nullopt, 10);
        auto view = co_await other.page(std::nullopt, 10);
        EXPECT_STREQ(view.source, "cache");
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

TEST(Feed, ADeadCacheFallsBackToTheDatabase) {
    DeadStore dead;
    http::Workers workers{4};
    metrics::Registry metrics;
    int queries = 0;
    Feed feed{dead, workers, [&](std::optional<std::int64_t>, int) {
                  ++queries;
                  return photos(3, 3);
              },
              std::chrono::seconds(60), metrics};
    run([&]() -> asio::awaitable<void> {
        auto view = co_await feed.page(std::nullopt, 10);
        EXPECT_STREQ(view.source, "database");
        EXPECT_EQ(view.page->photos.size(), 3u);
        co_await feed.invalidate();  // must not throw
    });
    EXPECT_EQ(queries, 1);
    EXPECT_NE(metrics.render().find("photoshare_feed_cache_errors_total"), std::string::npos);
}

namespace {
// An in-process store that says it is remote, so Feed takes the path it takes with
// memcached or Redis (cross-server lock, generation read on a worker).
class ActsRemote final : public kv::Store {
public:
    explicit ActsRemote(kv::Store& inner) : inner_(inner) {}
    std::optional<std::string> get(std::string_view k) override { return inner_.get(k); }
    void set(std::string_view k, std::string_view v, std::chrono::seconds t) override { inner_.set(k, v, t); }
    bool add(std::string_view k, std::string_view v, std::chrono::seconds t) override { return inner_.add(k, v, t); }
    void erase(std::string_view k) override { inner_.erase(k); }
    std::int64_t incr(std::string_view k, std::int64_t d, std::chrono::seconds t) override { return inner_.incr(k, d, t); }
    void check() override {}
    bool local() const override { return false; }
    std::string describe() const override { return "remote-ish"; }

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
    auto query = [&](std::optional<std::int64_t>, int) {
        ++queries;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        return photos(3, 3);
    };
    Feed a{view_a, workers, query, std::chrono::seconds(60), metrics};
    Feed b{view_b, workers, query, std::chrono::seconds(60), metrics};
    std::vector<std::string> sources;
    std::mutex m;
    run([&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        for (Feed* f : {&a, &b, &a, &b}) {
            asio::co_spawn(ex, [&, f]() -> asio::awaitable<void> {
                auto v = co_await f->page(std::nullopt, 10);
                std::lock_guard lock(m);
                sources.emplace_back(v.source);
            }, asio::detached);
        }
        co_return;
    });
    EXPECT_EQ(queries.load(), 1);
    EXPECT_EQ(std::count(sources.begin(), sources.end(), "database"), 1);
}

TEST(Feed, AnUploadOnOneServerIsSeenByTheNextViewOnAnother) {
    auto shared = kv::open("memory://");
    ActsRemote view_a(*shared), view_b(*shared);
    http::Workers workers{4};
    metrics::Registry metrics;
    std::int64_t newest = 5;
    auto query = [&](std::optional<std::int64_t>, int) { return photos(static_cast<int>(newest), newest); };
    Feed a{view_a, workers, query, std::chrono::seconds(60), metrics};
    Feed b{view_b, workers, query, std::chrono::seconds(60), metrics};
    run([&]() -> asio::awaitable<void> {
        auto first = co_await b.page(std::nullopt, 10);
        EXPECT_EQ(first.page->photos.front().seq, 5);
        newest = 6;
        co_await a.invalidate();  // the upload happened on server a
        auto next = co_await b.page(std::nullopt, 10);
        EXPECT_EQ(next.page->photos.front().seq, 6);
    });
}

TEST(Feed, OffQueriesOnEveryView) {
    auto store = kv::open("memory://");
    http::Workers workers{2};
    metrics::Registry metrics;
    int queries = 0;
    Feed feed{*store, workers, [&](std::optional<std::int64_t>, int) {
                  ++queries;
                  return photos(2, 2);
              },
              std::chrono::seconds(60), metrics, Feed::Invalidation::off};
    run([&]() -> asio::awaitable<void> {
        for (int i = 0; i < 3; ++i) EXPECT_STREQ((co_await feed.page(std::nullopt, 10)).source, "database");
    });
    EXPECT_EQ(queries, 3);
}

TEST(Feed, TheSeedsSchemeCachesUntilDeletedAndThenStampedes) {
    auto shared = kv::open("memory://");
    ActsRemote remote(*shared);
    http::Workers workers{8};
    metrics::Registry metrics;
    std::atomic<int> queries{0};
    Feed feed{remote, workers, [&](std::optional<std::int64_t>, int) {
                  ++queries;
                  std::this_thread::sleep_for(std::chrono::milliseconds(50));
                  return photos(2, 2);
              },
              std::chrono::seconds(60), metrics, Feed::Invalidation::delete_on_change};
    run([&]() -> asio::awaitable<void> {
        EXPECT_STREQ((co_await feed.page(std::nullopt, 10)).source, "database");
        EXPECT_STREQ((co_await feed.page(std::nullopt, 10)).source, "cache");
        co_await feed.invalidate();
        // Eight concurrent views after the delete: without single flight, several query.
        auto ex = co_await asio::this_coro::executor;
        for (int i = 0; i < 8; ++i)
            asio::co_spawn(ex, [&]() -> asio::awaitable<void> { co_await feed.page(std::nullopt, 10); }, asio::detached);
    });
    EXPECT_GT(queries.load(), 2);
}
