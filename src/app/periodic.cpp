#include "app/periodic.hpp"

namespace photoshare::app {

Periodic::Periodic(std::string name, std::chrono::milliseconds first, std::chrono::milliseconds interval, std::function<void()> job)
    : name_(std::move(name)),
      job_(std::move(job)),
      failures_(name_ + " failed", std::chrono::seconds(60)),
      thread_([this, first, interval] { loop(first, interval); }) {}

Periodic::~Periodic() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void Periodic::run_soon() {
    {
        std::lock_guard lock(mutex_);
        soon_ = true;
    }
    wake_.notify_all();
}

void Periodic::loop(std::chrono::milliseconds first, std::chrono::milliseconds interval) {
    auto next = std::chrono::steady_clock::now() + first;
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait_until(lock, next, [this] { return stopping_ || soon_; });
        if (stopping_) return;
        soon_ = false;
        lock.unlock();
        try {
            job_();
        } catch (const std::exception& e) {
            failures_.warn(e.what());
        }
        next = std::chrono::steady_clock::now() + interval;
        lock.lock();
    }
}

}  // namespace photoshare::app
