// Registration and login rules, shared by the HTML forms and the JSON API: username and
// password validation, argon2id off the I/O threads, rate limits and one generic message
// for a wrong username or password.
#pragma once

#include "http/message.hpp"
#include "store/repository.hpp"

#include <string>

namespace photoshare::app {

namespace asio = boost::asio;

class App;

// Empty when valid, else a message saying what is wrong.
std::string username_problem(std::string_view username);
std::string password_problem(std::string_view password);

// Throws HttpError 422 (invalid) or 409 (taken).
asio::awaitable<store::User> register_user(App& app, const std::string& username, const std::string& password);
// Throws HttpError 401 (wrong username or password) or 429 (too many attempts).
asio::awaitable<store::User> authenticate(App& app, const http::Request& req, const std::string& username, const std::string& password);

}  // namespace photoshare::app
