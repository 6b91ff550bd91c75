// Feed strategies kept to measure the design against (cache.invalidation = delete | off);
// feed.hpp has the one the site runs with.
#pragma once

#include "app/feed.hpp"

#include <mutex>
#include <vector>

namespace photoshare::app {

// The seed's scheme: a page cached under a fixed key, read through the cache store and
// deleted on change, with no stampede protection: every view after a delete queries until
// one of them refills the key.
class DeleteOnChangeFeed final : public Feed {
public:
    DeleteOnChangeFeed(kv::Store& cache, http::Workers& workers, Query query, std::chrono::seconds ttl, metrics::Registry& metrics);
    asio::awaitable<FeedView> page(FeedCursor cursor, int limit, std::int64_t seen = 0) override;
    asio::awaitable<std::int64_t> changed() override;

private:
    FeedView lookup(const FeedCursor& cursor, int limit);  // blocking
    void cache_failed(const kv::Unavailable& e);

    kv::Store& cache_;
    http::Workers& workers_;
    Query query_;
    const std::chrono::seconds ttl_;
    FeedMetrics counts_;
    RateLimitedLog log_{"feed cache unavailable, serving from the database"};
    std::mutex mutex_;
    std::vector<int> limits_;  // page sizes cached, to delete on change
};

// No cache: every view queries the database.
class UncachedFeed final : public Feed {
public:
    UncachedFeed(http::Workers& workers, Query query, metrics::Registry& metrics);
    asio::awaitable<FeedView> page(FeedCursor cursor, int limit, std::int64_t seen = 0) override;
    asio::awaitable<std::int64_t> changed() override { co_return 0; }

private:
    http::Workers& workers_;
    Query query_;
    FeedMetrics counts_;
};

}  // namespace photoshare::app
