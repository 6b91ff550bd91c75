// What the S3 tests share: a real s3rver (a pstest::Service, started through scripts/service
// as the local stack starts it), a tiny HTTP server that answers what a test tells it to (for
// what s3rver cannot do: fail on purpose, or be AWS's instance metadata service), and helpers.
#pragma once

#include "support/services.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace photoshare::blob::testing {

// ---- s3rver ----

// An s3rver of a test's own (pstest::Service), started by start() (which returns the URL
// scripts/service prints) rather than on construction. Stopped when destroyed. Its objects
// are under dir()/data/BUCKET; log() has a line per request.
class S3rver : public pstest::Service {
public:
    S3rver() : pstest::Service("s3rver", {.start = false}) {}
    std::string endpoint() const { return "http://" + address(); }
    // url() with a prefix after the bucket: s3://photoshare/PREFIX?...
    std::string url_with_prefix(const std::string& prefix) const;
};

// The s3rver shared by the tests of this program: started on first use, stopped at exit.
// Throws std::runtime_error (the same each time) when it cannot be started.
S3rver& shared_s3rver();

// A prefix unique to this run and test ("t1a2b3c/Suite.Test"), so tests never meet.
std::string unique_prefix();

// ---- a fake HTTP server ----

struct FakeRequest {
    std::string method;
    std::string target;                          // path and query, as sent
    std::map<std::string, std::string> headers;  // names lower-case
    std::string body;
    std::string header(const std::string& name) const {
        const auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
};

struct FakeReply {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    bool hang = false;   // read the request, then answer nothing until the server stops
    bool drop = false;   // close the connection without an answer
};

// Answers each request with what `handler` returns, one connection at a time, and closes
// every connection after its answer. Records every request.
class FakeHttpServer {
public:
    using Handler = std::function<FakeReply(const FakeRequest&)>;
    explicit FakeHttpServer(Handler handler);
    ~FakeHttpServer();
    FakeHttpServer(const FakeHttpServer&) = delete;
    FakeHttpServer& operator=(const FakeHttpServer&) = delete;

    int port() const { return port_; }
    std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::vector<FakeRequest> requests() const;
    std::size_t count() const;

private:
    void serve();
    void handle(int fd);

    Handler handler_;
    int listen_fd_ = -1;
    int port_ = 0;
    std::thread thread_;
    mutable std::mutex mutex_;
    std::vector<FakeRequest> requests_;
    bool stopping_ = false;
};

// An XML error body as S3 sends it.
std::string s3_error(const std::string& code, const std::string& message);

// ---- helpers ----

// Sets (or, with nullopt, unsets) an environment variable for the life of the object.
class ScopedEnv {
public:
    ScopedEnv(std::string name, std::optional<std::string> value);
    ~ScopedEnv();
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    std::string name_;
    std::optional<std::string> old_;
};

// Random bytes (deterministic per seed).
std::string random_bytes(std::size_t size, unsigned seed);

template <class Fn>
std::chrono::milliseconds timed(Fn&& fn) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

}  // namespace photoshare::blob::testing
