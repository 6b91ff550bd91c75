#include "store/migrations.hpp"

#include <array>
#include <chrono>
#include <string>

namespace photoshare::store {
namespace {

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Only valid once the table is known to exist.
int recorded_version(sql::Connection& connection) {
    const sql::Rows rows = connection.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {});
    return static_cast<int>(sql::as_int(rows.at(0).at(0)));
}

}  // namespace

int schema_version(sql::Connection& connection, const Dialect& dialect) {
    const std::array<sql::Value, 1> table{std::string("schema_migrations")};
    if (connection.query(dialect.table_exists, table).empty()) {
        return 0;
    }
    return recorded_version(connection);
}

void migrate(sql::Connection& connection, const Dialect& dialect) {
    if (dialect.migrations.empty()) {
        return;
    }
    // The common case, a server restarting on a current schema, needs no lock at all.
    if (schema_version(connection, dialect) >= dialect.migrations.back().version) {
        return;
    }
    const std::string record = with_placeholders(
        "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
        dialect.placeholders);
    for (const Migration& migration : dialect.migrations) {
        sql::Transaction transaction(connection, sql::TxKind::migration);
        // Inside the lock: another process may have created it (or more) meanwhile.
        connection.run_ddl(dialect.create_migrations_table);
        if (recorded_version(connection) < migration.version) {
            for (const std::string_view statement : migration.statements) {
                connection.run_ddl(statement);
            }
            const std::array<sql::Value, 3> row{std::int64_t{migration.version},
                                                std::string(migration.description), now_seconds()};
            connection.execute(record, row);
        }
        transaction.commit();
    }
}

}  // namespace photoshare::store
