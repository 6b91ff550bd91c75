// The SQL that differs between databases, one Dialect value per backend. Everything the
// dialects share is written once, in sql_repository.cpp, with `?` placeholders.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace photoshare::store {

enum class Placeholders {
    question,  // ?, ?, ?      (SQLite, MySQL/MariaDB)
    numbered,  // $1, $2, $3   (PostgreSQL)
};

// One schema version. Its statements run in one transaction together with the row that
// records it, so a version is applied entirely or not at all (where the database has
// transactional DDL; MySQL does not, hence its statements must each be re-runnable).
struct Migration {
    int version;
    std::string_view description;
    std::span<const std::string_view> statements;
};

struct Dialect {
    std::string_view name;
    // The database is a file this process reads itself (SQLite): a statement waits on the
    // disk, never on a network. Repository::find_session_at_once uses it.
    bool in_process = false;
    Placeholders placeholders;
    // Put between an INSERT and its key column to read a generated key back
    // (" RETURNING " for PostgreSQL); empty when the driver reports the key itself.
    std::string_view returning;
    // Parameterless, and harmless when the table exists.
    std::string_view create_migrations_table;
    // One parameter, the table name; yields a row when the table exists.
    std::string_view table_exists;
    // Parameters: id_hash, user_id, username, csrf_token, expires_at.
    std::string_view upsert_session;
    // Parameters: name, value; does nothing when a secret of that name exists.
    std::string_view insert_secret;
    // A cheap statement that still reads the database (not just the client library).
    std::string_view ping;
    // In increasing version order.
    std::span<const Migration> migrations;
};

// Rewrites the shared SQL's `?` into the dialect's placeholders. The shared SQL has no
// string literals or quoted names containing `?`, so a plain scan is exact.
std::string with_placeholders(std::string_view sql, Placeholders style);

// One per backend built in: to add one, define its dialect in dialect_<name>.cpp.
const Dialect& sqlite_dialect();
const Dialect& postgresql_dialect();
const Dialect& mysql_dialect();  // MySQL and MariaDB

}  // namespace photoshare::store
