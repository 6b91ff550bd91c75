// bench/openloop, the open-loop load generator, against the real server: the latency it
// reports is the server's (the latency knob's 50 ms is its median), and a server that stalls
// shows in its tail, where a closed loop of requests sees one slow request (coordinated
// omission). Also what it sends, its retry of a connection the server closed, and its exit
// codes. The bands asserted are wide: they validate the tool, they do not time the server.
#include "support/files.hpp"
#include "support/http_client.hpp"
#include "support/photoshare_server.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"

#include <boost/json.hpp>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iostream>
#include <mutex>
#include <thread>

using namespace pstest;

namespace {

std::string openloop_binary() {
    if (const char* e = std::getenv("OPENLOOP_BINARY"); e && *e) return e;
    return OPENLOOP_BINARY;
}

struct Report {
    CommandResult result;
    boost::json::object json;  // empty unless the run printed its report

    double number(std::string_view key) const { return json.at(key).to_number<double>(); }
    double latency(std::string_view key) const { return json.at("latency_ms").at(key).to_number<double>(); }
    std::int64_t count(std::string_view key) const { return json.at(key).to_number<std::int64_t>(); }
    std::int64_t status(std::string_view code) const {
        const auto& s = json.at("status").as_object();
        const auto* v = s.if_contains(code);
        return v ? v->to_number<std::int64_t>() : 0;
    }
    std::string describe() const { return result.status.describe() + ":\n" + result.output; }
};

// Runs openloop --json with args; the report is the last line of its output that is JSON.
Report openloop(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 60s) {
    std::vector<std::string> argv{openloop_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.emplace_back("--json");
    Report r{run(argv, timeout), {}};
    const auto& out = r.result.output;
    const auto line = out.rfind("\n{");
    const auto begin = line != std::string::npos ? line + 1 : (out.starts_with("{") ? 0 : std::string::npos);
    if (begin == std::string::npos) return r;
    boost::system::error_code ec;
    auto v = boost::json::parse(out.substr(begin), ec);
    if (!ec && v.is_object()) r.json = v.as_object();
    return r;
}

// Nearest rank, as openloop computes it.
double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
    return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

// A server of our own on a loopback port that records each request's head and answers 200
// with an empty body (answer); or closes the connection after each response without saying
// so, as a server does when its keep-alive timeout ends (close_each); or never answers
// (silent).
enum class Manner { answer, close_each, silent };

class RecordingServer {
public:
    explicit RecordingServer(Manner manner) : manner_(manner) {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (listener_ < 0) throw std::runtime_error("socket failed");
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (::bind(listener_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(listener_, 16) != 0 ||
            ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            throw std::runtime_error("cannot listen on 127.0.0.1");
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~RecordingServer() {
        stop_ = true;
        thread_.join();
        ::close(listener_);
    }
    RecordingServer(const RecordingServer&) = delete;
    RecordingServer& operator=(const RecordingServer&) = delete;

    int port() const { return port_; }
    std::vector<std::string> requests() const {
        std::lock_guard lock(mutex_);
        return requests_;
    }

private:
    bool readable(int fd) const {
        while (!stop_) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 50) > 0) return true;
        }
        return false;
    }
    // One connection at a time: openloop is run with one connection (after its probe, which
    // connects and closes).
    void serve() {
        while (readable(listener_)) {
            const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) continue;
            std::string in;
            char buf[4096];
            while (readable(fd)) {
                const auto n = ::recv(fd, buf, sizeof buf, 0);
                if (n <= 0) break;
                in.append(buf, static_cast<std::size_t>(n));
                bool closed = false;
                for (auto end = in.find("\r\n\r\n"); end != std::string::npos; end = in.find("\r\n\r\n")) {
                    {
                        std::lock_guard lock(mutex_);
                        requests_.push_back(in.substr(0, end + 2));
                    }
                    in.erase(0, end + 4);
                    if (manner_ == Manner::silent) continue;
                    constexpr std::string_view ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
                    if (::send(fd, ok.data(), ok.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(ok.size()) || manner_ == Manner::close_each) {
                        closed = true;
                        break;
                    }
                }
                if (closed) break;
            }
            ::close(fd);
        }
    }

    Manner manner_;
    int listener_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    mutable std::mutex mutex_;
    std::vector<std::string> requests_;
    std::thread thread_;
};

// ---- arguments and the unreachable ----------------------------------------------------------

TEST(OpenLoop, BadArgumentsExitTwoNamingTheProblem) {
    TempDir dir("ps-openloop");
    const std::string url = "http://127.0.0.1:1/";
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
        {{"--rate", "1", "--duration", "1"}, "--url is required"},
        {{"--url", url, "--duration", "1"}, "--rate is required"},
        {{"--url", url, "--rate", "0", "--duration", "1"}, "--rate: expected a positive number, got '0'"},
        {{"--url", url, "--rate", "ten", "--duration", "1"}, "--rate: expected a positive number"},
        {{"--url", url, "--rate", "1", "--duration", "-1"}, "--duration: expected a positive number"},
        {{"--url", url, "--rate", "1", "--duration", "1", "--connections", "0"}, "--connections: expected a whole number"},
        {{"--url", url, "--rate", "1", "--duration", "1", "--connections", "4", "--max-connections", "2"}, "--max-connections must be"},
        {{"--url", url, "--rate", "1", "--duration", "1", "--timeout"}, "--timeout needs a value"},
        {{"--url", url, "--rate", "1", "--duration", "1", "--header", "no colon"}, "--header: expected 'NAME: VALUE'"},
        {{"--url", url, "--rate", "1", "--duration", "1", "--cookie", "novalue"}, "--cookie: expected NAME=VALUE"},
        {{"--url", url, "--rate", "1", "--duration", "1", "--paths", (dir.path() / "absent").string()}, "--paths: cannot read"},
        {{"--url", url, "--rate", "1", "--duration", "1", "--bogus"}, "unknown argument '--bogus'"},
        {{"--url", "https://127.0.0.1/", "--rate", "1", "--duration", "1"}, "https is not supported"},
        {{"--url", "127.0.0.1:80", "--rate", "1", "--duration", "1"}, "--url: expected http://"},
        {{"--url", "http://127.0.0.1:99999/", "--rate", "1", "--duration", "1"}, "--url port"},
        {{"--url", url, "--rate", "0.5", "--duration", "1"}, "less than one request"},
    };
    for (const auto& [args, message] : cases) {
        const auto r = openloop(args, 10s);
        EXPECT_EQ(r.result.exit_code(), 2) << r.describe();
        EXPECT_TRUE(contains(r.result.output, message)) << "expected '" << message << "' in:\n" << r.result.output;
        EXPECT_TRUE(r.json.empty()) << r.describe();
    }
    {
        std::ofstream(dir.path() / "paths") << "/\nrelative\n";
        const auto r = openloop({"--url", url, "--rate", "1", "--duration", "1", "--paths", (dir.path() / "paths").string()}, 10s);
        EXPECT_EQ(r.result.exit_code(), 2) << r.describe();
        EXPECT_TRUE(contains(r.result.output, "paths:2: expected a path starting with '/'")) << r.describe();
    }
}

TEST(OpenLoop, UnreachableUrlExitsThree) {
    const int port = free_port();  // nothing listens on it
    const auto r = openloop({"--url", "http://127.0.0.1:" + std::to_string(port) + "/", "--rate", "10", "--duration", "1"}, 20s);
    EXPECT_EQ(r.result.exit_code(), 3) << r.describe();
    EXPECT_TRUE(contains(r.result.output, "cannot connect to 127.0.0.1:" + std::to_string(port))) << r.describe();

    const auto unresolved = openloop({"--url", "http://no-such-host.invalid/", "--rate", "10", "--duration", "1"}, 20s);
    EXPECT_EQ(unresolved.result.exit_code(), 3) << unresolved.describe();
    EXPECT_TRUE(contains(unresolved.result.output, "cannot resolve no-such-host.invalid")) << unresolved.describe();
}

// ---- what it sends --------------------------------------------------------------------------

TEST(OpenLoop, SendsEachPathInTurnWithTheHeadersAsked) {
    RecordingServer server(Manner::answer);
    TempDir dir("ps-openloop");
    std::ofstream(dir.path() / "paths") << "/a\n\n/b?x=1\r\n";
    const auto r = openloop({"--url", "http://127.0.0.1:" + std::to_string(server.port()) + "/ignored", "--rate", "40", "--duration",
                             "0.5", "--connections", "1", "--paths", (dir.path() / "paths").string(), "--cookie", "c1=one",
                             "--cookie", "c2=two", "--header", "X-Test: yes", "--poisson", "--seed", "7"},
                            20s);
    ASSERT_EQ(r.result.exit_code(), 0) << r.describe();
    ASSERT_FALSE(r.json.empty()) << r.describe();
    EXPECT_EQ(r.json.at("arrivals").as_string(), "poisson");
    EXPECT_EQ(r.count("paths"), 2);
    const auto requests = server.requests();
    EXPECT_EQ(static_cast<std::int64_t>(requests.size()), r.count("scheduled")) << r.describe();
    EXPECT_EQ(r.status("200"), r.count("scheduled")) << r.describe();
    EXPECT_GE(requests.size(), 3u) << "a Poisson process of 40/s for 0.5 s made almost nothing: " << r.describe();
    EXPECT_EQ(r.count("errors"), 0) << r.describe();
    EXPECT_EQ(r.count("connections_opened"), 1) << r.describe();
    const std::string host = "\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n";
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const auto& q = requests[i];
        EXPECT_TRUE(q.starts_with(i % 2 == 0 ? "GET /a HTTP/1.1\r\n" : "GET /b?x=1 HTTP/1.1\r\n")) << i << ":\n" << q;
        EXPECT_TRUE(contains(q, host)) << q;
        EXPECT_TRUE(contains(q, "\r\nCookie: c1=one; c2=two\r\n")) << q;
        EXPECT_TRUE(contains(q, "\r\nX-Test: yes\r\n")) << q;
    }
}

