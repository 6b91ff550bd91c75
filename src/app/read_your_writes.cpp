#include "app/read_your_writes.hpp"

#include "http/cookies.hpp"

#include <charconv>

namespace photoshare::app {

ReadYourWrites::ReadYourWrites(bool secure_cookies, std::chrono::milliseconds max_staleness)
    : name_(secure_cookies ? "__Host-ps_seen" : "ps_seen"),
      secure_(secure_cookies),
      max_age_seconds_(5 + std::chrono::ceil<std::chrono::seconds>(max_staleness).count()) {}

std::int64_t ReadYourWrites::seen(const http::Request& req) const {
    const auto header = req.header("Cookie");
    if (header.empty()) return 0;
    const auto value = http::find_cookie(header, name_);
    if (!value || value->empty() || value->size() > 19) return 0;
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), v);
    return ec == std::errc() && end == value->data() + value->size() && v > 0 ? v : 0;
}

std::string ReadYourWrites::cookie(std::int64_t generation) const {
    if (generation <= 0) return {};
    http::SetCookie c;
    c.name = name_;
    c.value = std::to_string(generation);
    c.max_age = max_age_seconds_;
    c.secure = secure_;
    return http::format_set_cookie(c);
}

}  // namespace photoshare::app
