// What a database on the network adds to the contract, on PostgreSQL and MariaDB alike:
// servers that restart, stop answering, or make callers wait; several servers migrating
// one empty database at once; passwords kept out of messages. The servers are real
// (database_server.hpp), so stopping and starting them is the real thing.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <optional>
#include <thread>
#include <vector>

#include "database_server.hpp"

namespace photoshare::store::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Kind {
    std::string name;     // test name
    std::string service;  // scripts/lib/<service>.sh
};

std::ostream& operator<<(std::ostream& out, const Kind& kind) {
    return out << kind.name;
}

class NetworkBackend : public ::testing::TestWithParam<Kind> {
protected:
    void SetUp() override { database_ = std::make_unique<ServerDatabase>(GetParam().service); }

    bool postgres() const { return GetParam().service == "postgres"; }
    ServerDatabase& database() { return *database_; }
    TestServer& server() { return database_->server(); }

    std::unique_ptr<Repository> open_migrated(const Options& options = {}) {
        auto repository = open(database_->url(), options);
        repository->migrate();
        return repository;
    }

    // Blocks every reader of users until unlock_users(), as a long migration or a DBA would.
    void lock_users(sql::Connection& admin) {
        if (postgres()) {
            admin.begin(sql::TxKind::write);
            admin.run_ddl("LOCK TABLE users IN ACCESS EXCLUSIVE MODE");
        } else {
            admin.run_ddl("LOCK TABLES users WRITE");
        }
    }
    void unlock_users(sql::Connection& admin) {
        if (postgres()) {
            admin.commit();
        } else {
            admin.run_ddl("UNLOCK TABLES");
        }
    }

    // Makes several connections open at once, so that the pool holds more than one.
    static void warm_up(Repository& repo, int threads) {
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t) {
            workers.emplace_back([&repo] {
                for (int i = 0; i < 20; ++i) {
                    repo.ping();
                }
            });
        }
        for (auto& worker : workers) {
            worker.join();
        }
    }

private:
    std::unique_ptr<ServerDatabase> database_;
};

// Starts the server again however the test ends, so that one failure does not fail the rest.
class Restarter {
public:
    explicit Restarter(TestServer& server) : server_(server) {}
    ~Restarter() {
        if (stopped_) {
            try {
                server_.start();
            } catch (const std::exception& e) {
                ADD_FAILURE() << e.what();
            }
        }
    }
    void stop() {
        server_.stop();
        stopped_ = true;
    }
    void start() {
        server_.start();
        stopped_ = false;
    }

private:
    TestServer& server_;
    bool stopped_ = false;
};

std::chrono::milliseconds since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// The whole story of a database restart under a running server: calls made while it is
// down fail fast with Unavailable (HTTP 503), and once it is back the same Repository
// works again, without any call failing because of connections from before.
TEST_P(NetworkBackend, ARestartFailsOnlyTheCallsMadeWhileTheDatabaseIsDown) {
    Options options;
    options.pool_size = 4;
    auto repo = open_migrated(options);
    const auto alice = repo->create_user("alice", "h");
    ASSERT_TRUE(alice.has_value());
    warm_up(*repo, 4);

    Restarter restarter(server());
    restarter.stop();
    for (int i = 0; i < 3; ++i) {
        const auto start = Clock::now();
        try {
            repo->find_user("alice");
            ADD_FAILURE() << "expected Unavailable while the database is down";
        } catch (const Unavailable& e) {
            EXPECT_EQ(std::string(e.what()).find("photoshare:photoshare"), std::string::npos) << e.what();
        }
        EXPECT_LT(since(start), 2s) << "call " << i;
    }
    const auto start = Clock::now();
    EXPECT_THROW(repo->create_user("bob", "h"), Unavailable);
    EXPECT_THROW(repo->insert_photos(std::vector<NewPhoto>{NewPhoto{.id = "p", .user_id = alice->id}}), Unavailable);
    EXPECT_THROW(repo->ping(), Unavailable);
    EXPECT_LT(since(start), 3s);

    restarter.start();
    EXPECT_TRUE(repo->find_user("alice").has_value());
    EXPECT_TRUE(repo->create_user("bob", "h").has_value());
    EXPECT_EQ(repo->insert_photos(std::vector<NewPhoto>{NewPhoto{.id = "p", .user_id = alice->id}}).size(), 1u);
    warm_up(*repo, 4);
}

