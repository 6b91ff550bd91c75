// The repository contract on SQLite, plus what only SQLite has: the file, its pragmas,
// writers of other processes holding its lock.
#include <sqlite3.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <sys/stat.h>

#include "backend.hpp"
#include "store/repository.hpp"
#include "store/sqlite.hpp"

namespace photoshare::store::testing {
namespace {

namespace fs = std::filesystem;

class TempDir {
public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "photoshare-store-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

class SqliteTestDatabase final : public TestDatabase {
public:
    std::string url() const override { return "sqlite://" + (dir_.path() / "photoshare.db").string(); }

private:
    TempDir dir_;
};

Backend sqlite_backend() {
    return Backend{"sqlite", [] { return std::make_unique<SqliteTestDatabase>(); }};
}

INSTANTIATE_TEST_SUITE_P(Sqlite, RepositoryContract, ::testing::Values(sqlite_backend()),
                         [](const auto& info) { return info.param.name; });

// A second, independent handle on the file, standing for another process or a DBA's shell.
class RawSqlite {
public:
    explicit RawSqlite(const fs::path& file) {
        if (sqlite3_open(file.c_str(), &db_) != SQLITE_OK) {
            throw std::runtime_error("cannot open " + file.string());
        }
    }
    ~RawSqlite() { sqlite3_close(db_); }
    RawSqlite(const RawSqlite&) = delete;
    RawSqlite& operator=(const RawSqlite&) = delete;

    void exec(const char* sql) {
        char* error = nullptr;
        if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
            const std::string message = error != nullptr ? error : "?";
            sqlite3_free(error);
            throw std::runtime_error(message);
        }
    }

    // Every row's columns joined by '|', rows by '\n'.
    std::string text(const char* sql) {
        sqlite3_stmt* statement = nullptr;
        if (sqlite3_prepare_v2(db_, sql, -1, &statement, nullptr) != SQLITE_OK) {
            throw std::runtime_error(sqlite3_errmsg(db_));
        }
        std::string out;
        while (sqlite3_step(statement) == SQLITE_ROW) {
            if (!out.empty()) {
                out += '\n';
            }
            for (int i = 0; i < sqlite3_column_count(statement); ++i) {
                if (i > 0) {
                    out += '|';
                }
                const auto* value = reinterpret_cast<const char*>(sqlite3_column_text(statement, i));
                out += value != nullptr ? value : "NULL";
            }
        }
        sqlite3_finalize(statement);
        return out;
    }

private:
    sqlite3* db_ = nullptr;
};

class SqliteRepository : public ::testing::Test {
protected:
    fs::path file() const { return dir_.path() / "photoshare.db"; }
    std::string url() const { return "sqlite://" + file().string(); }

