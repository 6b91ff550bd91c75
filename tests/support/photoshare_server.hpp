// The photoshare binary as the tests run it: `photoshare serve` as a child process on a free
// loopback port with a fresh data directory, waited for until /healthz answers; other
// commands run to completion; a probe that proves a server goes on serving others.
#pragma once

#include "common.hpp"
#include "files.hpp"
#include "process.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace pstest {

// The server binary (PHOTOSHARE_BINARY at build time; the environment variable of the same
// name overrides it, to test another build).
std::string server_binary();

// Runs the binary with args to completion (killed after timeout); output is stdout+stderr.
CommandResult run_photoshare(const std::vector<std::string>& args, const Env& env = {}, std::chrono::milliseconds timeout = 30s);

// What every server a test starts is given before the test's own arguments (which may
// override it): every client of a test comes from 127.0.0.1, so the allowance of new
// accounts per address (20 an hour) would stop a suite at its 21st user. The tests of that
// limit set their own. Image jobs (AVIF, WebP) are off: they write files seconds after an
// upload, and many tests compare the files before and after theirs; the tests of the jobs
// (and the browser test) turn them on.
inline const std::vector<std::string> kTestDefaults{"--set", "auth.max_registrations_per_address=1000000", "--set",
                                                    "images.run_jobs=false"};

struct ServerOptions {
    std::vector<std::string> args;  // appended after `serve --listen ... --data-dir ...`
    Env env;                        // added to the environment (PHOTOSHARE_* of ours are removed first)
    std::string name = "itest-server";  // --name; empty: not passed
    fs::path data_dir;                  // empty: a fresh directory owned by the ServerProcess
    bool wait_healthy = true;
};

// The server as a child process. Its stdout and stderr go to a log file that is printed when
// the test has failed. The destructor kills it (SIGKILL) if it is still running and removes
// its temporary files.
class ServerProcess {
public:
    explicit ServerProcess(ServerOptions options = {});
    ~ServerProcess();
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;

    pid_t pid() const { return pid_; }
    int port() const { return port_; }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    std::string base_url() const { return "http://" + address(); }
    const fs::path& data_dir() const { return data_dir_; }
    const std::string& name() const { return options_.name; }
    std::string admin_token() const;  // DATA_DIR/admin.token
    std::string log() const;

    bool alive();
    // Sends sig and waits for the exit; nullopt if the process is still running at the deadline.
    std::optional<ExitStatus> stop(int sig = SIGTERM, std::chrono::milliseconds timeout = 30s);
    std::optional<ExitStatus> wait_exit(std::chrono::milliseconds timeout);
    void signal(int sig);
    // Starts the same configuration again (same data directory, a new port).
    void restart();

private:
    void start();
    ServerOptions options_;
    std::optional<TempDir> work_;
    fs::path data_dir_;
    fs::path log_path_;
    pid_t pid_ = -1;
    int port_ = 0;
    std::optional<ExitStatus> exit_;
};

// A second, independent client gets 200 from /healthz within `within` (a fresh connection
// each time). Records a test failure otherwise.
void expect_serving_at(const char* file, int line, const ServerProcess& server, std::chrono::milliseconds within = 2s);
#define EXPECT_STILL_SERVING(...) ::pstest::expect_serving_at(__FILE__, __LINE__, __VA_ARGS__)

// Polls GET /healthz from a thread of its own (a new connection each time, every
// `interval`) until stop() or destruction: proof that the server served others *while*
// something hostile went on. Check ok() after stop().
class HealthProbe {
public:
    explicit HealthProbe(const ServerProcess& server, std::chrono::milliseconds interval = 50ms);
    ~HealthProbe();
    HealthProbe(const HealthProbe&) = delete;
    HealthProbe& operator=(const HealthProbe&) = delete;
    void stop();
    int requests() const { return requests_; }
    int failures() const { return failures_; }
    double slowest_seconds() const { return slowest_; }
    // At least one request, none failed, none slower than max_seconds.
    bool ok(double max_seconds = 2.0) const { return requests_ > 0 && failures_ == 0 && slowest_ <= max_seconds; }
    std::string describe() const;

private:
    std::thread thread_;
    std::atomic<bool> stop_{false};
    int requests_ = 0, failures_ = 0;
    double slowest_ = 0;
    std::string last_failure_;
};

}  // namespace pstest

// A fixture whose tests share one server (started once for the suite, with the given
// ServerOptions designated initializers). Tests of such a suite must not depend on what the
// others leave behind.
#define PSTEST_SHARED_SERVER_FIXTURE(Fixture, ...)                                                             \
    class Fixture : public ::testing::Test {                                                                   \
    protected:                                                                                                 \
        static inline std::unique_ptr<::pstest::ServerProcess> server_;                                        \
        static inline std::string start_error_;                                                                \
        static void SetUpTestSuite() {                                                                         \
            try {                                                                                              \
                server_ = std::make_unique<::pstest::ServerProcess>(::pstest::ServerOptions{__VA_ARGS__});     \
            } catch (const std::exception& e) {                                                                \
                start_error_ = e.what();                                                                       \
            }                                                                                                  \
        }                                                                                                      \
        static void TearDownTestSuite() { server_.reset(); }                                                   \
        void SetUp() override {                                                                                \
            ASSERT_TRUE(server_) << start_error_;                                                              \
            ASSERT_TRUE(server_->alive()) << "the shared server has died";                                     \
        }                                                                                                      \
        ::pstest::ServerProcess& server() { return *server_; }                                                 \
    }
