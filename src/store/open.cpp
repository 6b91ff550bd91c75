// Turns a database URL into a Repository: the one place that knows which backends exist.
// To add one: a connection in <name>.cpp, its SQL in dialect_<name>.cpp, a branch here.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

#include "store/dialect.hpp"
#include "store/mysql.hpp"
#include "store/postgresql.hpp"
#include "store/repository.hpp"
#include "store/sql_repository.hpp"
#include "store/sqlite.hpp"

namespace photoshare::store {
namespace {

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::unique_ptr<Repository> open_sqlite(std::string_view rest, const Options& options) {
    // rest follows "sqlite://": "/abs/path.db" or "relative/path.db".
    if (rest.empty()) {
        throw std::invalid_argument("sqlite URL has no file path (sqlite:///absolute/path.db or "
                                    "sqlite://relative/path.db)");
    }
    if (rest.find_first_of("?#") != std::string_view::npos) {
        throw std::invalid_argument("sqlite URL takes no query or fragment; give just the file path");
    }
    if (rest == ":memory:" || rest.starts_with("file:")) {
        // Each pooled connection would get a database of its own.
        throw std::invalid_argument("sqlite URL must name a file (in-memory and URI names are not supported)");
    }
    // Absolute now, so that a later change of working directory cannot split the pool
    // between two files, and so that describe() says which file it is.
    const std::filesystem::path file = std::filesystem::absolute(std::filesystem::path(rest));
    const std::chrono::milliseconds lock_timeout = options.lock_timeout;
    auto repository = make_sql_repository(
        sqlite_dialect(), [file, lock_timeout] { return connect_sqlite(file, lock_timeout); }, options,
        "sqlite://" + file.string());
    // Open one connection now, so a wrong path fails at start-up rather than on the first request.
    repository->ping();
    return repository;
}

// Network databases are not contacted here: the first use (migrate(), at start-up) does,
// and a database that is down then comes back is simply used from then on.
std::unique_ptr<Repository> open_postgresql(const std::string& url, const Options& options) {
    auto settings = std::make_shared<const PostgresSettings>(postgres_settings(url, options));
    std::string description = settings->description;
    return make_sql_repository(
        postgresql_dialect(), [settings] { return connect_postgres(*settings); }, options, std::move(description));
}

std::unique_ptr<Repository> open_mysql(const std::string& url, const Options& options) {
    auto settings = std::make_shared<const MysqlSettings>(mysql_settings(url, options));
    if (settings->database.empty()) {
        throw std::invalid_argument("mysql URL names no database (mysql://user:password@host:port/dbname)");
    }
    std::string description = settings->description;
    return make_sql_repository(
        mysql_dialect(), [settings] { return connect_mysql(*settings); }, options, std::move(description));
}

}  // namespace

std::unique_ptr<Repository> open(const std::string& url, const Options& options) {
    if (options.lock_timeout.count() < 0) {
        throw std::invalid_argument("store: the lock timeout cannot be negative");
    }
    if (options.statement_timeout.count() <= 0) {
        throw std::invalid_argument("store: the statement timeout must be positive");
    }
    // Error messages name the scheme only: the rest of a URL may hold a password.
    const auto separator = url.find("://");
    if (separator == std::string::npos || separator == 0) {
        throw std::invalid_argument("database URL must look like scheme://...; sqlite:///path/to/file.db "
                                    "is the built-in one");
    }
    const std::string scheme = lower(std::string_view(url).substr(0, separator));
    if (scheme.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789+.-") != std::string::npos) {
        throw std::invalid_argument("database URL has a malformed scheme");  // not echoed: may be a secret
    }
    const std::string_view rest = std::string_view(url).substr(separator + 3);
    if (scheme == "sqlite") {
        return open_sqlite(rest, options);
    }
    // The drivers want the scheme in lower case ("PostgreSQL://" is still a valid URL).
    const std::string normalized = scheme + "://" + std::string(rest);
    if (scheme == "postgresql" || scheme == "postgres") {
        return open_postgresql(normalized, options);
    }
    if (scheme == "mysql" || scheme == "mariadb") {
        return open_mysql(normalized, options);
    }
    throw std::invalid_argument("unknown database URL scheme \"" + scheme +
                                "\" (supported: sqlite://, postgresql://, postgres://, mysql://, mariadb://)");
}

}  // namespace photoshare::store
