// The application as a client sees it: users registered and logged in, uploads, the feed,
// JSON errors, and what a response says of the server that answered.
#pragma once

#include "common.hpp"
#include "http_client.hpp"
#include "photoshare_server.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pstest {

std::string unique_username(std::string_view prefix = "u");
inline constexpr const char* kPassword = "correct horse battery";

// A client with a logged-in user.
struct User {
    std::string username;
    std::string password;
    std::string csrf;
    std::unique_ptr<HttpClient> client;
    HttpClient& http() { return *client; }
    Headers csrf_header() const { return {{"X-CSRF-Token", csrf}}; }
};
// Registers through the API and logs in; test failures (not exceptions) on the way.
User register_user(const ServerProcess& server, std::string username = {});
// The same through any base URL (HAProxy, one server of a stack).
User register_user_at(const std::string& base_url, std::string username = {});
User login(const ServerProcess& server, const std::string& username, const std::string& password);
User login_at(const std::string& base_url, const std::string& username, const std::string& password);
// The same without expectations: nullopt unless the login answered 200 with a CSRF token.
std::optional<User> try_login(const ServerProcess& server, const std::string& username, const std::string& password);

// Uploads files as one request; returns the response (201 expected by the caller).
Response upload_photos(User& user, const std::vector<Part>& parts);
// The ids of the feed, newest first (GET /api/v1/photos?limit=100).
std::vector<std::string> feed_ids(const ServerProcess& server);

// Checks status and {"error":{"code","message"}} with a JSON content type (and code, if given).
void expect_json_error_at(const char* file, int line, const Response& res, long status, std::string_view code = {});
#define EXPECT_JSON_ERROR(...) ::pstest::expect_json_error_at(__FILE__, __LINE__, __VA_ARGS__)

// The code of a {"error":{"code":...}} body; empty if the body is not one.
std::string json_error_code(const Response& res);

// A logged-in user's credentials, to make more clients of the same session.
struct Login {
    std::string session_cookie;
    std::string csrf;
};
Login login_of(User& user);

// The name in an X-Served-By value ("web-2 127.0.0.1:8012 pid=123" -> "web-2").
std::string served_by_name(const Response& res);
// A counter or gauge from Prometheus text: the sum of the samples of name whose labels
// contain every one of label_parts (e.g. "result=\"miss\"").
double metric(const std::string& text, const std::string& name, const std::vector<std::string>& label_parts = {});

}  // namespace pstest
