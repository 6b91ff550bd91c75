#include "app/rate_limited_log.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace photoshare::app {

RateLimitedLog::RateLimitedLog(std::string subject, std::chrono::seconds interval, Clock clock, Sink sink)
    : subject_(std::move(subject)), interval_(interval), clock_(std::move(clock)), sink_(std::move(sink)) {
    if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
    if (!sink_) sink_ = [](const std::string& line) { spdlog::warn("{}", line); };
}

void RateLimitedLog::warn(std::string_view message) {
    std::uint64_t left_out = 0;
    std::chrono::steady_clock::duration since_last{};
    {
        std::lock_guard lock(mutex_);
        const auto now = clock_();
        if (logged_ && now - last_ < interval_) {
            ++suppressed_;
            return;
        }
        since_last = now - last_;
        logged_ = true;
        last_ = now;
        left_out = suppressed_;
        suppressed_ = 0;
    }
    if (left_out == 0) {
        sink_(fmt::format("{}: {}", subject_, message));
        return;
    }
    // The ones left out were warnings about the same subject, not necessarily this message.
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_last).count();
    sink_(fmt::format("{}: {} ({} more warning{} of this kind left out in the {} s since the last one logged)", subject_, message, left_out,
                      left_out == 1 ? "" : "s", seconds));
}

}  // namespace photoshare::app
