// The front-page query and its cache.
//
// A page of the feed is cached under a key that includes the feed's generation, a counter
// in the cache store that every upload and delete increments: one increment makes every
// cached page stale, on every server at once, without deleting keys one by one. Each view
// reads the generation (one cache round trip for a shared store); the decoded page for
// that generation is kept in process, so a warm view costs no other lookup.
//
// The database is protected from stampedes three ways: concurrent misses for a page in
// one process make one query (single flight); across servers, the first to miss takes a
// short lock in the cache store and the others wait for the page it stores; and when the
// cache store is down, pages are kept in process for a second, so the database sees about
// one query per second per server instead of one per view.
#pragma once

#include "app/rate_limited_log.hpp"
#include "http/runtime.hpp"
#include "kv/kv.hpp"
#include "metrics/metrics.hpp"
#include "store/repository.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace photoshare::app {

namespace asio = boost::asio;

struct RenderedFeed;  // pages.cpp

struct FeedPage {
    std::vector<store::Photo> photos;
    std::optional<std::int64_t> next;  // cursor for older photos
    std::optional<std::int64_t> before;
    int limit = 0;
    std::int64_t generation = 0;  // -1: made while the cache store was down
    std::chrono::steady_clock::time_point made;

    // Renderings of this page kept with it (the anonymous front page), built once.
    mutable std::mutex rendered_mutex;
    mutable std::shared_ptr<const RenderedFeed> rendered;
};

struct FeedView {
    std::shared_ptr<const FeedPage> page;
    const char* source;  // "cache" or "database": where this request's copy came from
};

class Feed {
public:
    // The database query (blocking; runs on a worker): newest first, seq < before.
    using Query = std::function<std::vector<store::Photo>(std::optional<std::int64_t> before, int limit)>;

    // generation: as described above. The other two exist to be measured against:
    // delete is the seed's scheme (a page cached under a fixed key, deleted on upload, no
    // stampede protection), off queries the database on every view.
    enum class Invalidation { generation, delete_on_change, off };

    // ttl: how long a page stays in the cache store (and in process) while nothing changes.
    Feed(kv::Store& cache, http::Workers& workers, Query query, std::chrono::seconds ttl, metrics::Registry& metrics,
         Invalidation invalidation = Invalidation::generation);

    asio::awaitable<FeedView> page(std::optional<std::int64_t> before, int limit);
    // After an upload or a delete: every cached page is stale, on every server.
    asio::awaitable<void> invalidate();

private:
    std::shared_ptr<const FeedPage> from_memory(const std::string& key);
    void remember(const std::string& key, const std::shared_ptr<const FeedPage>& page);
    FeedView lookup(std::int64_t generation, std::optional<std::int64_t> before, int limit);  // blocking
    FeedView load(std::int64_t generation, std::optional<std::int64_t> before, int limit);    // blocking
    // The page stored in the cache store under key, decoded; nullptr when there is none.
    std::shared_ptr<const FeedPage> from_cache_store(const std::string& key, std::int64_t generation, std::optional<std::int64_t> before,
                                                     int limit);
    std::shared_ptr<const FeedPage> wait_for_other_server(const std::string& key, std::int64_t generation,
                                                          std::optional<std::int64_t> before, int limit);
    std::int64_t generation_now();  // blocking for remote stores; -1 when the store is down
    FeedView seed_lookup(std::optional<std::int64_t> before, int limit);  // Invalidation::delete_on_change
    std::shared_ptr<FeedPage> query_page(std::int64_t generation, std::optional<std::int64_t> before, int limit);
    void cache_failed(const kv::Unavailable& e);

    kv::Store& cache_;
    http::Workers& workers_;
    Query query_;
    std::chrono::seconds ttl_;
    Invalidation invalidation_;
    metrics::Counter& hits_;
    metrics::Counter& misses_;
    metrics::Counter& errors_;
    RateLimitedLog log_{"feed cache unavailable, serving from the database"};

    std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<const FeedPage>> memory_;  // decoded pages by key
    std::unordered_map<std::string, std::shared_ptr<std::mutex>> flights_;
    std::vector<int> seed_limits_;  // page sizes cached by the seed's scheme, to delete on change
};

}  // namespace photoshare::app
