// A counting semaphore for coroutines: acquire() suspends the caller (holding no thread)
// until a permit is free. Waiters are served in arrival order, each resumed on its own
// executor. The number of permits can change while it is in use.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

namespace photoshare::http {

namespace asio = boost::asio;

struct Waiter;

class AsyncSemaphore {
public:
    explicit AsyncSemaphore(std::size_t permits = 0);  // 0: unlimited
    ~AsyncSemaphore();

    void set_permits(std::size_t permits);
    std::size_t permits() const;
    std::size_t waiting() const;

    asio::awaitable<void> acquire();
    void release();

    // Holds a permit for its lifetime.
    class Permit {
    public:
        explicit Permit(AsyncSemaphore* s) : s_(s) {}
        Permit(Permit&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
        Permit(const Permit&) = delete;
        Permit& operator=(const Permit&) = delete;
        Permit& operator=(Permit&&) = delete;
        ~Permit() {
            if (s_) s_->release();
        }

    private:
        AsyncSemaphore* s_;
    };
    asio::awaitable<Permit> hold();

private:
    void wake_locked(std::unique_lock<std::mutex>& lock);

    mutable std::mutex mutex_;
    std::size_t permits_;
    std::size_t in_use_ = 0;
    std::deque<std::unique_ptr<Waiter>> waiters_;
};

}  // namespace photoshare::http
