// A warning that may repeat thousands of times a second (a cache server is down) is
// logged once, then at most once per interval. Each line logged after some were left out
// says how many, and over how long: the time since the previous line logged, which is at
// least the interval and may be much longer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace photoshare::app {

class RateLimitedLog {
public:
    using Clock = std::function<std::chrono::steady_clock::time_point()>;
    using Sink = std::function<void(const std::string& line)>;

    // clock: empty means steady_clock::now; sink: empty means spdlog::warn.
    explicit RateLimitedLog(std::string subject, std::chrono::seconds interval = std::chrono::seconds(10), Clock clock = {},
                            Sink sink = {});
    void warn(std::string_view message);

private:
    std::string subject_;
    std::chrono::seconds interval_;
    Clock clock_;
    Sink sink_;
    std::mutex mutex_;
    std::chrono::steady_clock::time_point last_{};
    bool logged_ = false;
    std::uint64_t suppressed_ = 0;
};

}  // namespace photoshare::app
