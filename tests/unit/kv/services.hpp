// The memcached and Redis servers of the kv tests: pstest::Service (tests/support) started
// by each test that stops them, or once per program and shared (three memcached nodes, one
// Redis that requires a password). Nothing is assumed to be running; a missing binary fails
// the tests that need it, with the reason.
#pragma once

#include "support/services.hpp"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace photoshare::kv::testing {

// A server of a test's own ("memcached" or "redis"; password: Redis's), started by start()
// (which returns its URL) rather than on construction. Stopped when destroyed.
class Service : public pstest::Service {
public:
    explicit Service(std::string name, std::string password = "")
        : pstest::Service(std::move(name), {.redis_password = std::move(password), .start = false}) {}
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
