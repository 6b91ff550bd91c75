// The front-page query and its cache. A page of the feed is cached under a key that
// includes the feed's generation; an upload or delete bumps the generation, so every
// cached page is stale at once without deleting keys one by one. Concurrent misses for the
// same page make one database query (single flight), and decoded pages stay in process.
#pragma once

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
    std::int64_t generation = 0;

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

    Feed(kv::Store& cache, http::Workers& workers, Query query, std::chrono::seconds ttl, metrics::Registry& metrics);

    asio::awaitable<FeedView> page(std::optional<std::int64_t> before, int limit);
    // After an upload or a delete: every cached page is stale.
    asio::awaitable<void> invalidate();

private:
    std::shared_ptr<const FeedPage> from_memory(const std::string& key);
    void remember(const std::string& key, const std::shared_ptr<const FeedPage>& page);
    FeedView load(std::int64_t generation, std::optional<std::int64_t> before, int limit);  // blocking
    std::int64_t generation_now();                                                        // blocking for remote stores

    kv::Store& cache_;
    http::Workers& workers_;
    Query query_;
    std::chrono::seconds ttl_;
    metrics::Counter& hits_;
    metrics::Counter& misses_;
    metrics::Counter& errors_;

    std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<const FeedPage>> memory_;  // decoded pages by key
    std::unordered_map<std::string, std::shared_ptr<std::mutex>> flights_;
};

}  // namespace photoshare::app
