#include "app/request_metrics.hpp"

#include <functional>
#include <string>
#include <unordered_map>

namespace photoshare::app {

void observe_request(metrics::Registry& registry, const http::Completed& c) {
    // Label lookups take the registry's lock and build strings, so each thread remembers
    // the metrics it has used. Route patterns are stable strings: their address is a key.
    struct Key {
        const void* registry;
        const char* route;
        int method;
        int status;
        bool operator==(const Key&) const = default;
    };
    struct Hash {
        std::size_t operator()(const Key& k) const noexcept {
            return std::hash<const void*>()(k.route) ^ (static_cast<std::size_t>(k.status) << 8) ^ static_cast<std::size_t>(k.method) ^
                   (std::hash<const void*>()(k.registry) << 1);
        }
    };
    struct Entry {
        metrics::Counter* requests;
        metrics::Histogram* latency;
        metrics::Counter* bytes;
    };
    thread_local std::unordered_map<Key, Entry, Hash> cache;

    const auto& r = c.request;
    Key key{&registry, r.route.empty() ? nullptr : r.route.data(), static_cast<int>(r.method), c.status};
    auto it = cache.find(key);
    if (it == cache.end()) {
        const std::string route = r.route.empty() ? "unmatched" : std::string(r.route);
        const std::string method(http::to_string(r.method));
        Entry e{&registry.counter("http_requests_total", "HTTP requests by route, method and status",
                                  {{"route", route}, {"method", method}, {"status", std::to_string(c.status)}}),
                &registry.histogram("http_request_duration_seconds", "Time from the first byte of a request to its response, by route",
                                    {{"route", route}}),
                &registry.counter("http_response_bytes_total", "Response body bytes by route", {{"route", route}})};
        it = cache.emplace(key, e).first;
    }
    it->second.requests->inc();
    it->second.latency->observe(std::chrono::duration<double>(c.duration).count());
    it->second.bytes->inc(c.bytes);
}

}  // namespace photoshare::app
