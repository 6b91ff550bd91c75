// The front-page query and its cache.
//
// `Feed` is what handlers use; wiring chooses the strategy. `GenerationFeed` is the design:
// a page of the feed is cached under a key that includes the feed's generation, a counter in
// the cache store that every upload and delete increments, so one increment makes every
// cached page stale on every server at once, without deleting keys one by one.
//
// Each server keeps the generation in process (kv::SharedCounter: refreshed in the
// background, pushed at once by Redis) with the decoded pages for it, so a warm view costs
// no round trip and no thread hop. What that near copy may lag by is bounded by
// cache.max_staleness: an upload on one server shows on every other within that bound. The
// person who made the change sees it at once, on any server: their request carries the
// generation their change produced (`seen`), and a server whose copy is older reads the
// store for that request.
//
// The database is protected from stampedes three ways: concurrent misses for a page in
// one process make one query (single flight); across servers, the first to miss takes a
// short lock in the cache store and the others wait for the page it stores; and when the
// cache store is down, pages are kept in process for a second, so the database sees about
// one query per second per server instead of one per view.
//
// The seed's delete-on-change scheme and no cache at all are in feed_baselines.hpp, to be
// measured against.
#pragma once

#include "app/rate_limited_log.hpp"
#include "http/form.hpp"
#include "http/runtime.hpp"
#include "kv/kv.hpp"
#include "kv/shared_counter.hpp"
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

// Where a page of the feed starts: the newest photos (neither set), the photos older than
// the photo `before` (the next page), or the page just newer than the photo `after` (the
// page before it, going back towards the newest).
struct FeedCursor {
    std::optional<std::int64_t> before;
    std::optional<std::int64_t> after;
    bool latest() const { return !before && !after; }
    std::string text() const;  // "latest", "b123" or "a123"
};

// The cursor of a page request: ?before=N or ?after=N (N a photo's seq), neither for the
// newest; throws HttpError 400 bad_cursor when malformed or both are given.
FeedCursor parse_cursor(const http::Fields& query);

// Which page of the feed: `limit` photos from `cursor`, as of a generation of the feed (-1:
// while the cache store is unavailable; the baselines, which have no generations, use 0).
struct FeedPageKey {
    std::int64_t generation = 0;
    FeedCursor cursor;
    int limit = 0;
    // Its name in the cache store and in process memory.
    std::string text() const;
};

// One page of the feed as queried: immutable once made, shared by every request that shows it.
struct FeedPage {
    std::vector<store::Photo> photos;
    std::optional<std::int64_t> next;      // cursor for older photos (?before=)
    std::optional<std::int64_t> previous;  // cursor for newer photos (?after=); none on the newest page
    FeedCursor cursor;                     // as asked for
    int limit = 0;
    std::int64_t generation = 0;  // -1: made while the cache store was unavailable
    std::chrono::steady_clock::time_point made;
};

// Where a request's copy of the page came from.
enum class FeedSource {
    cache,       // the cache (in process or the cache store), for the current generation
    database,    // queried for this request
    local_copy,  // the cache store is unavailable: this server's copy, at most a second old
};
// As X-Feed-Source says it: "cache", "database", "local".
const char* header_value(FeedSource source);
// As the page footer says it ("feed from ...").
const char* footer_text(FeedSource source);

struct FeedView {
    std::shared_ptr<const FeedPage> page;
    FeedSource source;
};

// The feed's counters in /metrics, the same for every strategy.
struct FeedMetrics {
    explicit FeedMetrics(metrics::Registry& registry);
    metrics::Counter& hits;         // result="hit": from the cache
    metrics::Counter& misses;       // result="miss": queried, the cache did not have it
    metrics::Counter& unavailable;  // result="unavailable": served while the cache could not be used
    metrics::Counter& errors;       // cache operations that failed
};

class Feed {
public:
    // The database query (blocking; runs on a worker): Repository::photos.
    using Query = std::function<std::vector<store::Photo>(const store::PhotoRange& range)>;

    virtual ~Feed() = default;
    // A page, newest first, from cursor. seen: the generation this visitor's own last change
    // produced (0: none); the page is at least that new.
    virtual asio::awaitable<FeedView> page(FeedCursor cursor, int limit, std::int64_t seen = 0) = 0;
    // After an upload or a delete: every cached page is stale, on every server. Returns the
    // generation the change produced, for the writer's `seen` (0: none to carry).
    virtual asio::awaitable<std::int64_t> changed() = 0;
};

class GenerationFeed final : public Feed {
public:
    static constexpr const char* generation_key = "feed:generation";  // in the cache store

    struct Options {
        std::chrono::seconds ttl{60};  // how long a page stays cached while nothing changes
        // How far this server's copy of the generation may lag behind the cache store's
        // (0: read the store on every view).
        std::chrono::milliseconds max_staleness{100};
    };
    GenerationFeed(kv::Store& cache, http::Workers& workers, Query query, Options options, metrics::Registry& metrics);

    asio::awaitable<FeedView> page(FeedCursor cursor, int limit, std::int64_t seen = 0) override;
    asio::awaitable<std::int64_t> changed() override;

    const kv::SharedCounter& generation() const { return generation_; }

private:
    // The decoded page for key in process memory, if it is young enough.
    std::shared_ptr<const FeedPage> from_memory(const std::string& key);
    void remember(const std::string& key, const std::shared_ptr<const FeedPage>& page);
    // The rest of a lookup once the generation is known (blocking): single flight, the
    // cache store, the lock across servers, the database.
    FeedView load(const FeedPageKey& key);
    // The page stored in the cache store, decoded; nullptr when there is none.
    std::shared_ptr<const FeedPage> from_cache_store(const FeedPageKey& key, const std::string& name);
    std::shared_ptr<const FeedPage> wait_for_other_server(const FeedPageKey& key, const std::string& name);
    std::int64_t read_generation();  // blocking; -1 when the store is unavailable
    void cache_failed(const std::exception& e);

    kv::Store& cache_;
    http::Workers& workers_;
    Query query_;
    const std::chrono::seconds ttl_;
    FeedMetrics counts_;
    RateLimitedLog log_{"feed cache unavailable, serving from the database"};
    kv::SharedCounter generation_;

    std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<const FeedPage>> memory_;  // decoded pages by key
    std::unordered_map<std::string, std::shared_ptr<std::mutex>> flights_;
};

// What every strategy shares (and a user's page too): the query of one page, with the extra
// row that tells whether older (or, going back, newer) photos exist. A step back that would
// show fewer than a page is the newest page instead.
std::shared_ptr<FeedPage> query_feed_page(const Feed::Query& query, const FeedPageKey& key);
// A page of one user's photos, paged as the feed is (blocking; on a worker). Not cached:
// a user's page is asked for far less often than the front page.
std::shared_ptr<FeedPage> query_user_page(store::Repository& repo, std::int64_t user_id, const FeedPageKey& key);
// A page as stored in a cache store, and back (nullptr when it is not one).
std::string encode_feed_page(const FeedPage& page);
std::shared_ptr<FeedPage> decode_feed_page(const std::string& text);

}  // namespace photoshare::app
