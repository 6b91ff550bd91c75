#include "app.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <iomanip>
#include <random>
#include <sstream>

namespace pstest {

namespace {

std::mt19937_64& rng() {
    static std::mt19937_64 r{std::random_device{}()};
    return r;
}

std::string credentials(const std::string& username, const std::string& password) {
    return boost::json::serialize(boost::json::object{{"username", username}, {"password", password}});
}

// One login: the user (csrf empty unless it succeeded) and the response.
std::pair<User, Response> attempt_login(const std::string& base_url, const std::string& username, const std::string& password) {
    User u;
    u.username = username;
    u.password = password;
    u.client = std::make_unique<HttpClient>(base_url);
    auto res = u.client->post_json("/api/v1/session", credentials(username, password));
    if (res.status == 200) {
        auto v = res.json();
        if (v.is_object() && v.as_object().contains("csrf_token") && v.at("csrf_token").is_string())
            u.csrf = std::string(v.at("csrf_token").as_string());
    }
    return {std::move(u), std::move(res)};
}

}  // namespace

std::string unique_username(std::string_view prefix) {
    static int counter = 0;
    std::ostringstream name;
    name << prefix.substr(0, 12) << ++counter << '_' << std::hex << std::setw(6) << std::setfill('0') << (rng()() & 0xffffff);
    return name.str();
}

User login_at(const std::string& base_url, const std::string& username, const std::string& password) {
    auto attempt = attempt_login(base_url, username, password);
    const Response& res = attempt.second;
    EXPECT_EQ(res.status, 200) << res.describe();
    EXPECT_FALSE(attempt.first.csrf.empty()) << res.describe();
    return std::move(attempt.first);
}

User login(const ServerProcess& server, const std::string& username, const std::string& password) {
    return login_at(server.base_url(), username, password);
}

std::optional<User> try_login(const ServerProcess& server, const std::string& username, const std::string& password) {
    auto attempt = attempt_login(server.base_url(), username, password);
    if (attempt.first.csrf.empty()) return std::nullopt;
    return std::move(attempt.first);
}

User register_user_at(const std::string& base_url, std::string username) {
    if (username.empty()) username = unique_username();
    HttpClient c(base_url);
    auto res = c.post_json("/api/v1/users", credentials(username, kPassword));
    EXPECT_EQ(res.status, 201) << res.describe();
    return login_at(base_url, username, kPassword);
}

User register_user(const ServerProcess& server, std::string username) { return register_user_at(server.base_url(), std::move(username)); }

Response upload_photos(User& user, const std::vector<Part>& parts) {
    return user.http().upload("/api/v1/photos", parts, user.csrf_header());
}

std::vector<std::string> feed_ids(const ServerProcess& server) {
    HttpClient c(server.base_url());
    auto res = c.get("/api/v1/photos?limit=100");
    EXPECT_EQ(res.status, 200) << res.describe();
    std::vector<std::string> ids;
    auto v = res.json();
    if (!v.is_object() || !v.as_object().contains("photos")) return ids;
    for (const auto& p : v.at("photos").as_array()) ids.emplace_back(p.at("id").as_string());
    return ids;
}

void expect_json_error_at(const char* file, int line, const Response& res, long status, std::string_view code) {
    ::testing::ScopedTrace trace(file, line, "expected a JSON error here");
    EXPECT_EQ(res.status, status) << res.describe();
    EXPECT_TRUE(res.header("Content-Type").starts_with("application/json")) << res.describe();
    boost::system::error_code ec;
    auto v = boost::json::parse(res.body, ec);
    ASSERT_FALSE(ec) << "error body is not JSON: " << res.describe();
    ASSERT_TRUE(v.is_object() && v.as_object().contains("error") && v.at("error").is_object()) << res.describe();
    const auto& e = v.at("error").as_object();
    ASSERT_TRUE(e.contains("code") && e.at("code").is_string()) << res.describe();
    ASSERT_TRUE(e.contains("message") && e.at("message").is_string()) << res.describe();
    EXPECT_FALSE(e.at("message").as_string().empty()) << res.describe();
    if (!code.empty()) EXPECT_EQ(std::string_view(e.at("code").as_string()), code) << res.describe();
}

std::string json_error_code(const Response& res) {
    boost::system::error_code ec;
    auto v = boost::json::parse(res.body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("error") || !v.at("error").is_object()) return {};
    const auto& e = v.at("error").as_object();
    return e.contains("code") && e.at("code").is_string() ? std::string(e.at("code").as_string()) : std::string();
}

Login login_of(User& user) { return Login{user.http().cookie("ps_session").value_or(""), user.csrf}; }

std::string served_by_name(const Response& res) {
    auto v = res.header("X-Served-By");
    return v.substr(0, v.find(' '));
}

double metric(const std::string& text, const std::string& name, const std::vector<std::string>& label_parts) {
    double sum = 0;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        const auto name_end = line.find_first_of("{ ");
        if (name_end == std::string::npos || line.substr(0, name_end) != name) continue;
        std::string labels;
        auto value_start = name_end;
        if (line[name_end] == '{') {
            const auto close = line.find('}', name_end);
            if (close == std::string::npos) continue;
            labels = line.substr(name_end, close - name_end + 1);
            value_start = close + 1;
        }
        if (!std::all_of(label_parts.begin(), label_parts.end(), [&](const auto& p) { return labels.find(p) != std::string::npos; })) continue;
        sum += std::strtod(line.c_str() + value_start, nullptr);
    }
    return sum;
}

}  // namespace pstest
