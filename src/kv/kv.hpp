// Key-value storage with expiry, for sessions, the feed cache and login rate limits.
// Calls block; callers run them on the worker pool unless local() says they are cheap.
#pragma once

#include <chrono>
#include <cstdint>
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

class Store {
public:
    virtual ~Store() = default;
    virtual std::optional<std::string> get(std::string_view key) = 0;
    // ttl of zero means no expiry.
    virtual void set(std::string_view key, std::string_view value, std::chrono::seconds ttl) = 0;
    // Sets only when the key is absent; true when it was set.
    virtual bool add(std::string_view key, std::string_view value, std::chrono::seconds ttl) = 0;
    virtual void erase(std::string_view key) = 0;
    // Adds delta to an integer value, creating it (with ttl) when absent; returns the new value.
    virtual std::int64_t incr(std::string_view key, std::int64_t delta, std::chrono::seconds ttl) = 0;
    // Throws Unavailable when the store cannot be used.
    virtual void check() = 0;
    // In-process store: calls are cheap enough to make on an I/O thread.
    virtual bool local() const { return false; }
    virtual std::string describe() const = 0;
};

// memory:// (more backends join in later levels). Throws std::invalid_argument for an
// unknown or malformed URL.
std::unique_ptr<Store> open(const std::string& url);

}  // namespace photoshare::kv
