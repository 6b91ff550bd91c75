#include "app/flash.hpp"

#include "http/cookies.hpp"

#include <array>
#include <charconv>
#include <fmt/format.h>
#include <string_view>

namespace photoshare::app {

namespace {

constexpr long long kMaxAgeSeconds = 60;  // long enough for the redirect, short enough to forget

struct Known {
    FlashCode code;
    std::string_view name;  // in the cookie
};
constexpr std::array<Known, 6> kKnown{{{FlashCode::uploaded, "uploaded"},
                                      {FlashCode::deleted, "deleted"},
                                      {FlashCode::caption_saved, "caption"},
                                      {FlashCode::logged_in, "login"},
                                      {FlashCode::registered, "registered"},
                                      {FlashCode::logged_out, "logout"}}};

std::string text_of(FlashCode code, int count) {
    switch (code) {
        case FlashCode::uploaded: return count == 1 ? "1 photo uploaded." : fmt::format("{} photos uploaded.", count);
        case FlashCode::deleted: return "Photo deleted.";
        case FlashCode::caption_saved: return "Caption saved.";
        case FlashCode::logged_in: return "Logged in. Welcome back!";
        case FlashCode::registered: return "Welcome to photoshare! Your account is ready.";
        case FlashCode::logged_out: return "Logged out.";
    }
    return {};
}

}  // namespace

Flash::Flash(bool secure_cookies) : name_(secure_cookies ? "__Host-ps_flash" : "ps_flash"), secure_(secure_cookies) {}

std::string Flash::cookie(FlashCode code, int count) const {
    http::SetCookie c;
    c.name = name_;
    for (const auto& known : kKnown)
        if (known.code == code) c.value = std::string(known.name);
    if (code == FlashCode::uploaded) c.value += "." + std::to_string(count);
    c.max_age = kMaxAgeSeconds;
    c.secure = secure_;
    return http::format_set_cookie(c);
}

std::optional<FlashMessage> Flash::read(const http::Request& req) const {
    const auto header = req.header("Cookie");
    if (header.empty()) return std::nullopt;
    const auto value = http::find_cookie(header, name_);
    if (!value) return std::nullopt;
    const auto dot = value->find('.');
    const std::string_view name = value->substr(0, dot);
    int count = 0;
    if (dot != std::string_view::npos) {
        const auto digits = value->substr(dot + 1);
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
        if (ec != std::errc() || end != digits.data() + digits.size() || count < 1 || count > 1000) return std::nullopt;
    }
    for (const auto& known : kKnown) {
        if (known.name != name || (known.code == FlashCode::uploaded) != (count > 0)) continue;
        return FlashMessage{"ok", text_of(known.code, count)};
    }
    return std::nullopt;
}

std::string Flash::clear() const {
    http::SetCookie c;
    c.name = name_;
    c.max_age = 0;
    c.secure = secure_;
    return http::format_set_cookie(c);
}

bool Flash::sets(std::string_view set_cookie) const {
    return set_cookie.starts_with(name_) && set_cookie.size() > name_.size() && set_cookie[name_.size()] == '=';
}

}  // namespace photoshare::app
