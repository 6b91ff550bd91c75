#include "http/runtime.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>

namespace photoshare::http {

struct Workers::Impl {
    explicit Impl(unsigned threads) : pool(threads) {}
    asio::thread_pool pool;
};

Workers::Workers(unsigned threads) : impl_(std::make_unique<Impl>(threads)), threads_(threads) {}

Workers::~Workers() { stop(); }

void Workers::stop() {
    if (!impl_) return;
    impl_->pool.join();
}

void Workers::post(std::function<void()> work) { asio::post(impl_->pool, std::move(work)); }

asio::awaitable<void> Workers::run(std::function<void()> work) {
    std::exception_ptr error;
    auto initiate = [this, &work, &error](auto handler) {
        asio::post(impl_->pool, [&work, &error, handler = std::move(handler)]() mutable {
            try {
                work();
            } catch (...) {
                error = std::current_exception();
            }
            // Resume the coroutine on its own I/O thread, not on this worker.
            auto ex = asio::get_associated_executor(handler);
            asio::dispatch(ex, std::move(handler));
        });
    };
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(initiate, asio::use_awaitable);
    if (error) std::rethrow_exception(error);
}

void block_on(asio::awaitable<void> work) {
    asio::io_context context;
    // Held until the coroutine ends: while it waits on a worker, the loop has nothing else.
    auto guard = asio::make_work_guard(context);
    std::exception_ptr failure;
    asio::co_spawn(context, std::move(work), [&](std::exception_ptr e) {
        failure = std::move(e);
        guard.reset();
    });
    context.run();
    if (failure) std::rethrow_exception(failure);
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds delay) {
    asio::steady_timer timer(co_await asio::this_coro::executor, delay);
    co_await timer.async_wait(asio::use_awaitable);
}

}  // namespace photoshare::http
