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
    // Failed logins are counted in `shared` (every server sees them) or, while that store is
    // down, in `local` (this process's): a dead cache must neither lock everyone out nor
    // open the door to unlimited guessing.
    Accounts(Database& db, http::Workers& workers, auth::PasswordParams params, auth::LoginLimiter& shared, auth::LoginLimiter& local)
        : db_(db), workers_(workers), params_(params), shared_(shared), local_(local) {}

    // Throws HttpError 422 (invalid) or 409 (taken).
    asio::awaitable<store::User> register_user(const std::string& username, const std::string& password);
    // Throws HttpError 401 (wrong username or password) or 429 (too many attempts from this
    // address or for this username).
    asio::awaitable<store::User> authenticate(const std::string& address, const std::string& username, const std::string& password);

private:
    template <class F>
    auto limited(F f) -> asio::awaitable<std::invoke_result_t<F&, auth::LoginLimiter&>>;

    Database& db_;
    http::Workers& workers_;
    const auth::PasswordParams params_;
    auth::LoginLimiter& shared_;
    auth::LoginLimiter& local_;
};

}  // namespace photoshare::app
