#include "app/feed.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

namespace photoshare::app {

namespace {

constexpr const char* kGenerationKey = "feed:generation";
constexpr std::size_t kMaxPagesInMemory = 1024;           // `before` comes from clients: bound what they can fill
constexpr auto kOfflineTtl = std::chrono::seconds(1);     // cache store down: keep a page in process this long
constexpr auto kLockTtl = std::chrono::seconds(5);        // a server computing a page holds the lock at most this long
constexpr auto kLockWait = std::chrono::milliseconds(1000);  // others wait this long for its page
constexpr auto kLockPoll = std::chrono::milliseconds(20);

std::string key_for(std::int64_t generation, std::optional<std::int64_t> before, int limit) {
    return fmt::format("feed:v1:{}:{}:{}", generation < 0 ? std::string("offline") : std::to_string(generation),
                       before ? std::to_string(*before) : "latest", limit);
}

std::string encode(const FeedPage& page) {
    boost::json::array photos;
    for (const auto& p : page.photos) {
        photos.push_back(boost::json::object{{"seq", p.seq},           {"id", p.id},         {"user_id", p.user_id},
                                             {"username", p.username}, {"width", p.width},   {"height", p.height},
                                             {"tw", p.thumb_width},    {"th", p.thumb_height}, {"bytes", p.bytes},
                                             {"created_at", p.created_at}});
    }
    boost::json::object o{{"photos", std::move(photos)}};
    if (page.next) o["next"] = *page.next;
    return boost::json::serialize(o);
}

std::shared_ptr<FeedPage> decode(const std::string& text) {
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    if (ec || !v.is_object()) return nullptr;
    try {
        auto page = std::make_shared<FeedPage>();
        const auto& o = v.as_object();
        for (const auto& item : o.at("photos").as_array()) {
            const auto& j = item.as_object();
            store::Photo p;
            p.seq = j.at("seq").as_int64();
            p.id = std::string(j.at("id").as_string());
            p.user_id = j.at("user_id").as_int64();
            p.username = std::string(j.at("username").as_string());
            p.width = static_cast<int>(j.at("width").as_int64());
            p.height = static_cast<int>(j.at("height").as_int64());
            p.thumb_width = static_cast<int>(j.at("tw").as_int64());
            p.thumb_height = static_cast<int>(j.at("th").as_int64());
            p.bytes = j.at("bytes").as_int64();
            p.created_at = j.at("created_at").as_int64();
            page->photos.push_back(std::move(p));
        }
        if (auto it = o.find("next"); it != o.end()) page->next = it->value().as_int64();
        return page;
    } catch (const std::exception&) {
        return nullptr;  // a stale format from another version: treat as a miss
    }
}

}  // namespace

Feed::Feed(kv::Store& cache, http::Workers& workers, Query query, std::chrono::seconds ttl, metrics::Registry& metrics,
           Invalidation invalidation)
    : cache_(cache),
      workers_(workers),
      query_(std::move(query)),
      ttl_(ttl),
      invalidation_(invalidation),
      hits_(metrics.counter("photoshare_feed_cache_requests_total", "Front-page feed lookups by result", {{"result", "hit"}})),
      misses_(metrics.counter("photoshare_feed_cache_requests_total", "Front-page feed lookups by result", {{"result", "miss"}})),
      errors_(metrics.counter("photoshare_feed_cache_errors_total", "Feed cache operations that failed (served from the database)")) {}

void Feed::cache_failed(const kv::Unavailable& e) {
    errors_.inc();
    log_.warn(e.what());
}

namespace {
// Generations start from the clock (in microseconds), never from 0 or 1: if the cache
// server holding the counter restarts, the counter starts again from a value no cached page
// (some may survive on other nodes) was ever stored under.
constexpr std::int64_t kFreshGenerationFloor = 1'000'000'000'000'000;  // year 2001 in µs
std::int64_t fresh_generation() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

std::int64_t Feed::generation_now() {
    try {
        auto v = cache_.get(kGenerationKey);
        if (!v) {
            cache_.add(kGenerationKey, std::to_string(fresh_generation()), std::chrono::seconds(0));
            v = cache_.get(kGenerationKey);
            if (!v) return -1;
        }
        return std::stoll(*v);
    } catch (const kv::Unavailable& e) {
        cache_failed(e);
        return -1;
    } catch (const std::exception&) {
        return -1;  // not a number: treat as no usable cache rather than guess
    }
}

std::shared_ptr<const FeedPage> Feed::from_memory(const std::string& key) {
    std::lock_guard lock(mutex_);
    auto it = memory_.find(key);
    if (it == memory_.end()) return nullptr;
    const auto max_age = it->second->generation < 0 ? std::chrono::duration_cast<std::chrono::steady_clock::duration>(kOfflineTtl)
                                                     : std::chrono::duration_cast<std::chrono::steady_clock::duration>(ttl_);
    if (std::chrono::steady_clock::now() - it->second->made > max_age) {
        memory_.erase(it);
        return nullptr;
    }
    return it->second;
}

void Feed::remember(const std::string& key, const std::shared_ptr<const FeedPage>& page) {
    std::lock_guard lock(mutex_);
    // Pages of older generations are never asked for again.
    for (auto it = memory_.begin(); it != memory_.end();)
        it = it->second->generation != page->generation ? memory_.erase(it) : std::next(it);
    if (memory_.size() >= kMaxPagesInMemory) memory_.clear();
    memory_[key] = page;
}

std::shared_ptr<const FeedPage> Feed::from_cache_store(const std::string& key, std::int64_t generation, std::optional<std::int64_t> before,
                                                       int limit) {
    auto cached = cache_.get(key);
    if (!cached) return nullptr;
    auto page = decode(*cached);
    if (!page) return nullptr;
    page->generation = generation;
    page->before = before;
    page->limit = limit;
    page->made = std::chrono::steady_clock::now();
    return page;
}

std::shared_ptr<const FeedPage> Feed::wait_for_other_server(const std::string& key, std::int64_t generation,
                                                            std::optional<std::int64_t> before, int limit) {
    const auto deadline = std::chrono::steady_clock::now() + kLockWait;
    while (std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(kLockPoll);
        if (auto page = from_cache_store(key, generation, before, limit)) return page;
    }
    return nullptr;  // the other server is slow or gone: query ourselves
}

FeedView Feed::load(std::int64_t generation, std::optional<std::int64_t> before, int limit) {
    const auto key = key_for(generation, before, limit);
    // Single flight: one query per key at a time in this process; the others wait here and
    // then find the page the first one stored.
    std::shared_ptr<std::mutex> flight;
    {
        std::lock_guard lock(mutex_);
        auto& slot = flights_[key];
        if (!slot) slot = std::make_shared<std::mutex>();
        flight = slot;
    }
    std::lock_guard flight_lock(*flight);
    struct Release {
        Feed* feed;
        const std::string& key;
        ~Release() {
            std::lock_guard lock(feed->mutex_);
            auto it = feed->flights_.find(key);
            if (it != feed->flights_.end() && it->second.use_count() <= 2) feed->flights_.erase(it);
        }
    } release{this, key};

    if (auto page = from_memory(key)) return {page, "cache"};

    std::string lock_key;
    if (generation >= 0) {
        try {
            if (auto page = from_cache_store(key, generation, before, limit)) {
                remember(key, page);
                return {page, "cache"};
            }
            // Across servers: the first to miss computes the page; the others wait for it.
            if (!cache_.local()) {
                if (cache_.add("lock:" + key, "1", kLockTtl)) {
                    lock_key = "lock:" + key;
                    // Another server may have stored the page and let go of the lock
                    // between our first look and taking it: look once more.
                    if (auto page = from_cache_store(key, generation, before, limit)) {
                        cache_.erase(lock_key);
                        remember(key, page);
                        return {page, "cache"};
                    }
                } else if (auto page = wait_for_other_server(key, generation, before, limit)) {
                    remember(key, page);
                    return {page, "cache"};
                }
            }
        } catch (const kv::Unavailable& e) {
            cache_failed(e);
        }
    }

    misses_.inc();
    auto page = query_page(generation, before, limit);
    if (generation >= 0) {
        try {
            cache_.set(key, encode(*page), ttl_);
            if (!lock_key.empty()) cache_.erase(lock_key);
        } catch (const kv::Unavailable& e) {
            cache_failed(e);
        }
    }
    std::shared_ptr<const FeedPage> shared = page;
    remember(key, shared);
    return {shared, "database"};
}

std::shared_ptr<FeedPage> Feed::query_page(std::int64_t generation, std::optional<std::int64_t> before, int limit) {
    auto page = std::make_shared<FeedPage>();
    page->generation = generation;
    page->before = before;
    page->limit = limit;
    page->photos = query_(before, limit + 1);  // one extra row tells whether older photos exist
    page->made = std::chrono::steady_clock::now();
    if (static_cast<int>(page->photos.size()) > limit) {
        page->photos.resize(static_cast<std::size_t>(limit));
        page->next = page->photos.back().seq;
    }
    return page;
}

// The seed's scheme, for comparison only: a fixed key per page, read through the cache,
// deleted on change. Every view after a delete queries until one of them refills the key.
FeedView Feed::seed_lookup(std::optional<std::int64_t> before, int limit) {
    const auto key = fmt::format("feed:seed:{}:{}", before ? std::to_string(*before) : "latest", limit);
    {
        std::lock_guard lock(mutex_);
        if (!before && std::find(seed_limits_.begin(), seed_limits_.end(), limit) == seed_limits_.end()) seed_limits_.push_back(limit);
    }
    try {
        if (auto cached = cache_.get(key)) {
            if (auto page = decode(*cached)) {
                hits_.inc();
                page->before = before;
                page->limit = limit;
                return {std::move(page), "cache"};
            }
        }
    } catch (const kv::Unavailable& e) {
        cache_failed(e);
    }
    misses_.inc();
    auto page = query_page(0, before, limit);
    try {
        cache_.set(key, encode(*page), ttl_);
    } catch (const kv::Unavailable& e) {
        cache_failed(e);
    }
    return {std::move(page), "database"};
}

FeedView Feed::lookup(std::int64_t generation, std::optional<std::int64_t> before, int limit) {
    if (auto page = from_memory(key_for(generation, before, limit))) {
        hits_.inc();
        return {page, "cache"};
    }
    auto view = load(generation, before, limit);
    if (std::string_view(view.source) == "cache") hits_.inc();
    return view;
}

asio::awaitable<FeedView> Feed::page(std::optional<std::int64_t> before, int limit) {
    if (invalidation_ == Invalidation::off) {
        co_return co_await workers_.call([this, before, limit] {
            misses_.inc();
            return FeedView{query_page(0, before, limit), "database"};
        });
    }
    if (invalidation_ == Invalidation::delete_on_change)
        co_return co_await workers_.call([this, before, limit] { return seed_lookup(before, limit); });
    if (cache_.local()) {
        // The common case at level 0, a warm page in an in-process cache, costs no thread hop.
        const auto generation = generation_now();
        if (auto page = from_memory(key_for(generation, before, limit))) {
            hits_.inc();
            co_return FeedView{page, "cache"};
        }
        co_return co_await workers_.call([this, generation, before, limit] { return lookup(generation, before, limit); });
    }
    // A shared store: one round trip for the generation, then usually the page in process.
    co_return co_await workers_.call([this, before, limit] { return lookup(generation_now(), before, limit); });
}

asio::awaitable<void> Feed::invalidate() {
    if (invalidation_ == Invalidation::off) co_return;
    if (invalidation_ == Invalidation::delete_on_change) {
        std::vector<int> limits;
        {
            std::lock_guard lock(mutex_);
            limits = seed_limits_;
        }
        co_await workers_.run([this, limits] {
            try {
                for (int limit : limits) cache_.erase(fmt::format("feed:seed:latest:{}", limit));
            } catch (const kv::Unavailable& e) {
                cache_failed(e);
            }
        });
        co_return;
    }
    auto bump = [this] {
        try {
            // A counter that had vanished is recreated by incr from 1: replace it by a
            // fresh one, so it cannot meet pages cached under its old numbers.
            if (cache_.incr(kGenerationKey, 1, std::chrono::seconds(0)) < kFreshGenerationFloor)
                cache_.set(kGenerationKey, std::to_string(fresh_generation()), std::chrono::seconds(0));
        } catch (const kv::Unavailable& e) {
            cache_failed(e);
        }
        std::lock_guard lock(mutex_);
        memory_.clear();
    };
    if (cache_.local())
        bump();
    else
        co_await workers_.run(bump);
}

}  // namespace photoshare::app
