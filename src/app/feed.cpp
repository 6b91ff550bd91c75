#include "app/feed.hpp"

#include "http/message.hpp"

#include <charconv>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <thread>

namespace photoshare::app {

namespace {

constexpr std::size_t kMaxPagesInMemory = 1024;              // cursors come from clients: bound what they can fill
constexpr auto kOfflineTtl = std::chrono::seconds(1);        // cache store down: keep a page in process this long
constexpr auto kLockTtl = std::chrono::seconds(5);           // a server computing a page holds the lock at most this long
constexpr auto kLockWait = std::chrono::milliseconds(1000);  // others wait this long for its page
constexpr auto kLockPoll = std::chrono::milliseconds(20);

}  // namespace

std::string FeedCursor::text() const {
    if (before) return "b" + std::to_string(*before);
    if (after) return "a" + std::to_string(*after);
    return "latest";
}

FeedCursor parse_cursor(const http::Fields& query) {
    const auto seq = [&](std::string_view name) -> std::optional<std::int64_t> {
        const auto text = http::field(query, name).value_or("");
        if (text.empty()) return std::nullopt;
        std::int64_t v = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc{} || p != text.data() + text.size() || v <= 0)
            throw http::HttpError(400, "bad_cursor", fmt::format("The '{}' parameter must be a positive whole number.", name));
        return v;
    };
    FeedCursor cursor{seq("before"), seq("after")};
    if (cursor.before && cursor.after) throw http::HttpError(400, "bad_cursor", "Give 'before' or 'after', not both.");
    return cursor;
}

std::string FeedPageKey::text() const {
    return fmt::format("feed:v2:{}:{}:{}", generation < 0 ? std::string("offline") : std::to_string(generation), cursor.text(), limit);
}

const char* header_value(FeedSource source) {
    switch (source) {
        case FeedSource::cache: return "cache";
        case FeedSource::database: return "database";
        case FeedSource::local_copy: return "local";
    }
    return "database";
}

const char* footer_text(FeedSource source) {
    switch (source) {
        case FeedSource::cache: return "cache";
        case FeedSource::database: return "database";
        case FeedSource::local_copy: return "a copy kept by this server (the cache is unavailable)";
    }
    return "database";
}

std::string encode_feed_page(const FeedPage& page) {
    boost::json::array photos;
    for (const auto& p : page.photos) {
        boost::json::array widths(p.variant_widths.begin(), p.variant_widths.end());
        photos.push_back(boost::json::object{{"seq", p.seq},           {"id", p.id},         {"user_id", p.user_id},
                                             {"username", p.username}, {"width", p.width},   {"height", p.height},
                                             {"tw", p.thumb_width},    {"th", p.thumb_height}, {"bytes", p.bytes},
                                             {"created_at", p.created_at}, {"vw", std::move(widths)},
                                             {"formats", p.formats},    {"caption", p.caption}});
    }
    boost::json::object o{{"photos", std::move(photos)}};
    if (page.next) o["next"] = *page.next;
    if (page.previous) o["previous"] = *page.previous;
    return boost::json::serialize(o);
}

std::shared_ptr<FeedPage> decode_feed_page(const std::string& text) {
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
            // Absent from pages cached by a server from before variant widths.
            if (auto vw = j.find("vw"); vw != j.end())
                for (const auto& w : vw->value().as_array()) p.variant_widths.push_back(static_cast<int>(w.as_int64()));
            if (auto f = j.find("formats"); f != j.end()) p.formats = std::string(f->value().as_string());
            if (auto c = j.find("caption"); c != j.end()) p.caption = std::string(c->value().as_string());
            page->photos.push_back(std::move(p));
        }
        if (auto it = o.find("next"); it != o.end()) page->next = it->value().as_int64();
        if (auto it = o.find("previous"); it != o.end()) page->previous = it->value().as_int64();
        page->made = std::chrono::steady_clock::now();
        return page;
    } catch (const std::exception&) {
        return nullptr;  // a stale format from another version: treat as a miss
    }
}

