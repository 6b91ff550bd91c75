#include "http/semaphore.hpp"

#include "http/waiter.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace photoshare::http {



AsyncSemaphore::AsyncSemaphore(std::size_t permits) : permits_(permits) {}

AsyncSemaphore::~AsyncSemaphore() = default;

void AsyncSemaphore::set_permits(std::size_t permits) {
    std::unique_lock lock(mutex_);
    permits_ = permits;
    wake_locked(lock);
}

std::size_t AsyncSemaphore::permits() const {
    std::lock_guard lock(mutex_);
    return permits_;
}

std::size_t AsyncSemaphore::waiting() const {
    std::lock_guard lock(mutex_);
    return waiters_.size();
}

asio::awaitable<void> AsyncSemaphore::acquire() {
    {
        std::lock_guard lock(mutex_);
        if (waiters_.empty() && (permits_ == 0 || in_use_ < permits_)) {
            ++in_use_;
            co_return;
        }
    }
    auto initiate = [this](auto handler) {
        std::unique_lock lock(mutex_);
        waiters_.push_back(make_waiter(std::move(handler)));
        wake_locked(lock);  // a permit may have come free meanwhile
    };
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(initiate, asio::use_awaitable);
}

void AsyncSemaphore::release() {
    std::unique_lock lock(mutex_);
    if (in_use_ > 0) --in_use_;
    wake_locked(lock);
}

asio::awaitable<AsyncSemaphore::Permit> AsyncSemaphore::hold() {
    co_await acquire();
    co_return Permit(this);
}

void AsyncSemaphore::wake_locked(std::unique_lock<std::mutex>& lock) {
    std::deque<std::unique_ptr<Waiter>> ready;
    while (!waiters_.empty() && (permits_ == 0 || in_use_ < permits_)) {
        ++in_use_;  // the permit passes straight to the waiter
        ready.push_back(std::move(waiters_.front()));
        waiters_.pop_front();
    }
    lock.unlock();
    for (auto& w : ready) w->resume();
}

}  // namespace photoshare::http
