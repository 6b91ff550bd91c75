// The PostgreSQL driver (libpq): one sql::Connection per pooled connection.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "store/repository.hpp"
#include "store/sql.hpp"

namespace photoshare::store {

// Everything needed to open connections, worked out once from the URL and Options.
struct PostgresSettings {
    // libpq connection keywords and values (the password among them: never print these).
    std::vector<std::pair<std::string, std::string>> parameters;
    // postgresql://user@host:port/dbname: for describe() and error messages.
    std::string description;
    std::chrono::milliseconds statement_timeout{10000};
    std::chrono::milliseconds connect_timeout{3000};
};

// Parses postgresql:// or postgres:// (libpq's URI syntax, any of its parameters in the
// query string) and adds what photoshare wants unless the URL says otherwise:
//   connect_timeout=3, keepalives (idle 10 s, interval 5 s, count 3), tcp_user_timeout=10 s,
//   application_name=photoshare, client_encoding=UTF8, and through `options` (which the
//   URL's own `options` may override) statement_timeout, lock_timeout and
//   idle_in_transaction_session_timeout from Options.
// Throws std::invalid_argument when the URL is malformed, without repeating the password.
PostgresSettings postgres_settings(const std::string& url, const Options& options);

// Opens one connection: TCP keepalives, a statement timeout on the server and a deadline
// on the client for every statement (statement timeout + 2 s), prepared statements cached
// per connection, results in binary. Throws Unavailable when the server cannot be reached
// or refuses the login.
std::unique_ptr<sql::Connection> connect_postgres(const PostgresSettings& settings);

}  // namespace photoshare::store
