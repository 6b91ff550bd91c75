// Cluster-test helpers: a whole photoshare stack (database, cache servers, N servers, HAProxy)
// started and stopped with scripts/stack in a directory of its own on ports of its own; a
// client load that records every response; the HAProxy runtime API.
//
// Every stack directory is registered for the program's teardown (scripts/stack down, then
// SIGKILL to whatever a pid file still names), which also runs when the program is
// interrupted, so a failing or interrupted test leaves no process behind.
#pragma once

#include "../integration/harness.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace cluster {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------
// Commands

struct CommandResult {
    int exit_code = -1;  // -1: killed by a signal or timed out
    bool timed_out = false;
    std::string output;  // stdout and stderr together
    bool ok() const { return exit_code == 0 && !timed_out; }
};

// Runs argv (argv[0] looked up in PATH) to completion; killed (with its process group)
// after timeout. The environment is ours minus PHOTOSHARE_*, plus env.
CommandResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                  const std::vector<std::pair<std::string, std::string>>& env = {});

std::string source_dir();  // the repository (PHOTOSHARE_SOURCE_DIR)
bool have_program(const std::string& name);  // on PATH, or in /usr/sbin, /sbin
bool process_alive(pid_t pid);  // running, not a zombie

// Installs the program-wide cleanup: a GoogleTest environment whose TearDown stops every
// registered stack, signal handlers that do the same on SIGINT/SIGTERM/SIGHUP, and removal
// of the stacks of earlier runs that died without cleaning up.
void install_cleanup();

// A fresh directory under $TMPDIR (ps-cluster-XXXXXX, mode 0755), registered for the
// program's cleanup; release_dir kills whatever its pid files still name (returning their
// names), unregisters it and removes it (kept when CLUSTER_KEEP_DIRS=1).
fs::path make_registered_dir();
std::vector<std::string> release_dir(const fs::path& dir);

// A base port P with P..P+count-1 free, below the ephemeral range (so that no client socket
// takes one of them meanwhile).
int pick_ports(int count);

// deploy/nginx/nginx.conf listening on 127.0.0.1:listen_port, with one upstream server per port.
std::string render_nginx(int listen_port, const std::vector<int>& server_ports);

// ---------------------------------------------------------------------------------------
// A stack

struct StackOptions {
    int level = 4;
    int servers = 3;
    std::string db = "postgres";       // postgres | mariadb | sqlite
    std::string cache = "memcached";   // memcached | redis
    std::string storage = "file";      // file (DIR/media, shared) | s3 (s3rver on P+6)
    std::string serve = "auto";        // auto | proxy | presigned | public (storage.serve)
    std::vector<std::string> sets;     // --set KEY=VALUE for every server
};

class Stack {
public:
    explicit Stack(StackOptions options);  // a directory and ports; nothing started yet
    ~Stack();                              // down, and the directory removed
    Stack(const Stack&) = delete;
    Stack& operator=(const Stack&) = delete;

    // scripts/stack up; throws std::runtime_error with the output if it fails.
    void up();
    std::vector<std::string> up_args() const;  // "up" and the options
    CommandResult down();
    // scripts/stack ARGS... --dir DIR
    CommandResult stack(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 120s);

    const StackOptions& options() const { return options_; }
    const fs::path& dir() const { return dir_; }
    int port() const { return port_; }
    std::string url() const;                  // HAProxy
    int server_port(int n) const { return port_ + 10 + n; }
    std::string server_url(int n) const;      // web-N directly
    std::string server_name(int n) const { return "web-" + std::to_string(n); }
    int s3_port() const { return port_ + 6; }  // s3rver, with --storage s3
    std::string s3_url() const;               // http://127.0.0.1:P+6
    pid_t server_pid(int n) const;            // from DIR/web-N.pid; -1 if none
    std::string server_log(int n) const;
    std::string admin_token() const;

    // The HAProxy runtime API (DIR/haproxy.sock): one command, its answer.
    std::string haproxy_api(const std::string& command) const;
    // web-N -> HAProxy's operational state (0 down, 2 up, ...), from `show servers state`.
    std::map<std::string, int> haproxy_states() const;
    // Waits until HAProxy has every server of the stack up; false at the timeout.
    bool wait_all_in_rotation(std::chrono::milliseconds timeout = 30s) const;
    // Starts any web-N that is not running and waits until HAProxy uses it again.
    void ensure_all_servers_up();

    // The end of every log of the stack, for failure messages.
    std::string logs() const;

private:
    StackOptions options_;
    fs::path dir_;
    int port_ = 0;
};

// ---------------------------------------------------------------------------------------
// Load

// Client threads repeating GETs (round-robin over paths), each with its own connection,
// recording every response until stop().
class Load {
public:
    Load(std::string base_url, std::vector<std::string> paths, int threads, std::chrono::milliseconds timeout = 10s);
    ~Load();
    void stop();

    struct Failure {
        std::string path;
        long status;
        std::string what;
        double at_seconds;  // since the start
    };
    std::size_t total() const { return total_.load(); }
    std::size_t ok() const { return ok_.load(); }
    std::vector<Failure> failures() const;
    double max_seconds() const;  // the slowest response
    std::map<std::string, int> served_by() const;  // server name -> responses
    std::string summary() const;

private:
    void run(int index);
    std::string base_;
    std::vector<std::string> paths_;
    std::chrono::milliseconds timeout_;
    Clock::time_point start_;
    std::atomic<bool> stop_{false};
    std::atomic<std::size_t> total_{0}, ok_{0};
    mutable std::mutex mutex_;
    std::vector<Failure> failures_;
    std::map<std::string, int> served_by_;
    double max_seconds_ = 0;
    std::vector<std::thread> threads_;
};

// ---------------------------------------------------------------------------------------
// Small things

// The name in an X-Served-By value ("web-2 127.0.0.1:8012 pid=123" -> "web-2").
std::string served_by_name(const itest::Response& res);
// A counter or gauge from Prometheus text: the sum of the samples of name whose labels
// contain every one of label_parts (e.g. "result=\"miss\"").
double metric(const std::string& text, const std::string& name, const std::vector<std::string>& label_parts = {});

}  // namespace cluster