std::shared_ptr<FeedPage> query_feed_page(const Feed::Query& query, const FeedPageKey& key) {
    auto page = std::make_shared<FeedPage>();
    page->generation = key.generation;
    page->cursor = key.cursor;
    page->limit = key.limit;
    const auto limit = static_cast<std::size_t>(key.limit);
    if (key.cursor.after) {
        // Going back: the page of photos just newer than `after` (one extra: is there a newer?).
        page->photos = query({.after = key.cursor.after, .limit = key.limit + 1});
        if (page->photos.size() > limit) {
            page->photos.erase(page->photos.begin());  // the newest, beyond the page
            page->previous = page->photos.front().seq;
        }
        if (page->photos.size() >= limit && !page->photos.empty()) {
            page->next = page->photos.back().seq;  // `after` itself is older
            page->made = std::chrono::steady_clock::now();
            return page;
        }
        page->previous.reset();  // fewer than a page: it is the newest page
    }
    page->photos = query({.before = key.cursor.before, .limit = key.limit + 1});
    page->made = std::chrono::steady_clock::now();
    if (page->photos.size() > limit) {
        page->photos.resize(limit);
        page->next = page->photos.back().seq;
    }
    if (key.cursor.before && !page->photos.empty()) page->previous = page->photos.front().seq;
    return page;
}

std::shared_ptr<FeedPage> query_user_page(store::Repository& repo, std::int64_t user_id, const FeedPageKey& key) {
    return query_feed_page(
        [&](store::PhotoRange range) {
            range.user_id = user_id;
            return repo.photos(range);
        },
        key);
}

FeedMetrics::FeedMetrics(metrics::Registry& registry)
    : hits(registry.counter("photoshare_feed_cache_requests_total", "Front-page feed lookups by result", {{"result", "hit"}})),
      misses(registry.counter("photoshare_feed_cache_requests_total", "Front-page feed lookups by result", {{"result", "miss"}})),
      unavailable(registry.counter("photoshare_feed_cache_requests_total", "Front-page feed lookups by result", {{"result", "unavailable"}})),
      errors(registry.counter("photoshare_feed_cache_errors_total", "Feed cache operations that failed (served from the database)")) {}

GenerationFeed::GenerationFeed(kv::Store& cache, http::Workers& workers, Query query, Options options, metrics::Registry& metrics)
    : cache_(cache),
      workers_(workers),
      query_(std::move(query)),
      ttl_(options.ttl),
      counts_(metrics),
      generation_(cache, generation_key, options.max_staleness) {}

void GenerationFeed::cache_failed(const std::exception& e) {
    counts_.errors.inc();
    log_.warn(e.what());
}

std::int64_t GenerationFeed::read_generation() {
    try {
        return generation_.read();
    } catch (const kv::Unavailable& e) {
        cache_failed(e);
        return -1;
    }
}