TEST(OpenLoop, SendsAgainOnAConnectionTheServerClosedWhileIdle) {
    RecordingServer server(Manner::close_each);
    const auto r = openloop({"--url", "http://127.0.0.1:" + std::to_string(server.port()) + "/", "--rate", "20", "--duration", "0.5",
                             "--connections", "1"},
                            20s);
    ASSERT_EQ(r.result.exit_code(), 0) << r.describe();
    ASSERT_FALSE(r.json.empty()) << r.describe();
    EXPECT_EQ(r.count("scheduled"), 10);
    EXPECT_EQ(r.status("200"), 10) << r.describe();
    EXPECT_EQ(r.count("errors"), 0) << r.describe();
    EXPECT_EQ(r.count("timeouts"), 0) << r.describe();
    EXPECT_GE(r.count("retries"), 1) << r.describe();
    EXPECT_EQ(r.count("connections_opened"), 10) << r.describe();
    EXPECT_EQ(server.requests().size(), 10u) << "a request sent to a closed connection never reached the server";
}

// A request unanswered --timeout after it was due is a timeout, its connection closed (the
// next request opens another): counted, not timed.
TEST(OpenLoop, CountsUnansweredRequestsAsTimeouts) {
    RecordingServer server(Manner::silent);
    const auto r = openloop({"--url", "http://127.0.0.1:" + std::to_string(server.port()) + "/", "--rate", "10", "--duration", "0.5",
                             "--connections", "1", "--timeout", "0.2"},
                            20s);
    ASSERT_EQ(r.result.exit_code(), 0) << r.describe();
    ASSERT_FALSE(r.json.empty()) << r.describe();
    EXPECT_EQ(r.count("scheduled"), 5);
    EXPECT_EQ(r.count("responses"), 0) << r.describe();
    EXPECT_EQ(r.count("timeouts"), 5) << r.describe();
    EXPECT_EQ(r.count("errors"), 0) << r.describe();
    EXPECT_EQ(r.json.at("latency_ms").at("samples").to_number<std::int64_t>(), 0) << r.describe();
    EXPECT_EQ(r.count("connections_opened"), 5) << r.describe();
    EXPECT_EQ(server.requests().size(), 5u);
}

