// A job that runs every `interval` on a thread of its own until destroyed: housekeeping
// that no request should pay for (purging old rows). A job that throws is logged and run
// again at the next interval; while it keeps failing (a database that is down), once a
// minute at most.
#pragma once

#include "app/rate_limited_log.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace photoshare::app {

class Periodic {
public:
    // The first run is `first` after start, then one every `interval`.
    Periodic(std::string name, std::chrono::milliseconds first, std::chrono::milliseconds interval, std::function<void()> job);
    ~Periodic();
    Periodic(const Periodic&) = delete;
    Periodic& operator=(const Periodic&) = delete;

    // Runs the job now (once it is not running), then again every interval.
    void run_soon();

private:
    void loop(std::chrono::milliseconds first, std::chrono::milliseconds interval);

    std::string name_;
    std::function<void()> job_;
    RateLimitedLog failures_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    bool soon_ = false;
    std::thread thread_;
};

}  // namespace photoshare::app
