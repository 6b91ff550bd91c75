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
           std::string description, std::chrono::milliseconds validate_after)
    : factory_(std::move(factory)),
      size_(size),
      acquire_timeout_(acquire_timeout),
      description_(std::move(description)),
      validate_after_(validate_after) {
    if (size_ == 0) {
        throw std::invalid_argument("store: the connection pool needs at least one connection");
    }
    if (acquire_timeout_.count() < 0) {
        throw std::invalid_argument("store: the pool's acquire timeout cannot be negative");
    }
    // give_back() is noexcept: with room for every connection it never allocates.
    idle_.reserve(size_);
}

std::optional<Pool::Lease> Pool::try_acquire() {
    std::unique_lock lock(mutex_);
    if (idle_.empty() || idle_.back().suspect ||
        std::chrono::steady_clock::now() - idle_.back().since >= validate_after_) {
        return std::nullopt;
    }
    Idle idle = std::move(idle_.back());
    idle_.pop_back();
    lock.unlock();
    if (idle.connection->alive(false)) {
        return Lease(*this, std::move(idle.connection));
    }
    idle.connection.reset();  // dead: close it; the slot is free for acquire() to open
    lock.lock();
    --open_;
    lock.unlock();
    returned_.notify_one();
    return std::nullopt;
}

Pool::Lease Pool::acquire() {
    const auto deadline = std::chrono::steady_clock::now() + acquire_timeout_;
    std::unique_lock lock(mutex_);
    while (true) {
        const bool available = returned_.wait_until(lock, deadline, [this] {
            return !idle_.empty() || open_ < size_;
        });
        if (!available) {
            throw Unavailable("database busy: all " + std::to_string(size_) +
                              " pooled connections stayed in use for " +
                              std::to_string(acquire_timeout_.count()) + " ms (" + description_ + ")");
        }
        if (!idle_.empty()) {
            Idle idle = std::move(idle_.back());
            idle_.pop_back();
            lock.unlock();
            // Checked without the lock: a round trip takes a while.
            const bool round_trip =
                idle.suspect || std::chrono::steady_clock::now() - idle.since >= validate_after_;
            if (idle.connection->alive(round_trip)) {
                return Lease(*this, std::move(idle.connection));
            }
            idle.connection.reset();  // dead: close it and look again
            lock.lock();
            --open_;
            continue;
        }
        // Opening can take a network round trip (or a connect timeout): reserve the slot,
        // then open without the lock.
        if (unreachable_ && probing_) {
            throw Unavailable(last_failure_ + " (another attempt to reconnect is under way)");
        }
        const bool probe = unreachable_;
        probing_ = probing_ || probe;
        ++open_;
        lock.unlock();
        try {
            auto connection = factory_();
            lock.lock();
            unreachable_ = false;
            if (probe) {
                probing_ = false;
            }
            lock.unlock();
            return Lease(*this, std::move(connection));
        } catch (const std::exception& e) {
            lock.lock();
            --open_;
            if (probe) {
                probing_ = false;
            }
            if (dynamic_cast<const Unavailable*>(&e) != nullptr) {
                unreachable_ = true;
                last_failure_ = e.what();
            }
            lock.unlock();
            returned_.notify_one();
            throw;
        } catch (...) {
            lock.lock();
            --open_;
            if (probe) {
                probing_ = false;
            }
            lock.unlock();
            returned_.notify_one();
            throw;
        }
    }
}

void Pool::suspect_idle() {
    std::lock_guard lock(mutex_);
    for (Idle& idle : idle_) {
        idle.suspect = true;
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
            idle_.push_back(Idle{std::move(connection), std::chrono::steady_clock::now(), false});
        } else {
            --open_;
        }
    }
    // A broken connection is closed outside the lock: closing may wait on the network.
    connection.reset();
    returned_.notify_one();
}

}  // namespace photoshare::store
