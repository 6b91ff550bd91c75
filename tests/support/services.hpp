// Backing services for the tests: PostgreSQL, MariaDB, memcached, Redis, HAProxy and the S3
// server (s3rver) started alone with scripts/service, each in a directory of its own on a
// port of its own; and the program-wide cleanup that every such directory (and every stack
// of stack.hpp) is registered with, so that a failing or interrupted test leaves no process
// behind.
#pragma once

#include "common.hpp"
#include "process.hpp"

#include <string>
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

// One backing service (postgres, mariadb, memcached, redis, s3rver) on a port of its own, its
// state in DIR/NAME of a registered directory (memcached in DIR/memcached-1, so the cleanup
// finds its pid file).
class Service {
public:
    explicit Service(std::string name);  // starts it; throws std::runtime_error with the log if it cannot
    ~Service();                          // stops it and removes its directory
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;

    void start();
    void stop();
    void kill();  // SIGKILL: no goodbye to its clients, as when its machine dies
    const std::string& url() const { return url_; }  // what photoshare is given
    int port() const { return port_; }
    fs::path dir() const;

private:
    CommandResult service(const std::string& action, bool with_port);
    std::string name_;
    fs::path base_;
    int port_ = 0;
    std::string url_;
};

}  // namespace pstest