std::shared_ptr<const FeedPage> GenerationFeed::from_memory(const std::string& key) {
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

void GenerationFeed::remember(const std::string& key, const std::shared_ptr<const FeedPage>& page) {
    std::lock_guard lock(mutex_);
    // Pages of older generations are never asked for again (a newer one is known here).
    if (page->generation >= 0) {
        for (auto it = memory_.begin(); it != memory_.end();)
            it = it->second->generation < page->generation ? memory_.erase(it) : std::next(it);
    }
    if (memory_.size() >= kMaxPagesInMemory) memory_.clear();
    memory_[key] = page;
}

std::shared_ptr<const FeedPage> GenerationFeed::from_cache_store(const FeedPageKey& key, const std::string& name) {
    auto cached = cache_.get(name);
    if (!cached) return nullptr;
    auto page = decode_feed_page(*cached);
    if (!page) return nullptr;
    page->generation = key.generation;
    page->cursor = key.cursor;
    page->limit = key.limit;
    return page;
}

std::shared_ptr<const FeedPage> GenerationFeed::wait_for_other_server(const FeedPageKey& key, const std::string& name) {
    const auto deadline = std::chrono::steady_clock::now() + kLockWait;
    while (std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(kLockPoll);
        if (auto page = from_cache_store(key, name)) return page;
    }
    return nullptr;  // the other server is slow or gone: query ourselves
}

FeedView GenerationFeed::load(const FeedPageKey& page_key) {
    const auto key = page_key.text();
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
        GenerationFeed* feed;
        const std::string& key;
        ~Release() {
            std::lock_guard lock(feed->mutex_);
            auto it = feed->flights_.find(key);
            if (it != feed->flights_.end() && it->second.use_count() <= 2) feed->flights_.erase(it);
        }
    } release{this, key};

    const bool offline = page_key.generation < 0;
    if (auto page = from_memory(key)) return {page, offline ? FeedSource::local_copy : FeedSource::cache};

    std::string lock_key;
    if (!offline) {
        try {
            if (auto page = from_cache_store(page_key, key)) {
                remember(key, page);
                return {page, FeedSource::cache};
            }
            // Across servers: the first to miss computes the page; the others wait for it.
            if (!cache_.local()) {
                if (cache_.add("lock:" + key, "1", kLockTtl)) {
                    lock_key = "lock:" + key;
                    // Another server may have stored the page and let go of the lock
                    // between our first look and taking it: look once more.
                    if (auto page = from_cache_store(page_key, key)) {
                        cache_.erase(lock_key);
                        remember(key, page);
                        return {page, FeedSource::cache};
                    }
                } else if (auto page = wait_for_other_server(page_key, key)) {
                    remember(key, page);
                    return {page, FeedSource::cache};
                }
            }
        } catch (const kv::Unavailable& e) {
            cache_failed(e);
        }
    }

    auto page = query_feed_page(query_, page_key);
    if (!offline) {
        try {
            cache_.set(key, encode_feed_page(*page), ttl_);
            if (!lock_key.empty()) cache_.erase(lock_key);
        } catch (const kv::Unavailable& e) {
            cache_failed(e);
        }
    }
    std::shared_ptr<const FeedPage> shared = page;
    remember(key, shared);
    return {shared, FeedSource::database};
}

asio::awaitable<FeedView> GenerationFeed::page(FeedCursor cursor, int limit, std::int64_t seen) {
    using State = kv::SharedCounter::State;
    const auto near = generation_.near();
    FeedView view;
    if (near.state == State::fresh && near.value >= seen) {
        // The common case: the page for the current generation is in process memory. No
        // round trip, no thread hop.
        if (auto page = from_memory(FeedPageKey{near.value, cursor, limit}.text())) {
            counts_.hits.inc();
            co_return FeedView{page, FeedSource::cache};
        }
        view = co_await workers_.call([this, g = near.value, cursor, limit] { return load({g, cursor, limit}); });
    } else if (near.state == State::down && near.value >= seen) {
        view = co_await workers_.call([this, cursor, limit] { return load({-1, cursor, limit}); });
    } else {
        // This server's copy is unconfirmed, or older than what this visitor wrote: ask the
        // store, for this request (and, through the near copy, for the ones after it).
        view = co_await workers_.call([this, cursor, limit] { return load({read_generation(), cursor, limit}); });
    }
    if (view.page->generation < 0) counts_.unavailable.inc();
    else if (view.source == FeedSource::database) counts_.misses.inc();
    else counts_.hits.inc();
    co_return view;
}

asio::awaitable<std::int64_t> GenerationFeed::changed() {
    auto bump = [this]() -> std::int64_t {
        try {
            return generation_.bump();
        } catch (const kv::Unavailable& e) {
            // The counter announces the change itself once the store answers again.
            cache_failed(e);
            return 0;
        }
    };
    // In process there is no other server's copy to outrun: nothing for the writer to carry.
    if (cache_.local()) {
        bump();
        co_return 0;
    }
    co_return co_await workers_.call(bump);
}

}  // namespace photoshare::app
