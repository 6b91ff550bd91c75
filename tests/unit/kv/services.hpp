// Real memcached and Redis servers for the kv tests, started through scripts/service (as
// the local stack starts them) in a temporary directory, on free loopback ports. Nothing is
// assumed to be running; a missing binary fails the tests that need it, with the reason.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace photoshare::kv::testing {

// One service (scripts/lib/NAME.sh) in its own directory under the program's temporary
// directory. Stopped when destroyed.
class Service {
public:
    // name: "memcached" or "redis"; password: REDIS_PASSWORD for redis.
    explicit Service(std::string name, std::string password = "");
    ~Service();
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;

    // Starts it (on the same port as before, if it ran before) and returns its URL. Throws
    // std::runtime_error with scripts/service's output when it cannot.
    std::string start();
    void stop();
    // SIGSTOP / SIGCONT: the server keeps its connections and accepts new ones (the kernel
    // completes the handshake) but answers nothing, like a hung or overloaded server.
    void freeze();
    void thaw();

    int port() const { return port_; }
    const std::string& url() const { return url_; }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

private:
    int pid() const;

    std::string name_, password_, dir_, url_;
    int port_ = 0;
    bool running_ = false;
};

// Servers shared by the tests of one program, started on first use and stopped at exit:
// three memcached nodes, and one Redis that requires a password.
struct Shared {
    std::vector<Service*> memcached;  // three
    Service* redis = nullptr;
    std::string memcached_url;  // memcached://a,b,c
    std::string redis_url;      // redis://:password@host:port/0
    std::string redis_password;
};
// Throws std::runtime_error (the same each time) when the servers cannot be started.
const Shared& shared_memcached();
const Shared& shared_redis();

// The URL of the shared servers of a backend: "memory", "memcached" (three nodes) or "redis".
std::string url_for(const std::string& backend);

// "memcached://127.0.0.1:p1,127.0.0.1:p2" for a set of services.
std::string memcached_url(const std::vector<Service*>& nodes, const std::string& query = "");

// How long fn took.
template <class Fn>
std::chrono::milliseconds timed(Fn&& fn) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

// A prefix unique to this run and test, so tests sharing a server never meet.
std::string unique_prefix();

}  // namespace photoshare::kv::testing
