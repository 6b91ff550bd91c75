// Small builders for the responses handlers return, and the JSON shape of a photo.
#pragma once

#include "http/message.hpp"
#include "store/repository.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace photoshare::app {

http::Response json_response(int status, const boost::json::value& body);
// {"error":{"code","message"}}
http::Response json_error(int status, std::string_view code, std::string_view message);
http::Response html_response(int status, std::string body);
// 303 See Other: after a form post, the browser fetches the page with GET.
http::Response redirect(std::string location);
// res with a Set-Cookie header of that value, unless it is empty (no cookie to set).
http::Response with_cookie(http::Response res, const std::string& set_cookie);

// "Try again in 8 seconds." / "Try again in 3 minutes.": the wait of a 429, rounded up.
std::string try_again_in(std::chrono::seconds wait);

std::string rfc3339(std::int64_t unix_seconds);
std::string human_time(std::int64_t unix_seconds);
// Where a user's page is: /u/NAME (names are letters, digits and "_.-": nothing to encode).
std::string user_page(const std::string& username);

class MediaUrls;
boost::json::object photo_json(const store::Photo& photo, const MediaUrls& urls);

// Whether a request wants JSON errors (the API) rather than HTML pages.
bool is_api(const http::Request& req);

}  // namespace photoshare::app
