// The repository contract on MariaDB (the MySQL driver), plus what only MySQL shows: DDL
// that commits by itself, session settings, InnoDB. The server is started by the tests
// themselves (database_server.hpp).
#include <gtest/gtest.h>

#include "backend.hpp"
#include "store/dialect.hpp"
#include "store/mysql.hpp"
#include "database_server.hpp"

namespace photoshare::store::testing {
namespace {

Backend mariadb_backend() {
    return Backend{"mariadb", [] { return std::make_unique<ServerDatabase>("mariadb"); }};
}

INSTANTIATE_TEST_SUITE_P(MariaDB, RepositoryContract, ::testing::Values(mariadb_backend()),
                         [](const auto& info) { return info.param.name; });

TEST(MariaDB, SessionsAreStrictUtf8mb4ReadCommittedWithTimeouts) {
    ServerDatabase database("mariadb");
    Options options;
    options.lock_timeout = std::chrono::milliseconds(2500);
    options.statement_timeout = std::chrono::milliseconds(7000);
    auto connection = connect_mysql(mysql_settings(database.url(), options));
    EXPECT_EQ(text_of(*connection, "SELECT @@SESSION.character_set_client, @@SESSION.character_set_results"),
              "utf8mb4|utf8mb4");
    EXPECT_NE(text_of(*connection, "SELECT @@SESSION.sql_mode").find("STRICT_ALL_TABLES"), std::string::npos);
    EXPECT_EQ(text_of(*connection, "SELECT @@SESSION.tx_isolation"), "READ-COMMITTED");
    EXPECT_EQ(text_of(*connection, "SELECT @@SESSION.innodb_lock_wait_timeout, @@SESSION.lock_wait_timeout"),
              "3|3");  // whole seconds, rounded up
    EXPECT_EQ(text_of(*connection, "SELECT CAST(@@SESSION.max_statement_time AS SIGNED)"), "7");
}

TEST(MariaDB, TablesAreInnoDbWithBinaryStrings) {
    ServerDatabase database("mariadb");
    open(database.url(), {})->migrate();
    auto connection = connect_mysql(mysql_settings(database.url(), {}));
    EXPECT_EQ(text_of(*connection,
                      "SELECT TABLE_NAME, ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                      "ORDER BY TABLE_NAME"),
              "image_jobs|InnoDB\nphotos|InnoDB\nschema_migrations|InnoDB\nsecrets|InnoDB\nsessions|InnoDB\nupload_keys|InnoDB\nusers|InnoDB");
    EXPECT_EQ(text_of(*connection,
                      "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                      "AND TABLE_NAME = 'users' AND COLUMN_NAME LIKE 'username%' ORDER BY COLUMN_NAME"),
              "username|varbinary\nusername_key|varbinary");
}

// DDL commits by itself in MySQL, so a server that dies in the middle of a version leaves
// part of it behind, unrecorded. The next start must finish the job, not trip over it.
TEST(MariaDB, AMigrationCutShortIsCompletedByTheNextStart) {
    ServerDatabase database("mariadb");
    {
        auto connection = connect_mysql(mysql_settings(database.url(), {}));
        const Migration& first = mysql_dialect().migrations.front();
        connection->run_ddl(mysql_dialect().create_migrations_table);
        connection->run_ddl(first.statements.front());  // the first table only, as after a crash
    }
    auto repo = open(database.url(), {});
    EXPECT_EQ(repo->schema_version(), 0);
    repo->migrate();
    EXPECT_EQ(repo->schema_version(), mysql_dialect().migrations.back().version);
    const auto alice = repo->create_user("alice", "h");
    ASSERT_TRUE(alice.has_value());
    EXPECT_EQ(repo->insert_photos(std::vector<NewPhoto>{NewPhoto{.id = "p", .user_id = alice->id}}).size(), 1u);
    repo->migrate();  // and again: nothing to do
    auto connection = connect_mysql(mysql_settings(database.url(), {}));
    EXPECT_EQ(text_of(*connection, "SELECT COUNT(*) FROM schema_migrations"), std::to_string(mysql_dialect().migrations.size()));
}

TEST(MariaDB, TheMigrationLockIsReleasedAfterUse) {
    ServerDatabase database("mariadb");
    auto repo = open(database.url(), {});
    repo->migrate();
    auto connection = connect_mysql(mysql_settings(database.url(), {}));
    EXPECT_EQ(text_of(*connection, "SELECT IS_FREE_LOCK(CONCAT('photoshare.migrate:', SHA1(DATABASE())))"), "1");
}

}  // namespace
}  // namespace photoshare::store::testing
