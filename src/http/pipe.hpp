// Hands pieces of a body from a blocking producer (a worker thread reading from object
// storage) to a coroutine that sends them. Bounded: the producer waits while `capacity`
// pieces are unsent, so a slow client slows the download instead of filling memory.
#pragma once

#include "http/message.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>

namespace photoshare::http {

struct Waiter;

class ChunkPipe final : public BodyStream {
public:
    explicit ChunkPipe(std::size_t capacity = 4);
    ~ChunkPipe() override;

    // Producer side (blocking). push() returns false once the consumer has gone away.
    bool push(std::string piece);
    void finish();                              // the body is complete
    void fail(std::exception_ptr error);        // the body cannot be completed
    void abandon();                             // consumer side: stop the producer

    // Consumer side.
    asio::awaitable<std::string> next() override;

private:
    void wake_locked(std::unique_lock<std::mutex>& lock);

    std::size_t capacity_;
    std::mutex mutex_;
    std::condition_variable space_;
    std::deque<std::string> pieces_;
    bool finished_ = false;
    bool abandoned_ = false;
    std::exception_ptr error_;
    std::unique_ptr<Waiter> waiter_;  // the consumer, suspended until something arrives
};

}  // namespace photoshare::http
