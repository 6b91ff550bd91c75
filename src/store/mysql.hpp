// The MySQL/MariaDB driver (libmariadb, MariaDB Connector/C): one sql::Connection per
// pooled connection. Works with MariaDB 10.3+ and MySQL 8.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "store/repository.hpp"
#include "store/sql.hpp"

namespace photoshare::store {

struct MysqlSettings {
    std::string host = "localhost";  // "localhost" means the default unix socket, as in MySQL
    unsigned port = 3306;
    std::string user;
    std::string password;  // never print it
    std::string database;
    std::string socket;  // a unix socket path; used instead of TCP when set
    std::string ssl_mode = "disabled";
    std::string ssl_ca;
    std::chrono::seconds connect_timeout{3};
    std::chrono::milliseconds statement_timeout{10000};
    std::chrono::milliseconds lock_timeout{5000};
    // mysql://user@host:port/dbname: for describe() and error messages.
    std::string description;
};

// mysql://user:password@host:port/dbname?param=value&... (also mariadb://). User, password
// and database are percent-decoded; an IPv6 host goes in brackets. Parameters:
//   connect_timeout=SECONDS  (default 3)
//   ssl_mode=disabled|required|verify_identity  (default disabled; required: TLS, refusing
//            a server without it; verify_identity: also checks the server's certificate
//            and host name, against ssl_ca if given)
//   ssl_ca=PATH    CA certificate(s) for verify_identity
//   socket=PATH    a unix socket instead of TCP
// Throws std::invalid_argument when the URL is malformed, without repeating the password.
MysqlSettings mysql_settings(const std::string& url, const Options& options);

// Opens one connection: utf8mb4, strict SQL mode, READ COMMITTED, lock and statement
// timeouts on the server (innodb_lock_wait_timeout, lock_wait_timeout, max_statement_time
// or max_execution_time), connect/read/write timeouts on the client, no automatic
// reconnection (that would silently lose the session's settings and transaction). Throws
// Unavailable when the server cannot be reached or refuses the login.
//
// The client library is initialised once per process (mysql_library_init) and once per
// thread that uses it (mysql_thread_init; mysql_thread_end when that thread exits), so
// worker threads may come and go.
std::unique_ptr<sql::Connection> connect_mysql(const MysqlSettings& settings);

}  // namespace photoshare::store
