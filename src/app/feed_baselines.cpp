#include "app/feed_baselines.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace photoshare::app {

namespace {
std::string seed_key(const FeedCursor& cursor, int limit) { return fmt::format("feed:seed:{}:{}", cursor.text(), limit); }
}  // namespace

DeleteOnChangeFeed::DeleteOnChangeFeed(kv::Store& cache, http::Workers& workers, Query query, std::chrono::seconds ttl,
                                       metrics::Registry& metrics)
    : cache_(cache),
      workers_(workers),
      query_(std::move(query)),
      ttl_(ttl),
      counts_(metrics) {}

void DeleteOnChangeFeed::cache_failed(const kv::Unavailable& e) {
    counts_.errors.inc();
    log_.warn(e.what());
}

FeedView DeleteOnChangeFeed::lookup(const FeedCursor& cursor, int limit) {
    const auto key = seed_key(cursor, limit);
    {
        std::lock_guard lock(mutex_);
        if (cursor.latest() && std::find(limits_.begin(), limits_.end(), limit) == limits_.end()) limits_.push_back(limit);
    }
    try {
        if (auto cached = cache_.get(key)) {
            if (auto page = decode_feed_page(*cached)) {
                counts_.hits.inc();
                page->cursor = cursor;
                page->limit = limit;
                return {std::move(page), FeedSource::cache};
            }
        }
    } catch (const kv::Unavailable& e) {
        cache_failed(e);
    }
    counts_.misses.inc();
    auto page = query_feed_page(query_, {0, cursor, limit});
    try {
        cache_.set(key, encode_feed_page(*page), ttl_);
    } catch (const kv::Unavailable& e) {
        cache_failed(e);
    }
    return {std::move(page), FeedSource::database};
}

asio::awaitable<FeedView> DeleteOnChangeFeed::page(FeedCursor cursor, int limit, std::int64_t /*seen*/) {
    co_return co_await workers_.call([this, cursor, limit] { return lookup(cursor, limit); });
}

asio::awaitable<std::int64_t> DeleteOnChangeFeed::changed() {
    std::vector<int> limits;
    {
        std::lock_guard lock(mutex_);
        limits = limits_;
    }
    co_await workers_.run([this, limits] {
        try {
            for (int limit : limits) cache_.erase(seed_key({}, limit));
        } catch (const kv::Unavailable& e) {
            cache_failed(e);
        }
    });
    co_return 0;  // the next view anywhere reads the store: nothing to carry
}

UncachedFeed::UncachedFeed(http::Workers& workers, Query query, metrics::Registry& metrics)
    : workers_(workers),
      query_(std::move(query)),
      counts_(metrics) {}

asio::awaitable<FeedView> UncachedFeed::page(FeedCursor cursor, int limit, std::int64_t /*seen*/) {
    co_return co_await workers_.call([this, cursor, limit] {
        counts_.misses.inc();
        return FeedView{query_feed_page(query_, {0, cursor, limit}), FeedSource::database};
    });
}

}  // namespace photoshare::app
