// A coroutine suspended on one of our own async primitives (semaphore, pipe): it is kept
// as the completion handler Asio gave us and resumed on its own executor. Included only by
// the .cpp files that implement such primitives.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>

#include <memory>

namespace photoshare::http {

struct Waiter {
    virtual ~Waiter() = default;
    virtual void resume() = 0;
};

template <class Handler>
std::unique_ptr<Waiter> make_waiter(Handler handler) {
    struct Held final : Waiter {
        explicit Held(Handler h) : handler(std::move(h)) {}
        void resume() override {
            auto ex = boost::asio::get_associated_executor(handler);
            boost::asio::post(ex, std::move(handler));
        }
        Handler handler;
    };
    return std::make_unique<Held>(std::move(handler));
}

}  // namespace photoshare::http