    TempDir dir_;
};

TEST_F(SqliteRepository, ConnectionsUseWalFullSyncAndForeignKeys) {
    auto connection = connect_sqlite(file(), std::chrono::milliseconds(1000));
    auto value = [&](const char* pragma) { return sql::as_int(connection->query(pragma, {}).at(0).at(0)); };
    EXPECT_EQ(value("PRAGMA synchronous"), 2);  // FULL
    EXPECT_EQ(value("PRAGMA foreign_keys"), 1);
    EXPECT_EQ(value("PRAGMA busy_timeout"), 1000);
    EXPECT_EQ(sql::as_text(connection->query("PRAGMA journal_mode", {}).at(0).at(0)), "wal");
    // WAL is a property of the file: every other opener, in any process, uses it too.
    RawSqlite raw(file());
    EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");
}

TEST_F(SqliteRepository, OneMigrationRowPerVersionAfterAConcurrentStart) {
    std::vector<std::unique_ptr<Repository>> repos;
    for (int i = 0; i < 6; ++i) {
        repos.push_back(open(url(), {}));
    }
    std::vector<std::thread> threads;
    for (auto& repo : repos) {
        threads.emplace_back([r = repo.get()] { r->migrate(); });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    RawSqlite raw(file());
    EXPECT_EQ(raw.text("SELECT version FROM schema_migrations ORDER BY version"), "1\n2\n3\n4\n5\n6\n7");
    EXPECT_EQ(raw.text("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN "
                       "('users', 'photos', 'sessions') ORDER BY name"),
              "photos\nsessions\nusers");
}

TEST_F(SqliteRepository, TheFrontPageQueryWalksTheKeyWithoutSorting) {
    open(url(), {})->migrate();
    RawSqlite raw(file());
    const std::string plan = raw.text(
        "EXPLAIN QUERY PLAN SELECT p.seq, p.id, p.user_id, u.username, p.width, p.height, p.thumb_width, "
        "p.thumb_height, p.bytes, p.created_at FROM photos p JOIN users u ON u.id = p.user_id "
        "WHERE p.seq < 100 ORDER BY p.seq DESC LIMIT 20");
    EXPECT_NE(plan.find("INTEGER PRIMARY KEY"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("SCAN u"), std::string::npos) << plan;
}

TEST_F(SqliteRepository, AWriterWaitsForAnotherProcessesLockThenGivesUp) {
    Options options;
    options.lock_timeout = std::chrono::milliseconds(300);
    auto repo = open(url(), options);
    repo->migrate();
    ASSERT_TRUE(repo->create_user("alice", "h").has_value());

    RawSqlite other(file());
    other.exec("BEGIN IMMEDIATE");
    const auto start = std::chrono::steady_clock::now();
    EXPECT_THROW(repo->create_user("bob", "h"), Unavailable);
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(250));
    // Readers are not blocked by a writer under WAL.
    EXPECT_TRUE(repo->find_user("alice").has_value());

    // A lock released within the timeout is simply waited for.
    std::thread releaser([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        other.exec("COMMIT");
    });
    EXPECT_TRUE(repo->create_user("bob", "h").has_value());
    releaser.join();
}

TEST_F(SqliteRepository, ABusyPoolGivesUnavailableAfterTheAcquireTimeout) {
    // The pool itself is tested in test_pool.cpp; this checks the wiring from Options.
    Options options;
    options.pool_size = 1;
    options.acquire_timeout = std::chrono::milliseconds(200);
    options.lock_timeout = std::chrono::milliseconds(2000);
    auto repo = open(url(), options);
    repo->migrate();

    RawSqlite other(file());
    other.exec("BEGIN IMMEDIATE");
    // The only connection now waits for the lock inside create_user...
    std::thread writer([&] { EXPECT_TRUE(repo->create_user("alice", "h").has_value()); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    // ...so a second caller finds the pool empty.
    const auto start = std::chrono::steady_clock::now();
    try {
        repo->find_user("alice");
        ADD_FAILURE() << "expected Unavailable";
    } catch (const Unavailable& e) {
        EXPECT_NE(std::string(e.what()).find("pool"), std::string::npos) << e.what();
    }
    const auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_GE(waited, std::chrono::milliseconds(190));
    EXPECT_LT(waited, std::chrono::milliseconds(1500));
    other.exec("COMMIT");
    writer.join();
    EXPECT_TRUE(repo->find_user("alice").has_value());
}

TEST_F(SqliteRepository, CreatesTheFileAndItsDirectory) {
    const fs::path nested = dir_.path() / "a" / "b" / "photos.db";
    auto repo = open("sqlite://" + nested.string(), {});
    repo->migrate();
    EXPECT_TRUE(fs::exists(nested));
    EXPECT_EQ(repo->describe(), "sqlite://" + nested.string());
}

TEST_F(SqliteRepository, TheFilesAndTheDirectoryItMakesAreTheOwnersOnly) {
    const fs::path dir = dir_.path() / "data";
    const fs::path file = dir / "photos.db";
    const auto old_umask = ::umask(022);  // what most machines have: files readable by all
    auto repo = open("sqlite://" + file.string(), {});
    repo->migrate();
    ASSERT_TRUE(repo->create_user("alice", "hash").has_value());  // a write, so the -wal and -shm files exist
    ::umask(old_umask);
    EXPECT_EQ(fs::status(dir).permissions(), fs::perms::owner_all);
    for (const char* suffix : {"", "-wal", "-shm"}) {
        const fs::path path = file.string() + suffix;
        ASSERT_TRUE(fs::exists(path)) << path;
        EXPECT_EQ(fs::status(path).permissions(), fs::perms::owner_read | fs::perms::owner_write) << path;
    }
}

TEST_F(SqliteRepository, ARelativePathIsResolvedOnceAgainstTheWorkingDirectory) {
    const fs::path relative = fs::relative(dir_.path() / "rel.db", fs::current_path());
    ASSERT_TRUE(relative.is_relative());
    auto repo = open("sqlite://" + relative.string(), {});
    EXPECT_EQ(repo->describe(), "sqlite://" + (fs::current_path() / relative).string());
    EXPECT_TRUE(fs::exists(dir_.path() / "rel.db"));
}

TEST_F(SqliteRepository, AFileThatIsNotADatabaseIsUnavailable) {
    std::ofstream(file()) << "this is not an SQLite database, just some text that is long enough........";
    EXPECT_THROW(open(url(), {}), Unavailable);
}

TEST_F(SqliteRepository, ADirectoryIsUnavailable) {
    EXPECT_THROW(open("sqlite://" + dir_.path().string(), {}), Unavailable);
}

TEST_F(SqliteRepository, AConnectionLeftInsideATransactionIsNotReused) {
    auto connection = connect_sqlite(file(), std::chrono::milliseconds(100));
    EXPECT_TRUE(connection->healthy());
    connection->begin(sql::TxKind::write);
    EXPECT_FALSE(connection->healthy());
    connection->rollback();
    EXPECT_TRUE(connection->healthy());
}

TEST_F(SqliteRepository, UniqueAndOtherConstraintViolationsAreTold) {
    auto connection = connect_sqlite(file(), std::chrono::milliseconds(100));
    connection->run_ddl("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER NOT NULL)");
    const std::array<sql::Value, 2> row{std::string("a"), std::int64_t{1}};
    connection->execute("INSERT INTO t (k, n) VALUES (?, ?)", row);
    EXPECT_THROW(connection->execute("INSERT INTO t (k, n) VALUES (?, ?)", row), sql::UniqueViolation);
    const std::array<sql::Value, 2> null_n{std::string("b"), sql::Value{}};
    try {
        connection->execute("INSERT INTO t (k, n) VALUES (?, ?)", null_n);
        ADD_FAILURE() << "expected a constraint violation";
    } catch (const sql::UniqueViolation&) {
        ADD_FAILURE() << "NOT NULL is not a unique violation";
    } catch (const sql::ConstraintViolation&) {
    }
    EXPECT_THROW(connection->execute("INSERT INTO t (k) VALUES (?, ?)", row), Unavailable);  // bad SQL
    EXPECT_THROW(connection->execute("INSERT INTO t (k, n) VALUES (?, ?)", std::span(row).first(1)),
                 std::logic_error);
    EXPECT_TRUE(connection->healthy());
}

}  // namespace
}  // namespace photoshare::store::testing
