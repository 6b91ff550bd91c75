// Backing services for the tests: PostgreSQL, MariaDB, memcached, Redis and the S3 server
// (s3rver) started alone with scripts/service, each in a directory of its own on a
// port of its own; and the program-wide cleanup that every such directory (and every stack
// of stack.hpp) is registered with, so that a failing or interrupted test leaves no process
// behind.
#pragma once

#include "common.hpp"
#include "process.hpp"

#include <string>
#include <sys/types.h>
#include <vector>

namespace pstest {

// Installs the program-wide cleanup: a GoogleTest environment whose TearDown stops every
// registered directory's processes (scripts/stack down where it holds a stack), signal
// handlers that do the same on SIGINT/SIGTERM/SIGHUP, and removal of the directories of
// earlier runs that died without cleaning up. Called from main(), after InitGoogleTest.
void install_cleanup();

// A fresh directory under $TMPDIR (ps-cluster-XXXXXX, mode 0755), registered for the
// program's cleanup; release_dir kills whatever its pid files still name (returning their
// names), unregisters it and removes it (kept when CLUSTER_KEEP_DIRS=1).
fs::path make_registered_dir();
std::vector<std::string> release_dir(const fs::path& dir);
// SIGKILL to every process a pid file of dir still names; returns their names.
std::vector<std::string> kill_leftovers(const fs::path& dir);

// bash scripts/service ARGS... (killed after timeout).
CommandResult service_script(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 180s, const Env& env = {});

// How a Service starts.
struct ServiceOptions {
    std::string redis_password;  // redis: clients must AUTH with it (REDIS_PASSWORD)
    bool start = true;           // in the constructor; otherwise at the first start()
};

// One backing service (postgres, mariadb, memcached, redis, s3rver) on a port of its own, its
// state in DIR/NAME of a registered directory (memcached in DIR/memcached-1, so the cleanup
// finds its pid file). Besides the program-wide cleanup, a watcher process stops it and
// removes its directory when the Service goes, or when this program dies in any way at all
// (a crash, SIGKILL); and every Service still running when the tests end is stopped then.
class Service {
public:
    // Throws std::runtime_error with the log if it cannot start.
    explicit Service(std::string name, ServiceOptions options = {});
    ~Service();  // stops it and removes its directory
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;

    // Starts it (a no-op when it runs), on the port it had if it ran before, and returns its
    // URL. Throws std::runtime_error with scripts/service's output when it cannot.
    std::string start();
    void stop();  // idempotent; a failure is a test failure
    void kill();  // SIGKILL: no goodbye to its clients, as when its machine dies
    // SIGSTOP / SIGCONT to the server and its child processes: it keeps its connections and
    // accepts new ones (the kernel completes the handshake) but answers nothing, like a hung
    // or overloaded server. freeze returns once every thread has stopped.
    void freeze();
    void thaw();

    const std::string& name() const { return name_; }
    const std::string& url() const { return url_; }  // what photoshare is given
    int port() const { return port_; }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    fs::path dir() const;
    std::string log() const;  // its log so far

private:
    void release();  // what the destructor does
    CommandResult service(const std::string& action, bool with_port) const;
    std::vector<pid_t> pids() const;  // the server's, then its children's
    std::string name_;
    ServiceOptions options_;
    fs::path base_;
    int port_ = 0;
    std::string url_;
    bool running_ = false;
    int watcher_pipe_ = -1;  // closing it (or our death) sets the watcher off
    pid_t watcher_ = -1;
};

}  // namespace pstest