// ---- validation against the real server -----------------------------------------------------

// With the latency knob at 50 ms on every page request, at a rate the server serves with
// ease, the median latency is the knob's.
TEST(OpenLoop, MedianIsTheLatencyKnob) {
    ServerProcess server({.args = {"--set", "knobs.latency_ms=50"}});
    const auto r = openloop({"--url", server.base_url() + "/", "--rate", "50", "--duration", "3", "--connections", "8"});
    ASSERT_EQ(r.result.exit_code(), 0) << r.describe();
    ASSERT_FALSE(r.json.empty()) << r.describe();
    EXPECT_EQ(r.count("scheduled"), 150);
    EXPECT_EQ(r.number("offered_rate"), 50.0);
    EXPECT_EQ(r.status("200"), 150) << r.describe();
    EXPECT_EQ(r.count("errors"), 0) << r.describe();
    EXPECT_EQ(r.count("timeouts"), 0) << r.describe();
    EXPECT_GE(r.latency("p50"), 45.0) << r.describe();
    EXPECT_LE(r.latency("p50"), 80.0) << r.describe();
}

// The server stopped (SIGSTOP) for 1 s in the middle of an 8 s run at 100 requests a second:
// the ~100 requests due during the stall wait up to a second each, so openloop's p99 and
// maximum show it. A closed loop run at the same time (one connection, the next request
// 10 ms after each response, timed from when it was sent, as wrk does) has one request in
// flight during the stall, and so at most one slow sample: its p99 does not see the stall.
TEST(OpenLoop, ServerStallShowsInTheTail) {
    ServerProcess server;
    std::atomic<bool> done{false};
    std::vector<double> closed_ms;
    int closed_failures = 0;
    std::thread closed_loop([&] {
        HttpClient c(server.base_url());
        c.set_timeout(20s);
        while (!done) {
            const auto res = c.get("/");
            if (res.status == 200)
                closed_ms.push_back(res.seconds * 1000);
            else
                ++closed_failures;
            std::this_thread::sleep_for(10ms);
        }
    });
    auto measured = std::async(std::launch::async, [&] {
        return openloop({"--url", server.base_url() + "/", "--rate", "100", "--duration", "8", "--connections", "8"});
    });
    std::this_thread::sleep_for(3s);
    server.signal(SIGSTOP);
    std::this_thread::sleep_for(1s);
    server.signal(SIGCONT);
    const auto r = measured.get();
    done = true;
    closed_loop.join();

    ASSERT_EQ(r.result.exit_code(), 0) << r.describe();
    ASSERT_FALSE(r.json.empty()) << r.describe();
    EXPECT_EQ(r.count("scheduled"), 800);
    EXPECT_EQ(r.status("200"), 800) << r.describe();
    EXPECT_EQ(r.count("errors"), 0) << r.describe();
    EXPECT_EQ(r.count("timeouts"), 0) << r.describe();
    const double open_p99 = r.latency("p99");
    EXPECT_GE(open_p99, 500.0) << r.describe();
    EXPECT_GE(r.latency("max"), 900.0) << r.describe();

    EXPECT_EQ(closed_failures, 0);
    ASSERT_GE(closed_ms.size(), 100u) << "the closed loop made too few requests to have a p99";
    const auto slow = std::count_if(closed_ms.begin(), closed_ms.end(), [](double ms) { return ms >= 500; });
    EXPECT_LE(slow, 2) << "one request of the closed loop can span the stall";
    const double closed_p99 = percentile(closed_ms, 99);
    std::cout << "openloop: p50 " << r.latency("p50") << " p99 " << open_p99 << " max " << r.latency("max") << " ms over "
              << r.count("responses") << " responses; closed loop: p99 " << closed_p99 << " max " << percentile(closed_ms, 100)
              << " ms over " << closed_ms.size() << " requests\n";
    EXPECT_LT(closed_p99 * 2, open_p99) << "closed loop p99 " << closed_p99 << " ms over " << closed_ms.size()
                                        << " requests, max " << percentile(closed_ms, 100) << " ms; openloop: " << r.describe();
}

}  // namespace
