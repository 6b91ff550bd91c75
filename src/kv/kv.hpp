// Key-value storage with expiry, for sessions, the feed cache and login rate limits.
// Calls block; callers run them on the worker pool unless local() says they are cheap.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace photoshare::kv {

// The store could not be reached or answered with an error.
class Unavailable : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Every ttl: zero means no expiry; a negative ttl is std::invalid_argument.
class Store {
public:
    virtual ~Store() = default;
    virtual std::optional<std::string> get(std::string_view key) = 0;
    virtual void set(std::string_view key, std::string_view value, std::chrono::seconds ttl) = 0;
    // Sets only when the key is absent; true when it was set.
    virtual bool add(std::string_view key, std::string_view value, std::chrono::seconds ttl) = 0;
    virtual void erase(std::string_view key) = 0;
    // Adds delta to an integer value (decimal text), creating it as delta with ttl when
    // absent; an existing key keeps its expiry, so a counter counts in a fixed window from
    // its first increment. Returns the new value. Throws std::invalid_argument when the
    // stored value is not an integer or the sum overflows.
    virtual std::int64_t incr(std::string_view key, std::int64_t delta, std::chrono::seconds ttl) = 0;
    // Throws Unavailable when the store cannot be used.
    virtual void check() = 0;
    // In-process store: calls are cheap enough to make on an I/O thread.
    virtual bool local() const { return false; }
    virtual std::string describe() const = 0;
};

struct MemoryOptions {
    // Bound on entries; when full, expired entries go first, then the least recently used.
    // Stores of 4096 entries or more are split into shards, each with its share of the
    // bound, so recency is per shard there.
    std::size_t max_entries = 100'000;
    // Time source for expiry; empty means steady_clock::now. Tests inject a fake clock.
    std::function<std::chrono::steady_clock::time_point()> clock{};
};

// In-process store (what memory:// opens). Throws std::invalid_argument for max_entries 0.
std::unique_ptr<Store> open_memory(MemoryOptions options = {});

// memory:// or memory://?max_entries=N (more backends join in later levels). Throws
// std::invalid_argument for an unknown or malformed URL.
std::unique_ptr<Store> open(const std::string& url);

}  // namespace photoshare::kv
