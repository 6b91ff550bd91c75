#include "app/rate_limited_log.hpp"

#include <spdlog/spdlog.h>

namespace photoshare::app {

RateLimitedLog::RateLimitedLog(std::string subject, std::chrono::seconds interval) : subject_(std::move(subject)), interval_(interval) {}

void RateLimitedLog::warn(std::string_view message) {
    std::uint64_t left_out = 0;
    {
        std::lock_guard lock(mutex_);
        const auto now = std::chrono::steady_clock::now();
        if (logged_ && now - last_ < interval_) {
            ++suppressed_;
            return;
        }
        logged_ = true;
        last_ = now;
        left_out = suppressed_;
        suppressed_ = 0;
    }
    if (left_out)
        spdlog::warn("{}: {} ({} more like it in the last {} s)", subject_, message, left_out, interval_.count());
    else
        spdlog::warn("{}: {}", subject_, message);
}

}  // namespace photoshare::app
