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

    // description names the database in error messages; it must hold no secret.
    Pool(Factory factory, std::size_t size, std::chrono::milliseconds acquire_timeout,
         std::string description);
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;
    // Every lease must have ended.
    ~Pool() = default;

    // Waits up to the acquire timeout for a free connection, then throws Unavailable.
    Lease acquire();

    std::size_t size() const { return size_; }
    // Connections currently open, idle or leased.
    std::size_t open_count() const;

private:
    void give_back(std::unique_ptr<sql::Connection> connection) noexcept;

    const Factory factory_;
    const std::size_t size_;
    const std::chrono::milliseconds acquire_timeout_;
    const std::string description_;

    mutable std::mutex mutex_;
    std::condition_variable returned_;
    std::vector<std::unique_ptr<sql::Connection>> idle_;
    std::size_t open_ = 0;  // idle + leased + being opened
};

}  // namespace photoshare::store
