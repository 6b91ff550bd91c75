// A warning that may repeat thousands of times a second (a cache server is down) is
// logged once, then at most once per interval with the number of repeats left out.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace photoshare::app {

class RateLimitedLog {
public:
    explicit RateLimitedLog(std::string subject, std::chrono::seconds interval = std::chrono::seconds(10));
    void warn(std::string_view message);

private:
    std::string subject_;
    std::chrono::seconds interval_;
    std::mutex mutex_;
    std::chrono::steady_clock::time_point last_{};
    bool logged_ = false;
    std::uint64_t suppressed_ = 0;
};

}  // namespace photoshare::app
