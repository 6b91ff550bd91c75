// Where blocking work runs. I/O threads never block: database calls, password hashing,
// image decoding and disk writes go to a bounded pool of worker threads, and the calling
// coroutine resumes on its own I/O thread when the work is done.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>

namespace photoshare::http {

namespace asio = boost::asio;

class Workers {
public:
    explicit Workers(unsigned threads);
    ~Workers();
    Workers(const Workers&) = delete;
    Workers& operator=(const Workers&) = delete;

    // Runs `work` on a worker thread; rethrows what it throws.
    asio::awaitable<void> run(std::function<void()> work);

    template <class F, class R = std::invoke_result_t<F&>>
    asio::awaitable<R> call(F f) {
        if constexpr (std::is_void_v<R>) {
            co_await run(std::move(f));
        } else {
            std::optional<R> result;
            co_await run([&] { result.emplace(f()); });
            co_return std::move(*result);
        }
    }

    // Runs `work` on a worker thread without waiting for it (it must catch what it throws).
    void post(std::function<void()> work);

    unsigned size() const noexcept { return threads_; }
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    unsigned threads_;
};

// Suspends the calling coroutine without holding a thread.
asio::awaitable<void> sleep_for(std::chrono::milliseconds delay);

// Runs `work` to its end on the calling thread (an event loop of its own), and rethrows what
// it throws: for a plain thread (a background job) that must call a coroutine API.
void block_on(asio::awaitable<void> work);

}  // namespace photoshare::http
