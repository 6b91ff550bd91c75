// The in-process store: a fixed number of shards, each a hash map under its own mutex, so
// threads touching different keys rarely wait for each other. Each shard keeps its entries
// in recency order and in expiry order, which makes "drop expired, then evict the least
// recently used" cost O(log n) per write instead of a scan.
#include <algorithm>
#include <charconv>
#include <list>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "kv/kv.hpp"

namespace photoshare::kv {

namespace {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
constexpr TimePoint never = TimePoint::max();

// Below this size one shard holds everything, so eviction order is exactly LRU; above it
// the lock spreading matters more than exact recency.
constexpr std::size_t shard_threshold = 4096;
constexpr std::size_t shard_count_when_large = 16;

struct StringHash {
    using is_transparent = void;  // lets find() take a string_view without a copy
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};

std::int64_t parse_integer(std::string_view text) {
    std::int64_t value = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end || text.empty()) {
        throw std::invalid_argument("kv incr: stored value is not an integer");
    }
    return value;
}

class Shard {
public:
    explicit Shard(std::size_t capacity) : capacity_(capacity) {}

    std::optional<std::string> get(std::string_view key, TimePoint now) {
        std::lock_guard lock(mutex_);
        auto it = find_live(key, now);
        if (it == map_.end()) {
            return std::nullopt;
        }
        return it->second.value;
    }

    void set(std::string_view key, std::string_view value, TimePoint expires, TimePoint now) {
        std::lock_guard lock(mutex_);
        auto it = find_live(key, now);
        if (it == map_.end()) {
            insert(key, value, expires, now);
        } else {
            it->second.value.assign(value);
            set_expiry(it, expires);
        }
    }

    bool add(std::string_view key, std::string_view value, TimePoint expires, TimePoint now) {
        std::lock_guard lock(mutex_);
        if (find_live(key, now) != map_.end()) {
            return false;
        }
        insert(key, value, expires, now);
        return true;
    }

    void erase(std::string_view key) {
        std::lock_guard lock(mutex_);
        auto it = map_.find(key);
        if (it != map_.end()) {
            remove(it);
        }
    }

    std::int64_t incr(std::string_view key, std::int64_t delta, TimePoint expires_if_new,
                      TimePoint now) {
        std::lock_guard lock(mutex_);
        auto it = find_live(key, now);
        if (it == map_.end()) {
            insert(key, std::to_string(delta), expires_if_new, now);
            return delta;
        }
        std::int64_t result = 0;
        if (__builtin_add_overflow(parse_integer(it->second.value), delta, &result)) {
            throw std::invalid_argument("kv incr: integer overflow");
        }
        it->second.value = std::to_string(result);
        return result;
    }

private:
    using Recency = std::list<const std::string*>;               // front: most recently used
    using ExpiryIndex = std::multimap<TimePoint, const std::string*>;
    struct Entry {
        std::string value;
        TimePoint expires = never;
        Recency::iterator recency;
        ExpiryIndex::iterator expiry;  // meaningful only when expires != never
    };
    using Map = std::unordered_map<std::string, Entry, StringHash, std::equal_to<>>;

    // Expiry is enforced here, on read, so an expired value is never returned even when
    // no write has come along to sweep it.
    Map::iterator find_live(std::string_view key, TimePoint now) {
        auto it = map_.find(key);
        if (it == map_.end()) {
            return it;
        }
        if (now >= it->second.expires) {
            remove(it);
            return map_.end();
        }
        recency_.splice(recency_.begin(), recency_, it->second.recency);
        return it;
    }

    void insert(std::string_view key, std::string_view value, TimePoint expires, TimePoint now) {
        drop_expired(now);
        if (map_.size() >= capacity_) {
            remove(map_.find(*recency_.back()));
        }
        auto it = map_.emplace(std::string(key), Entry{std::string(value), never, {}, {}}).first;
        // Map nodes never move (not even on rehash), so the indexes may point at the key.
        recency_.push_front(&it->first);
        it->second.recency = recency_.begin();
        set_expiry(it, expires);
    }

    void set_expiry(Map::iterator it, TimePoint expires) {
        Entry& entry = it->second;
        if (entry.expires != never) {
            expiry_.erase(entry.expiry);
        }
        entry.expires = expires;
        if (expires != never) {
            entry.expiry = expiry_.emplace(expires, &it->first);
        }
    }

    void remove(Map::iterator it) {
        recency_.erase(it->second.recency);
        if (it->second.expires != never) {
            expiry_.erase(it->second.expiry);
        }
        map_.erase(it);
    }

    // Each entry is swept once, so this is amortised O(log n) per write.
    void drop_expired(TimePoint now) {
        while (!expiry_.empty() && now >= expiry_.begin()->first) {
            remove(map_.find(*expiry_.begin()->second));
        }
    }

    std::mutex mutex_;
    const std::size_t capacity_;
    Map map_;
    Recency recency_;
    ExpiryIndex expiry_;
};

class MemoryStore final : public Store {
public:
    explicit MemoryStore(MemoryOptions options)
        : max_entries_(options.max_entries), clock_(std::move(options.clock)) {
        if (max_entries_ == 0) {
            throw std::invalid_argument("memory kv store: max_entries must be at least 1");
        }
        if (!clock_) {
            clock_ = [] { return Clock::now(); };
        }
        const std::size_t n = max_entries_ < shard_threshold ? 1 : shard_count_when_large;
        for (std::size_t i = 0; i < n; ++i) {
            // Spread the remainder so the capacities add up to exactly max_entries.
            shards_.push_back(std::make_unique<Shard>(max_entries_ / n + (i < max_entries_ % n)));
        }
    }

    std::optional<std::string> get(std::string_view key) override {
        return shard(key).get(key, clock_());
    }

    void set(std::string_view key, std::string_view value, std::chrono::seconds ttl) override {
        const TimePoint now = clock_();
        shard(key).set(key, value, expiry(ttl, now), now);
    }

    bool add(std::string_view key, std::string_view value, std::chrono::seconds ttl) override {
        const TimePoint now = clock_();
        return shard(key).add(key, value, expiry(ttl, now), now);
    }

    void erase(std::string_view key) override { shard(key).erase(key); }

    std::int64_t incr(std::string_view key, std::int64_t delta, std::chrono::seconds ttl) override {
        const TimePoint now = clock_();
        return shard(key).incr(key, delta, expiry(ttl, now), now);
    }

    void check() override {}
    bool local() const override { return true; }
    std::string describe() const override {
        return "memory://?max_entries=" + std::to_string(max_entries_);
    }

private:
    static TimePoint expiry(std::chrono::seconds ttl, TimePoint now) {
        if (ttl < std::chrono::seconds::zero()) {
            throw std::invalid_argument("kv: negative ttl");
        }
        // A ttl beyond the clock's range would overflow; it means "forever" in practice.
        if (ttl == std::chrono::seconds::zero() ||
            ttl >= std::chrono::duration_cast<std::chrono::seconds>(never - now)) {
            return never;
        }
        return now + ttl;
    }

    Shard& shard(std::string_view key) {
        return *shards_[StringHash{}(key) % shards_.size()];
    }

    const std::size_t max_entries_;
    std::function<TimePoint()> clock_;
    std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace

std::unique_ptr<Store> open_memory(MemoryOptions options) {
    return std::make_unique<MemoryStore>(std::move(options));
}

}  // namespace photoshare::kv
