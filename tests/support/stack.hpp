// A whole photoshare stack (database, cache servers, N photoshare servers, HAProxy, and S3 if
// asked) started and stopped with scripts/stack in a registered directory (services.hpp) on
// ports of its own; the HAProxy runtime API; nginx's configuration for a local nginx.
#pragma once

#include "common.hpp"
#include "process.hpp"

#include <chrono>
#include <map>
#include <string>
#include <sys/types.h>
#include <vector>

namespace pstest {

// deploy/nginx/nginx.conf listening on 127.0.0.1:listen_port, with one upstream server per port.
std::string render_nginx(int listen_port, const std::vector<int>& server_ports);

// A load balancer of the shipped configurations in front of the given servers, in a
// registered directory of its own, on a port of its own; stopped when destroyed. Throws
// std::runtime_error (with the output) when it does not start.
class LoadBalancer {
public:
    enum class Kind { haproxy, nginx };  // scripts/service's HAProxy; nginx with deploy/errors copied in
    LoadBalancer(Kind kind, const std::vector<int>& server_ports);
    ~LoadBalancer();
    LoadBalancer(const LoadBalancer&) = delete;
    LoadBalancer& operator=(const LoadBalancer&) = delete;
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

private:
    Kind kind_;
    fs::path dir_;
    int port_ = 0;
    std::vector<std::string> nginx_;  // nginx's command line, for -s quit
};

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

}  // namespace pstest
