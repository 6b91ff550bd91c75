#include "app/media_cache.hpp"

#include <utility>

namespace photoshare::app {

MediaCache::MediaCache(std::size_t max_bytes, std::chrono::milliseconds lifetime, metrics::Registry& metrics,
                       Clock clock)
    : max_bytes_(max_bytes),
      max_object_(max_bytes / 16),
      lifetime_(lifetime),
      clock_(std::move(clock)),
      hits_(metrics.counter("photoshare_media_cache_requests_total", "Proxied photo lookups in process memory by result", {{"result", "hit"}})),
      misses_(metrics.counter("photoshare_media_cache_requests_total", "Proxied photo lookups in process memory by result", {{"result", "miss"}})),
      held_(metrics.gauge("photoshare_media_cache_bytes", "Bytes of proxied photos held in process memory")) {}

std::chrono::steady_clock::time_point MediaCache::now() const {
    return clock_ ? clock_() : std::chrono::steady_clock::now();
}

std::shared_ptr<const std::string> MediaCache::find(const std::string& key) {
    if (!enabled()) return nullptr;
    const auto at = now();
    std::lock_guard lock(mutex_);
    auto found = index_.find(key);
    if (found == index_.end()) {
        misses_.inc();
        return nullptr;
    }
    auto it = found->second;
    if (at - it->stored >= lifetime_) {
        drop(it);
        misses_.inc();
        return nullptr;
    }
    order_.splice(order_.begin(), order_, it);
    hits_.inc();
    return it->bytes;
}

void MediaCache::put(const std::string& key, std::shared_ptr<const std::string> bytes) {
    if (!bytes || !fits(bytes->size())) return;
    const auto at = now();
    std::lock_guard lock(mutex_);
    if (auto found = index_.find(key); found != index_.end()) drop(found->second);
    bytes_ += bytes->size();
    order_.push_front(Entry{key, std::move(bytes), at});
    index_.emplace(key, order_.begin());
    while (bytes_ > max_bytes_) drop(std::prev(order_.end()));
    held_.set(static_cast<double>(bytes_));
}

void MediaCache::erase(const std::string& key) {
    std::lock_guard lock(mutex_);
    if (auto found = index_.find(key); found != index_.end()) drop(found->second);
}

std::size_t MediaCache::bytes() const {
    std::lock_guard lock(mutex_);
    return bytes_;
}

std::size_t MediaCache::count() const {
    std::lock_guard lock(mutex_);
    return index_.size();
}

void MediaCache::drop(Order::iterator it) {
    bytes_ -= it->bytes->size();
    index_.erase(it->key);
    order_.erase(it);
    held_.set(static_cast<double>(bytes_));
}

}  // namespace photoshare::app
