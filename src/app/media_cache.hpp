// Photos proxied from an object store, kept in process memory. A photo's key is random and
// its bytes never change, so a copy is never stale; only a delete makes one wrong, and then
// for no longer than the lifetime below (browsers and CDNs were told "immutable" anyway).
// Without it every proxied view is a round trip to the store; with it a hot thumbnail is
// served from memory like a static asset.
#pragma once

#include "metrics/metrics.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace photoshare::app {

class MediaCache {
public:
    using Clock = std::function<std::chrono::steady_clock::time_point()>;

    // Holds at most max_bytes of photos, each at most max_bytes / 16 (a larger one would
    // push out many others); evicts the least recently used first. max_bytes 0: off.
    // Counts lookups in photoshare_media_cache_requests_total{result=hit|miss} and the bytes
    // held in photoshare_media_cache_bytes.
    MediaCache(std::size_t max_bytes, std::chrono::milliseconds lifetime, metrics::Registry& metrics,
               Clock clock = {});

    bool enabled() const { return max_bytes_ > 0; }
    // Whether an object of this size would be kept (so the caller knows to collect it).
    bool fits(std::size_t size) const { return enabled() && size <= max_object_; }

    // The photo's bytes, or nullptr when absent or older than the lifetime.
    std::shared_ptr<const std::string> find(const std::string& key);
    void put(const std::string& key, std::shared_ptr<const std::string> bytes);
    void erase(const std::string& key);

    std::size_t bytes() const;
    std::size_t count() const;

private:
    struct Entry {
        std::string key;
        std::shared_ptr<const std::string> bytes;
        std::chrono::steady_clock::time_point stored;
    };
    using Order = std::list<Entry>;  // most recently used first

    std::chrono::steady_clock::time_point now() const;
    void drop(Order::iterator it);  // with mutex_ held

    const std::size_t max_bytes_;
    const std::size_t max_object_;
    const std::chrono::milliseconds lifetime_;
    const Clock clock_;
    metrics::Counter& hits_;
    metrics::Counter& misses_;
    metrics::Gauge& held_;

    mutable std::mutex mutex_;
    Order order_;
    std::unordered_map<std::string, Order::iterator> index_;
    std::size_t bytes_ = 0;
};

}  // namespace photoshare::app
