// Internals shared by the networked stores (memcached://, redis://): their options as
// parsed from the URL, the connection pool and the per-server circuit breaker. Not part of
// the kv API: callers use kv::open(url).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kv/async_redis.hpp"
#include "kv/kv.hpp"

namespace photoshare::kv::detail {

using Clock = std::chrono::steady_clock;

struct Endpoint {
    std::string host;  // a name or an address; IPv6 without brackets
    std::uint16_t port = 0;
    // "host:port", "[v6]:port": how the server is named in messages and in describe().
    std::string text() const;
    bool operator==(const Endpoint&) const = default;
};

// Query parameters every networked store takes (?timeout_ms=250&pool=32...).
struct NetOptions {
    // Each network operation (one request and its answer), and the wait for a free pooled
    // connection when all are busy.
    std::chrono::milliseconds timeout{100};
    // Establishing a connection (TCP, plus AUTH/SELECT for Redis).
    std::chrono::milliseconds connect_timeout{100};
    // After a server fails, calls for it fail at once for this long; then one call tries it.
    std::chrono::milliseconds retry{1000};
    // Most connections open at once (per server for memcached, since a pooled client holds
    // one connection to each server it has used).
    std::size_t pool = 64;
    // "timeout_ms=100&connect_timeout_ms=100&retry_ms=1000&pool=64"
    std::string query() const;
};

struct MemcachedOptions {
    std::vector<Endpoint> servers;
    NetOptions net;
};

struct RedisOptions {
    Endpoint server;
    std::string user;      // ACL user (Redis 6+); empty: AUTH with the password alone
    std::string password;  // empty: no AUTH
    int db = 0;
    NetOptions net;
};

// `rest` is the URL after "scheme://". Errors are std::invalid_argument naming the part
// that is wrong, never repeating what the URL holds (it may hold a password).
MemcachedOptions parse_memcached_url(std::string_view rest);
RedisOptions parse_redis_url(std::string_view rest);

std::unique_ptr<Store> open_memcached(MemcachedOptions options);
std::unique_ptr<Store> open_redis(RedisOptions options);

class Breaker;
// The asynchronous client of a Redis server (async_redis.cpp); breaker: the one its blocking
// client uses, so that both fail fast, and recover, together.
std::unique_ptr<AsyncRedis> make_async_redis(RedisOptions options, std::shared_ptr<Breaker> breaker);

// The key memcached is sent for `key`: the key itself when memcached can take it as is
// (1-250 printable ASCII bytes, no space, not starting with '~'), else "~" followed by the
// hex SHA-256 of the key. The two forms cannot collide: only hashed keys start with '~'.
std::string memcached_key(std::string_view key);


// Ttls this long or longer mean "no expiry" on the networked stores: memcached cannot
// represent expiry times past 2106, and no session or cache entry needs more.
constexpr std::int64_t max_ttl_seconds = 0xFFFF'FFFFLL;

// Throws std::invalid_argument for a negative ttl; returns 0 for "no expiry".
std::int64_t checked_ttl(std::chrono::seconds ttl);

// A bounded pool of connections (Conn is a C client handle: memcached_st, redisContext).
// A leased connection belongs to one thread; it goes back to the pool only when the call
// on it succeeded (keep()), otherwise it is destroyed, so a connection in an unknown state
// (a timed-out request whose answer may still arrive) is never used again.
template <class Conn>
class Pool {
public:
    using Destroy = void (*)(Conn*);

    Pool(std::size_t max, Destroy destroy) : max_(max), destroy_(destroy) {}
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;
    ~Pool() {
        for (Conn* c : idle_) destroy_(c);
    }

    class Lease {
    public:
        Lease(Pool* pool, Conn* conn, bool fresh) : pool_(pool), conn_(conn), fresh_(fresh) {}
        Lease(Lease&& other) noexcept
            : pool_(other.pool_), conn_(std::exchange(other.conn_, nullptr)), fresh_(other.fresh_) {}
        Lease& operator=(Lease&&) = delete;
        ~Lease() { discard(); }
        Conn* get() const { return conn_; }
        // Made for this lease (not reused from the pool).
        bool fresh() const { return fresh_; }
        void keep() {
            if (conn_) pool_->put_back(std::exchange(conn_, nullptr));
        }
        void discard() {
            if (conn_) pool_->destroy(std::exchange(conn_, nullptr));
        }

    private:
        Pool* pool_;
        Conn* conn_;
        bool fresh_;
    };