// The server restarts while every pooled connection sits idle, and no call notices the
// restart: dead connections are found before anything is sent on them, and replaced.
// The first call is a write that must not run twice, the hardest case to retry.
TEST_P(NetworkBackend, ConnectionsIdleAcrossARestartAreReplacedUnnoticed) {
    Options options;
    options.pool_size = 4;
    auto repo = open_migrated(options);
    const auto alice = repo->create_user("alice", "h").value();
    warm_up(*repo, 4);

    Restarter restarter(server());
    restarter.stop();
    restarter.start();

    EXPECT_TRUE(repo->create_user("bob", "h").has_value());
    EXPECT_EQ(repo->insert_photos(std::vector<NewPhoto>{NewPhoto{.id = "p1", .user_id = alice.id}}).size(), 1u);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            try {
                for (int i = 0; i < 5; ++i) {
                    if (!repo->find_user("alice")) {
                        ++failures;
                    }
                }
            } catch (const std::exception& e) {
                ADD_FAILURE() << e.what();
                ++failures;
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(repo->all_photo_ids(), std::vector<std::string>{"p1"});
}

// What makes the test above work, seen on one connection: a connection from before a
// restart is known dead before anything is sent on it, so the repository may run even
// a non-idempotent write on a fresh connection instead.
TEST_P(NetworkBackend, AConnectionFromBeforeARestartIsFoundDeadBeforeAnythingIsSent) {
    auto repo = open_migrated();
    auto connection = connect_raw(database().url());
    EXPECT_TRUE(connection->alive(false));
    EXPECT_TRUE(connection->alive(true));
    Restarter restarter(server());
    restarter.stop();
    restarter.start();
    const std::array<sql::Value, 4> row{std::string("bob"), std::string("bob"), std::string("h"), std::int64_t{1}};
    try {
        connection->execute("INSERT INTO users (username, username_key, password_hash, created_at) VALUES " +
                                std::string(postgres() ? "($1, $2, $3, $4)" : "(?, ?, ?, ?)"),
                            row);
        ADD_FAILURE() << "expected ConnectionLost";
    } catch (const sql::ConnectionLost& e) {
        EXPECT_FALSE(e.outcome_unknown()) << e.what();
    }
    EXPECT_FALSE(connection->healthy());
    EXPECT_FALSE(connection->alive(false));
    EXPECT_FALSE(repo->find_user("bob").has_value());
}

// A server that stops answering (here: every process of it stopped with SIGSTOP) holds a
// call for at most the statement timeout plus the client's margin, never forever.
TEST_P(NetworkBackend, AServerThatStopsAnsweringCostsBoundedTime) {
    Options options;
    options.pool_size = 2;
    options.statement_timeout = 500ms;
    auto repo = open_migrated(options);
    ASSERT_TRUE(repo->create_user("alice", "h").has_value());

    server().freeze();
    struct Thaw {
        TestServer& server;
        ~Thaw() { server.thaw(); }
    } thaw{server()};
    const auto start = Clock::now();
    EXPECT_THROW(repo->find_user("alice"), Unavailable);
    const auto waited = since(start);
    EXPECT_GE(waited, 400ms);
    EXPECT_LT(waited, 6s);
    server().thaw();
    // The connection in doubt was dropped; the next call uses a good one.
    EXPECT_TRUE(repo->find_user("alice").has_value());
}

TEST_P(NetworkBackend, AStatementRunningPastTheTimeoutIsCancelled) {
    Options options;
    options.statement_timeout = 1000ms;
    auto connection = connect_raw(database().url(), options);
    const auto start = Clock::now();
    const std::array<sql::Value, 1> seconds{std::int64_t{10}};
    EXPECT_THROW(connection->execute(postgres() ? "SELECT pg_sleep($1)" : "SELECT SLEEP(?)", seconds), Unavailable);
    const auto waited = since(start);
    EXPECT_GE(waited, 900ms);
    EXPECT_LT(waited, 4s);
    // The server cancelled the statement; the session itself is fine.
    EXPECT_TRUE(connection->alive(true));
    EXPECT_EQ(text_of(*connection, "SELECT 1"), "1");
}

TEST_P(NetworkBackend, AnExhaustedPoolAnswersUnavailableAfterTheAcquireTimeout) {
    Options options;
    options.pool_size = 1;
    options.acquire_timeout = 300ms;
    options.lock_timeout = 5000ms;
    auto repo = open_migrated(options);
    ASSERT_TRUE(repo->create_user("alice", "h").has_value());

    auto admin = connect_raw(database().admin_url());
    lock_users(*admin);
    std::optional<bool> reader_found;
    std::string reader_error;
    std::thread reader([&] {
        try {
            reader_found = repo->find_user("alice").has_value();
        } catch (const std::exception& e) {
            reader_error = e.what();
        }
    });
    std::this_thread::sleep_for(300ms);  // the reader now waits for the lock on the only connection
    const auto start = Clock::now();
    try {
        repo->find_user("alice");
        ADD_FAILURE() << "expected Unavailable from an exhausted pool";
    } catch (const Unavailable& e) {
        EXPECT_NE(std::string(e.what()).find("pool"), std::string::npos) << e.what();
    }
    const auto waited = since(start);
    EXPECT_GE(waited, 280ms);
    EXPECT_LT(waited, 2s);
    unlock_users(*admin);
    reader.join();
    EXPECT_EQ(reader_error, "");
    EXPECT_EQ(reader_found, std::optional<bool>(true));
    EXPECT_TRUE(repo->find_user("alice").has_value());
}

TEST_P(NetworkBackend, AWaitForALockEndsWithUnavailableAfterTheLockTimeout) {
    Options options;
    options.lock_timeout = 1000ms;
    auto repo = open_migrated(options);
    ASSERT_TRUE(repo->create_user("alice", "h").has_value());
    auto admin = connect_raw(database().admin_url());
    lock_users(*admin);
    const auto start = Clock::now();
    EXPECT_THROW(repo->create_user("bob", "h"), Unavailable);
    const auto waited = since(start);
    EXPECT_GE(waited, 900ms);
    EXPECT_LT(waited, 4s);
    unlock_users(*admin);
    EXPECT_TRUE(repo->create_user("bob", "h").has_value());
}

// Several servers (processes), each with several threads, start at once against an empty
// database: every one of them migrates, and each version is applied exactly once.
TEST_P(NetworkBackend, OneMigrationRowPerVersionAfterAConcurrentStartOfSeveralServers) {
    constexpr int processes = 4;
    constexpr int threads_each = 3;
    int gate[2];
    ASSERT_EQ(pipe(gate), 0);
    const std::string url = database().url();
    std::vector<pid_t> children;
    for (int p = 0; p < processes; ++p) {
        const pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            close(gate[1]);
            char byte;
            (void)!read(gate[0], &byte, 1);
            std::atomic<int> failed{0};
            std::vector<std::thread> threads;
            for (int t = 0; t < threads_each; ++t) {
                threads.emplace_back([&] {
                    try {
                        open(url, {})->migrate();
                    } catch (const std::exception& e) {
                        (void)std::fprintf(stderr, "migrate: %s\n", e.what());  // the exit status tells the parent
                        ++failed;
                    }
                });
            }
            for (auto& thread : threads) {
                thread.join();
            }
            _exit(failed == 0 ? 0 : 1);
        }
        children.push_back(pid);
    }
    close(gate[0]);
    close(gate[1]);
    for (const pid_t pid : children) {
        int status = 0;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
    }
    auto connection = connect_raw(url);
    EXPECT_EQ(text_of(*connection, "SELECT version FROM schema_migrations ORDER BY version"), "1\n2\n3\n4\n5\n6\n7");
    auto repo = open(url, {});
    EXPECT_TRUE(repo->create_user("alice", "h").has_value());
}

