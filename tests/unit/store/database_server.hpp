// A real database server for the tests (a pstest::Service, started through scripts/service
// as the local stack starts it) on a loopback port of its own: once per test program and per
// kind, on first use, and stopped when the program exits. Nothing needs to be running
// beforehand. When the server programs are missing, every test that needs the server fails,
// saying what to install: they are never skipped in silence.
#pragma once

#include <memory>
#include <string>

#include "backend.hpp"
#include "store/sql.hpp"
#include "support/services.hpp"

namespace photoshare::store::testing {

class TestServer : private pstest::Service {
public:
    // kind: "postgres" or "mariadb" (a scripts/lib/<kind>.sh). Starts it the first time;
    // throws std::runtime_error with the script's own explanation when it cannot.
    static TestServer& get(const std::string& kind);

    const std::string& kind() const { return name(); }
    using pstest::Service::dir;
    using pstest::Service::port;

    // The application's login (photoshare/photoshare) on a database create_database()
    // made (for PostgreSQL, a schema of the database photoshare).
    std::string url(const std::string& database) const;
    // The superuser, on such a database (empty: the server's default one).
    std::string admin_url(const std::string& database = "") const;

    // scripts/service stop / start on the same directory and port: the restart tests.
    using pstest::Service::start;
    using pstest::Service::stop;
    // SIGSTOP / SIGCONT to every process of the server: a server that stops answering.
    using pstest::Service::freeze;
    using pstest::Service::thaw;

    // A new, empty database the photoshare login owns; its name. PostgreSQL: a schema.
    std::string create_database();
    void drop_database(const std::string& name);

private:
    explicit TestServer(const std::string& kind);
    std::unique_ptr<sql::Connection> admin(const std::string& database = "") const;

    std::string admin_password_;
    int databases_ = 0;
};

// A fresh database on a TestServer, dropped afterwards.
class ServerDatabase : public TestDatabase {
public:
    explicit ServerDatabase(const std::string& kind)
        : server_(TestServer::get(kind)), name_(server_.create_database()) {}
    ~ServerDatabase() override { server_.drop_database(name_); }
    std::string url() const override { return server_.url(name_); }
    std::string admin_url() const { return server_.admin_url(name_); }
    TestServer& server() const { return server_; }
    const std::string& name() const { return name_; }

private:
    TestServer& server_;
    std::string name_;
};

// Every row of a query, columns joined by '|' and rows by '\n' (NULL for a null).
std::string text_of(sql::Connection& connection, const std::string& query);

// A raw connection (not pooled) to url, by its scheme.
std::unique_ptr<sql::Connection> connect_raw(const std::string& url, const Options& options = {});


}  // namespace photoshare::store::testing