    // The most recently used idle connection, or a new one from make() (which may throw)
    // while fewer than max exist; otherwise waits for one until deadline and then throws
    // Unavailable. With fresh, always a new connection (closing an idle one to make room).
    template <class Make>
    Lease acquire(Clock::time_point deadline, Make&& make, bool fresh, const std::string& who) {
        std::unique_lock lock(mutex_);
        for (;;) {
            if (!fresh && !idle_.empty()) {
                Conn* c = idle_.back();
                idle_.pop_back();
                return Lease(this, c, false);
            }
            if (total_ >= max_ && fresh && !idle_.empty()) {
                Conn* oldest = idle_.front();
                idle_.erase(idle_.begin());
                --total_;
                lock.unlock();
                destroy_(oldest);
                lock.lock();
                continue;
            }
            if (total_ < max_) {
                ++total_;
                lock.unlock();
                try {
                    return Lease(this, make(), true);
                } catch (...) {
                    lock.lock();
                    --total_;
                    lock.unlock();
                    available_.notify_one();
                    throw;
                }
            }
            if (available_.wait_until(lock, deadline) == std::cv_status::timeout &&
                Clock::now() >= deadline) {
                throw Unavailable(who + ": all " + std::to_string(max_) +
                                  " pooled connections stayed busy (pool=" + std::to_string(max_) + ")");
            }
        }
    }

private:
    void put_back(Conn* c) {
        {
            std::lock_guard lock(mutex_);
            idle_.push_back(c);
        }
        available_.notify_one();
    }
    void destroy(Conn* c) {
        destroy_(c);
        {
            std::lock_guard lock(mutex_);
            --total_;
        }
        available_.notify_one();
    }

    const std::size_t max_;
    const Destroy destroy_;
    std::mutex mutex_;
    std::condition_variable available_;
    std::vector<Conn*> idle_;  // back: most recently used
    std::size_t total_ = 0;    // idle + leased + being made
};

// A connection refused: nothing listens there (the server is down or restarting). Found out
// at once, so it does not mark the server down: the breaker exists to spare calls a timeout,
// and the next call may find the server back.
class Refused : public Unavailable {
public:
    using Unavailable::Unavailable;
};

// Whether a C client's error text is the one of ECONNREFUSED.
bool refused_text(const char* error);

// Remembers that a server failed so that calls for it fail at once instead of each waiting
// for a timeout; after each retry interval one call is let through to try it again.
class Breaker {
public:
    explicit Breaker(std::chrono::milliseconds retry) : retry_(retry) {}

    // False while the server is marked down (the caller fails fast). When the interval has
    // passed, true for exactly one caller, the probe; the others keep failing fast.
    bool allow() {
        auto until = until_.load(std::memory_order_acquire);
        if (until == 0) return true;
        const auto now = now_ns();
        if (now < until) return false;
        return until_.compare_exchange_strong(until, now + retry_ns());
    }
    void succeeded() {
        succeeded_ns_.store(now_ns(), std::memory_order_relaxed);
        if (until_.load(std::memory_order_relaxed) != 0) until_.store(0, std::memory_order_release);
    }
    // started: when the failed call began. A call that succeeded since then says the server
    // is up: this failure (of a call that waited across a restart, say) is old news.
    void failed(std::string error, Clock::time_point started) {
        if (succeeded_ns_.load(std::memory_order_relaxed) > ns_of(started)) return;
        {
            std::lock_guard lock(mutex_);
            error_ = std::move(error);
        }
        // At least 1: 0 means "up".
        until_.store(std::max<std::int64_t>(1, now_ns() + retry_ns()), std::memory_order_release);
    }
    // The call that was let through learnt nothing about the server (it failed on a stale
    // connection): let the next call try at once.
    void inconclusive() {
        auto until = until_.load(std::memory_order_acquire);
        if (until > 1) until_.compare_exchange_strong(until, 1);
    }
    bool down() const { return until_.load(std::memory_order_acquire) != 0; }
    std::string last_error() const {
        std::lock_guard lock(mutex_);
        return error_;
    }
    std::chrono::milliseconds retry() const { return retry_; }

private:
    static std::int64_t ns_of(Clock::time_point t) {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    }
    static std::int64_t now_ns() { return ns_of(Clock::now()); }
    std::int64_t retry_ns() const {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(retry_).count();
    }

    const std::chrono::milliseconds retry_;
    std::atomic<std::int64_t> until_{0};  // 0: up; else steady-clock ns until the next try
    std::atomic<std::int64_t> succeeded_ns_{0};  // steady-clock ns of the last success
    mutable std::mutex mutex_;
    std::string error_;
};

}  // namespace photoshare::kv::detail
