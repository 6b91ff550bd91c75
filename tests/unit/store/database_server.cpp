#include "database_server.hpp"

#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>

#include "store/mysql.hpp"
#include "store/postgresql.hpp"

namespace photoshare::store::testing {

std::string text_of(sql::Connection& connection, const std::string& query) {
    const sql::Rows rows = connection.query(query, {});
    std::string out;
    for (const sql::Row& row : rows) {
        if (!out.empty()) {
            out += '\n';
        }
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (i > 0) {
                out += '|';
            }
            if (const auto* number = std::get_if<std::int64_t>(&row[i])) {
                out += std::to_string(*number);
            } else if (const auto* text = std::get_if<std::string>(&row[i])) {
                out += *text;
            } else {
                out += "NULL";
            }
        }
    }
    return out;
}

std::unique_ptr<sql::Connection> connect_raw(const std::string& url, const Options& options) {
    if (url.starts_with("postgres")) {
        return connect_postgres(postgres_settings(url, options));
    }
    return connect_mysql(mysql_settings(url, options));
}

TestServer& TestServer::get(const std::string& kind) {
    static std::mutex mutex;
    // Destroyed at exit, after the last test (which stopped each server).
    static std::map<std::string, std::unique_ptr<TestServer>> servers;
    static std::map<std::string, std::string> failures;
    std::lock_guard lock(mutex);
    if (auto found = servers.find(kind); found != servers.end()) {
        return *found->second;
    }
    if (auto failed = failures.find(kind); failed != failures.end()) {
        throw std::runtime_error(failed->second);
    }
    try {
        std::unique_ptr<TestServer> server(new TestServer(kind));
        return *servers.emplace(kind, std::move(server)).first->second;
    } catch (const std::exception& e) {
        failures[kind] = std::string("the test ") + kind + " server could not be started: " + e.what();
        throw std::runtime_error(failures[kind]);
    }
}

TestServer::TestServer(const std::string& kind) : pstest::Service(kind) {
    std::ifstream in(dir() / "admin-password");
    std::getline(in, admin_password_);
    if (admin_password_.empty()) {
        throw std::runtime_error("scripts/service left no admin-password in " + dir().string());
    }
}

// PostgreSQL: a test's "database" is a schema of the database photoshare, chosen by the
// search_path: making one costs a millisecond, where CREATE DATABASE copies a template
// and syncs it (a few hundred). MariaDB: a database (there, the same thing as a schema).
std::string TestServer::url(const std::string& database) const {
    if (kind() == "postgres") {
        return "postgresql://photoshare:photoshare@127.0.0.1:" + std::to_string(port()) + "/photoshare" +
               (database.empty() ? "" : "?options=-c%20search_path%3D" + database);
    }
    return "mysql://photoshare:photoshare@127.0.0.1:" + std::to_string(port()) + "/" + database;
}

std::string TestServer::admin_url(const std::string& database) const {
    if (kind() == "postgres") {
        return "postgresql://postgres:" + admin_password_ + "@127.0.0.1:" + std::to_string(port()) + "/" +
               (database.empty() ? "postgres" : "photoshare?options=-c%20search_path%3D" + database);
    }
    return "mysql://root:" + admin_password_ + "@127.0.0.1:" + std::to_string(port()) + "/" + database;
}

std::unique_ptr<sql::Connection> TestServer::admin(const std::string& database) const {
    return connect_raw(admin_url(database));
}

std::string TestServer::create_database() {
    const std::string name = "ps_test_" + std::to_string(++databases_);
    if (kind() == "postgres") {
        auto connection = connect_raw(admin_url(name));
        connection->run_ddl("CREATE SCHEMA " + name + " AUTHORIZATION photoshare");
    } else {
        auto connection = admin();
        connection->run_ddl("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
        connection->run_ddl("GRANT ALL PRIVILEGES ON " + name + ".* TO 'photoshare'@'127.0.0.1'");
    }
    return name;
}

void TestServer::drop_database(const std::string& name) {
    try {
        if (kind() == "postgres") {
            connect_raw(admin_url(name))->run_ddl("DROP SCHEMA IF EXISTS " + name + " CASCADE");
        } else {
            admin()->run_ddl("DROP DATABASE IF EXISTS " + name);
        }
    } catch (const std::exception&) {
        // The server is stopped (a restart test that failed half-way): it goes at exit anyway.
    }
}

}  // namespace photoshare::store::testing