TEST_P(NetworkBackend, AWrongPasswordIsUnavailableAndNeverShown) {
    std::string url = database().url();
    const std::string good = "photoshare:photoshare@";
    url.replace(url.find(good), good.size(), "photoshare:wr0ng-s3cret@");
    auto repo = open(url, {});
    EXPECT_EQ(repo->describe().find("wr0ng-s3cret"), std::string::npos) << repo->describe();
    const auto start = Clock::now();
    try {
        repo->ping();
        ADD_FAILURE() << "expected Unavailable";
    } catch (const Unavailable& e) {
        const std::string message = e.what();
        EXPECT_EQ(message.find("wr0ng-s3cret"), std::string::npos) << message;
        EXPECT_NE(message.find(postgres() ? "password authentication failed" : "Access denied"), std::string::npos)
            << message;
    }
    EXPECT_LT(since(start), 2s);
}

TEST_P(NetworkBackend, DescribesItselfWithoutThePassword) {
    auto repo = open(database().url(), {});
    const std::string expected = std::string(postgres() ? "postgresql" : "mysql") + "://photoshare@127.0.0.1:" +
                                 std::to_string(server().port()) + "/" +
                                 (postgres() ? "photoshare" : database().name());
    EXPECT_EQ(repo->describe(), expected);
}

INSTANTIATE_TEST_SUITE_P(Servers, NetworkBackend,
                         ::testing::Values(Kind{"postgresql", "postgres"}, Kind{"mariadb", "mariadb"}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace photoshare::store::testing
