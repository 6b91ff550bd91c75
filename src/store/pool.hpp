// A bounded set of open connections shared by the worker threads. Bounded because every
// connection costs the database server memory and a process slot; a caller that finds all
// of them busy waits a little, then gets Unavailable (HTTP 503) instead of queueing forever.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/sql.hpp"

namespace photoshare::store {

class Pool {
public:
    // Opens one new connection; throws Unavailable when the database cannot be reached.
    using Factory = std::function<std::unique_ptr<sql::Connection>()>;

    // A connection on loan; it goes back to the pool when the lease ends, or is closed
    // when it turned unhealthy, so the next caller opens a fresh one (a server outlives
    // a database restart this way).
    class Lease {
    public:
        Lease(Lease&& other) noexcept;
        Lease& operator=(Lease&&) = delete;
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        ~Lease();

        sql::Connection& operator*() const { return *connection_; }
        sql::Connection* operator->() const { return connection_.get(); }

    private:
        friend class Pool;
        Lease(Pool& pool, std::unique_ptr<sql::Connection> connection);

        Pool* pool_;
        std::unique_ptr<sql::Connection> connection_;
    };

    // description names the database in error messages; it must hold no secret. A
    // connection idle for validate_after or longer is pinged (a round trip) before it is
    // lent out again; every idle connection is first checked without one (see
    // sql::Connection::alive).
    Pool(Factory factory, std::size_t size, std::chrono::milliseconds acquire_timeout,
         std::string description,
         std::chrono::milliseconds validate_after = std::chrono::milliseconds(5000));
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;
    // Every lease must have ended.
    ~Pool() = default;

    // Waits up to the acquire timeout for a free connection, then throws Unavailable.
    // An idle connection that turns out dead is closed and another one is tried or opened,
    // so a database restart costs callers nothing once the database is back. While the
    // database cannot be reached, one caller at a time tries to open a connection; the
    // others get Unavailable at once instead of each waiting for a connect timeout.
    Lease acquire();

    // An idle connection that can be lent without waiting: none idle, or the one that
    // would be lent is due for a round trip (see above), gives nullopt. Never waits for
    // a connection, never opens one. For a caller that must not block, which then asks a
    // worker thread to acquire() instead.
    std::optional<Lease> try_acquire();

    // Makes the next lease of every connection now idle ask the server first: called when
    // one connection was lost, since the others probably were too.
    void suspect_idle();

    std::size_t size() const { return size_; }
    // Connections currently open, idle or leased.
    std::size_t open_count() const;

private:
    void give_back(std::unique_ptr<sql::Connection> connection) noexcept;

    struct Idle {
        std::unique_ptr<sql::Connection> connection;
        std::chrono::steady_clock::time_point since;
        bool suspect = false;
    };

    const Factory factory_;
    const std::size_t size_;
    const std::chrono::milliseconds acquire_timeout_;
    const std::string description_;
    const std::chrono::milliseconds validate_after_;

    mutable std::mutex mutex_;
    std::condition_variable returned_;
    std::vector<Idle> idle_;  // the most recently returned last: lent out first
    std::size_t open_ = 0;    // idle + leased + being opened
    // Set when opening a connection failed, cleared when one opens again.
    bool unreachable_ = false;
    bool probing_ = false;  // a caller is trying to open one while unreachable_
    std::string last_failure_;
};

}  // namespace photoshare::store
