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

class AsyncRedis;  // async_redis.hpp

// What subscribe() returns: messages are delivered until it is destroyed.
class Subscription {
public:
    virtual ~Subscription() = default;
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
    // Throws Unavailable when the store cannot be used (for memcached://, when any of its
    // servers cannot: the message names them). Takes at most about connect_timeout +
    // timeout per server.
    virtual void check() = 0;
    // In-process store: calls are cheap enough to make on an I/O thread.
    virtual bool local() const { return false; }
    // The URL with its effective options and without any password.
    virtual std::string describe() const = 0;

    // Change notices, where the store can push them (Redis pub/sub): publish() sends
    // message to every process subscribed to channel on this store; subscribe() calls
    // listener with each message published on channel (on a thread of the subscription's
    // own) until the Subscription is destroyed, reconnecting by itself after a failure.
    // Delivery is at most once: a message published while the subscriber is reconnecting
    // is lost, so a subscriber must also poll what it watches. Stores that cannot push
    // (memory://, memcached://) return nullptr from subscribe() and ignore publish().
    // publish() throws Unavailable like any call.
    // The same server's client for coroutines on an I/O thread (Redis: kv::AsyncRedis, which
    // shares this store's verdict on whether the server is down); nullptr where there is none.
    virtual std::unique_ptr<AsyncRedis> async_client();

    using Listener = std::function<void(std::string_view message)>;
    virtual void publish(std::string_view /*channel*/, std::string_view /*message*/) {}
    // NOLINTNEXTLINE(performance-unnecessary-value-param): the stores that subscribe keep both
    virtual std::unique_ptr<Subscription> subscribe(std::string /*channel*/, Listener /*listener*/) { return nullptr; }
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

// Opens a store by URL. Throws std::invalid_argument naming what is wrong with an unknown
// or malformed URL (never repeating the URL: it may hold a password). Opening does not
// connect: a cache that is down at start-up makes calls fail, not the server.
//
//   memory://[?max_entries=N]
//       In-process (one server only).
//   memcached://host1:port1,host2:port2,...[?options]
//       Several memcached servers (port defaults to 11211; [v6addr]:port for IPv6), keys
//       spread by consistent hashing (ketama), binary protocol. Keys memcached cannot take
//       (empty, over 250 bytes, spaces or control characters) are stored under a SHA-256
//       name. incr takes only delta >= 0 (memcached counters are unsigned; a negative
//       delta is std::invalid_argument). A dead server's keys fail; the other servers' keys
//       keep working (servers are never ejected, so keys never move).
//   redis://[[user]:password@]host[:port][/db][?options]
//       One Redis server (port defaults to 6379, db to 0). AUTH password, or AUTH user
//       password for an ACL user (Redis 6+), percent-encoded (anything but letters, digits
//       and -._~ may be). SELECT db. No TLS (hiredis 0.14), no Cluster.
//
// Options of memcached:// and redis:// (defaults in brackets):
//   timeout_ms=N          [100]  each request and its answer; also the wait for a pooled
//                                connection when all are busy
//   connect_timeout_ms=N  [100]  establishing a connection
//   retry_ms=N            [1000] after a server fails, calls for it fail at once for this
//                                long, then one call tries it again
//   pool=N                [64]   most connections open at once
// Every failure of a networked store (unreachable, timed out, refused, an error answer)
// is Unavailable. A call waits at most for a pooled connection, a connect and its request
// (each bounded by the timeouts above: about 100 ms when a server hangs, a few ms when it
// refuses), and not at all while its server is marked down. Broken connections are closed
// and replaced, so the store recovers by itself when the server is back.
std::unique_ptr<Store> open(const std::string& url);

// The server ("host:port") of a memcached:// URL on which the store keeps `key`: the
// placement every process with the same server list (in any order) agrees on.
std::string memcached_server_for(const std::string& url, std::string_view key);

}  // namespace photoshare::kv
