// Registration and login rules, shared by the HTML forms and the JSON API: username and
// password validation, argon2id off the I/O threads, rate limits and one generic message
// for a wrong username or password.
#pragma once

#include "app/database.hpp"
#include "auth/password.hpp"
#include "auth/rate_limit.hpp"
#include "http/message.hpp"
#include "http/runtime.hpp"
#include "store/repository.hpp"

#include <string>

namespace photoshare::app {

namespace asio = boost::asio;

// Empty when valid, else a message saying what is wrong.
std::string username_problem(std::string_view username);
std::string password_problem(std::string_view password);

class Accounts {
public:
    // The limiter counts where every server sees the counts (kv::Fallback: this process's
    // own while that store is down).
    Accounts(Database& db, http::Workers& workers, auth::PasswordParams params, auth::LoginLimiter& limiter)
        : db_(db), workers_(workers), params_(params), limiter_(limiter) {}

    // Throws HttpError 422 (invalid) or 409 (taken).
    asio::awaitable<store::User> register_user(const std::string& username, const std::string& password);
    // Throws HttpError 401 (wrong username or password) or 429 (too many attempts from this
    // address or for this username).
    asio::awaitable<store::User> authenticate(const std::string& address, const std::string& username, const std::string& password);

private:
    Database& db_;
    http::Workers& workers_;
    const auth::PasswordParams params_;
    auth::LoginLimiter& limiter_;
};

}  // namespace photoshare::app
