#include "store/pool.hpp"

#include <stdexcept>
#include <utility>

#include "store/repository.hpp"

namespace photoshare::store {

Pool::Lease::Lease(Pool& pool, std::unique_ptr<sql::Connection> connection)
    : pool_(&pool), connection_(std::move(connection)) {}

Pool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)), connection_(std::move(other.connection_)) {}

Pool::Lease::~Lease() {
    if (pool_ != nullptr && connection_) {
        pool_->give_back(std::move(connection_));
    }
}

Pool::Pool(Factory factory, std::size_t size, std::chrono::milliseconds acquire_timeout,
           std::string description)
    : factory_(std::move(factory)),
      size_(size),
      acquire_timeout_(acquire_timeout),
      description_(std::move(description)) {
    if (size_ == 0) {
        throw std::invalid_argument("store: the connection pool needs at least one connection");
    }
    if (acquire_timeout_.count() < 0) {
        throw std::invalid_argument("store: the pool's acquire timeout cannot be negative");
    }
    // give_back() is noexcept: with room for every connection it never allocates.
    idle_.reserve(size_);
}

Pool::Lease Pool::acquire() {
    std::unique_lock lock(mutex_);
    const bool available = returned_.wait_for(lock, acquire_timeout_, [this] {
        return !idle_.empty() || open_ < size_;
    });
    if (!available) {
        throw Unavailable("database busy: all " + std::to_string(size_) +
                          " pooled connections stayed in use for " +
                          std::to_string(acquire_timeout_.count()) + " ms (" + description_ + ")");
    }
    if (!idle_.empty()) {
        auto connection = std::move(idle_.back());
        idle_.pop_back();
        return Lease(*this, std::move(connection));
    }
    // Opening can take a network round trip: reserve the slot, then open without the lock.
    ++open_;
    lock.unlock();
    try {
        return Lease(*this, factory_());
    } catch (...) {
        lock.lock();
        --open_;
        lock.unlock();
        returned_.notify_one();
        throw;
    }
}

std::size_t Pool::open_count() const {
    std::lock_guard lock(mutex_);
    return open_;
}

void Pool::give_back(std::unique_ptr<sql::Connection> connection) noexcept {
    const bool reusable = connection->healthy();
    {
        std::lock_guard lock(mutex_);
        if (reusable) {
            idle_.push_back(std::move(connection));
        } else {
            --open_;
        }
    }
    // A broken connection is closed outside the lock: closing may wait on the network.
    connection.reset();
    returned_.notify_one();
}

}  // namespace photoshare::store
