#include "http/pipe.hpp"

#include "http/waiter.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace photoshare::http {

ChunkPipe::ChunkPipe(std::size_t capacity) : capacity_(capacity) {}

ChunkPipe::~ChunkPipe() = default;

void ChunkPipe::wake_locked(std::unique_lock<std::mutex>& lock) {
    auto waiter = std::move(waiter_);
    lock.unlock();
    if (waiter) waiter->resume();
}

bool ChunkPipe::push(std::string piece) {
    if (piece.empty()) return true;
    std::unique_lock lock(mutex_);
    space_.wait(lock, [&] { return abandoned_ || pieces_.size() < capacity_; });
    if (abandoned_) return false;
    pieces_.push_back(std::move(piece));
    wake_locked(lock);
    return true;
}

void ChunkPipe::finish() {
    std::unique_lock lock(mutex_);
    finished_ = true;
    wake_locked(lock);
}

void ChunkPipe::fail(std::exception_ptr error) {
    std::unique_lock lock(mutex_);
    error_ = std::move(error);
    finished_ = true;
    wake_locked(lock);
}

void ChunkPipe::abandon() {
    std::lock_guard lock(mutex_);
    abandoned_ = true;
    space_.notify_all();
}

asio::awaitable<std::string> ChunkPipe::next() {
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            if (!pieces_.empty()) {
                auto piece = std::move(pieces_.front());
                pieces_.pop_front();
                space_.notify_one();
                co_return piece;
            }
            if (error_) std::rethrow_exception(error_);
            if (finished_) co_return std::string();
        }
        auto initiate = [this](auto handler) {
            std::unique_lock lock(mutex_);
            waiter_ = make_waiter(std::move(handler));
            // Something may have arrived between the check above and now.
            if (!pieces_.empty() || finished_) wake_locked(lock);
        };
        co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(initiate, asio::use_awaitable);
    }
}

}  // namespace photoshare::http
