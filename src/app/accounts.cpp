#include "app/accounts.hpp"

#include "app/responses.hpp"

#include <fmt/format.h>

namespace photoshare::app {

std::string username_problem(std::string_view u) {
    if (u.size() < 3 || u.size() > 32) return "A username has 3 to 32 characters.";
    auto ok = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'; };
    for (char c : u)
        if (!ok(c) || static_cast<unsigned char>(c) >= 0x80) return "A username may contain only letters, digits, dots, dashes and underscores.";
    if (!std::isalnum(static_cast<unsigned char>(u.front()))) return "A username starts with a letter or a digit.";
    return {};
}

std::string password_problem(std::string_view p) {
    if (p.size() < 8) return "A password has at least 8 characters.";
    if (p.size() > 1024) return "A password has at most 1024 characters.";
    if (p.find('\0') != std::string_view::npos) return "A password cannot contain a NUL character.";
    return {};
}

asio::awaitable<store::User> Accounts::register_user(const std::string& username, const std::string& password) {
    if (auto problem = username_problem(username); !problem.empty()) throw http::HttpError(422, "invalid_username", problem);
    if (auto problem = password_problem(password); !problem.empty()) throw http::HttpError(422, "invalid_password", problem);
    auto hash = co_await workers_.call([&] { return auth::hash_password(password, params_); });
    auto user = co_await db_.call("create_user", [&](store::Repository& repo) { return repo.create_user(username, hash); });
    if (!user) throw http::HttpError(409, "username_taken", "That username is taken. Please choose another.");
    co_return *user;
}

asio::awaitable<store::User> Accounts::authenticate(const std::string& address, const std::string& username, const std::string& password) {
    // The limiter's store calls may wait on the network: on a worker, not an I/O thread.
    auto locked = co_await workers_.call([&] { return limiter_.blocked(address, username); });
    if (locked) throw http::HttpError(429, "too_many_attempts", "Too many failed logins. " + try_again_in(*locked), {{"Retry-After", std::to_string(locked->count())}});
    std::optional<store::User> user;
    if (username.size() <= 64 && password.size() <= 1024) user = co_await db_.call("find_user", [&](store::Repository& repo) { return repo.find_user(username); });
    // Verify against a dummy hash when there is no such user, so the time taken does not
    // tell whether a username exists.
    bool ok = co_await workers_.call([&] {
        const std::string& hash = user ? user->password_hash : auth::dummy_hash(params_);
        return auth::verify_password(password, hash) && user.has_value();
    });
    if (!ok) {
        co_await workers_.call([&] { limiter_.record_failure(address, username); });
        throw http::HttpError(401, "wrong_credentials", "Wrong username or password.");
    }
    co_await workers_.call([&] { limiter_.record_success(address, username); });
    co_return *user;
}

}  // namespace photoshare::app
