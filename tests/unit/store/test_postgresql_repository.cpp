// The repository contract on PostgreSQL, plus what only PostgreSQL shows. The server is
// started by the tests themselves (database_server.hpp).
#include <gtest/gtest.h>

#include "backend.hpp"
#include "store/postgresql.hpp"
#include "database_server.hpp"

namespace photoshare::store::testing {
namespace {

Backend postgresql_backend() {
    return Backend{"postgresql", [] { return std::make_unique<ServerDatabase>("postgres"); }};
}

INSTANTIATE_TEST_SUITE_P(PostgreSQL, RepositoryContract, ::testing::Values(postgresql_backend()),
                         [](const auto& info) { return info.param.name; });

TEST(PostgreSQL, SessionsHaveTimeoutsAndTheServerKeepsBytesAsBytes) {
    ServerDatabase database("postgres");
    Options options;
    options.statement_timeout = std::chrono::milliseconds(7000);
    options.lock_timeout = std::chrono::milliseconds(1500);
    auto repo = open(database.url(), options);
    repo->migrate();
    auto connection = connect_postgres(postgres_settings(database.url(), options));
    EXPECT_EQ(text_of(*connection, "SELECT current_setting('statement_timeout')"), "7s");
    EXPECT_EQ(text_of(*connection, "SELECT current_setting('lock_timeout')"), "1500ms");
    EXPECT_EQ(text_of(*connection, "SELECT current_setting('application_name')"), "photoshare");
    EXPECT_EQ(text_of(*connection, "SELECT current_setting('client_encoding')"), "UTF8");
    EXPECT_EQ(text_of(*connection,
                      "SELECT table_name || '.' || column_name || ':' || data_type FROM information_schema.columns "
                      "WHERE table_schema = current_schema() AND table_name = 'users' AND column_name LIKE 'username%' "
                      "ORDER BY column_name"),
              "users.username:bytea\nusers.username_key:bytea");
}

TEST(PostgreSQL, TheUrlsOwnOptionsAddToOursAndWinOnConflict) {
    ServerDatabase database("postgres");
    auto connection = connect_postgres(
        postgres_settings(database.server().url("") + "?options=-c%20statement_timeout%3D1234&application_name=mine", {}));
    EXPECT_EQ(text_of(*connection, "SELECT current_setting('statement_timeout')"), "1234ms");
    EXPECT_EQ(text_of(*connection, "SELECT current_setting('application_name')"), "mine");
    EXPECT_EQ(text_of(*connection, "SELECT current_setting('lock_timeout')"), "5s");
}

TEST(PostgreSQL, TheFrontPageQueryWalksThePrimaryKey) {
    ServerDatabase database("postgres");
    open(database.url(), {})->migrate();
    auto connection = connect_postgres(postgres_settings(database.url(), {}));
    connection->run_ddl("SET enable_seqscan = off");
    const std::string plan = text_of(
        *connection,
        "EXPLAIN SELECT p.seq FROM photos p JOIN users u ON u.id = p.user_id WHERE p.seq < 100 "
        "ORDER BY p.seq DESC LIMIT 20");
    EXPECT_NE(plan.find("Index Scan Backward using photos_pkey"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("Sort"), std::string::npos) << plan;
}

}  // namespace
}  // namespace photoshare::store::testing
