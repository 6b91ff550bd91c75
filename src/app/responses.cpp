#include "app/responses.hpp"

#include "app/media_urls.hpp"
#include "app/photo_files.hpp"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <ctime>

namespace photoshare::app {

http::Response json_response(int status, const boost::json::value& body) {
    http::Response res(status, "application/json", boost::json::serialize(body));
    res.set("Cache-Control", "no-store");
    return res;
}

http::Response json_error(int status, std::string_view code, std::string_view message) {
    return json_response(status, boost::json::object{{"error", boost::json::object{{"code", code}, {"message", message}}}});
}

http::Response html_response(int status, std::string body) {
    http::Response res(status, "text/html; charset=utf-8", std::move(body));
    res.set("Cache-Control", "no-store");
    return res;
}

http::Response redirect(std::string location) {
    http::Response res(303, "text/plain; charset=utf-8", "See " + location + "\n");
    res.set("Location", std::move(location));
    res.set("Cache-Control", "no-store");
    return res;
}

http::Response with_cookie(http::Response res, const std::string& set_cookie) {
    if (!set_cookie.empty()) res.set("Set-Cookie", set_cookie);
    return res;
}

namespace {
std::string format_time(std::int64_t t, const char* fmt) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    auto n = std::strftime(buf, sizeof buf, fmt, &tm);
    return std::string(buf, n);
}
}  // namespace

std::string try_again_in(std::chrono::seconds wait) {
    const auto s = std::max<std::int64_t>(wait.count(), 1);
    if (s < 60) return fmt::format("Try again in {} second{}.", s, s == 1 ? "" : "s");
    const auto m = (s + 59) / 60;
    return fmt::format("Try again in {} minute{}.", m, m == 1 ? "" : "s");
}

std::string rfc3339(std::int64_t t) { return format_time(t, "%Y-%m-%dT%H:%M:%SZ"); }
std::string human_time(std::int64_t t) { return format_time(t, "%d %b %Y, %H:%M UTC"); }
std::string user_page(const std::string& username) { return "/u/" + username; }

boost::json::object photo_json(const store::Photo& p, const MediaUrls& urls) {
    auto list = [&](std::string_view ext) {
        boost::json::array out;
        for (const auto& file : variants(p, ext)) out.push_back(boost::json::object{{"width", file.width}, {"url", urls.url(file.key)}});
        return out;
    };
    boost::json::array sizes = list(kJpeg);
    boost::json::object formats;
    for (const auto& format : formats_of(p.formats)) formats[format] = list(format);
    return boost::json::object{{"id", p.id},
                               {"url", urls.url(display_key(p.id))},
                               {"thumbnail_url", urls.url(thumbnail_key(p.id))},
                               {"page_url", "/photos/" + p.id},
                               {"width", p.width},
                               {"height", p.height},
                               {"thumbnail_width", p.thumb_width},
                               {"thumbnail_height", p.thumb_height},
                               {"variants", std::move(sizes)},
                               {"formats", std::move(formats)},
                               {"caption", p.caption},
                               {"uploaded_by", p.username},
                               {"uploaded_by_url", user_page(p.username)},
                               {"uploaded_at", rfc3339(p.created_at)}};
}

bool is_api(const http::Request& req) { return req.path.starts_with("/api/"); }

}  // namespace photoshare::app
