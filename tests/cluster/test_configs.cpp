// The load-balancer configurations on their own (no photoshare needed): they validate for N
// servers, and HAProxy's retries replay only idempotent requests. And scripts/stack refuses
// what it cannot do.
#include "support/files.hpp"
#include "support/http_client.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/services.hpp"
#include "support/stack.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using pstest::contains;
using pstest::eventually;

class NginxConfig : public ::testing::TestWithParam<int> {};

// deploy/nginx/nginx.conf with N servers passes `nginx -t`.
TEST_P(NginxConfig, ValidatesWithNServers) {
    if (!pstest::have_program("nginx")) GTEST_SKIP() << "nginx is not installed";
    const int n = GetParam();
    const auto dir = pstest::make_registered_dir();
    std::filesystem::create_directories(dir / "logs");
    std::filesystem::create_directories(dir / "tmp");
    std::vector<int> ports;
    for (int i = 1; i <= n; ++i) ports.push_back(8010 + i);
    const auto text = pstest::render_nginx(18000, ports);
    std::ofstream(dir / "nginx.conf") << text;
    for (int i = 1; i <= n; ++i) EXPECT_TRUE(contains(text, "server 127.0.0.1:" + std::to_string(8010 + i) + " max_fails=1"));
    auto res = pstest::run({"nginx", "-t", "-p", dir.string(), "-e", (dir / "error.log").string(), "-c", (dir / "nginx.conf").string()}, 20s);
    EXPECT_TRUE(res.ok()) << res.output;
    EXPECT_TRUE(contains(res.output, "test is successful")) << res.output;
    pstest::release_dir(dir);
}

INSTANTIATE_TEST_SUITE_P(Servers, NginxConfig, ::testing::Values(1, 3, 10));

// The HAProxy template, and what scripts/lib/haproxy.sh makes of it, pass `haproxy -c`.
TEST(HaproxyConfig, TemplateValidates) {
    if (!pstest::have_program("haproxy")) GTEST_SKIP() << "haproxy is not installed";
    const auto dir = pstest::make_registered_dir();
    auto res = pstest::run({"haproxy", "-c", "-f", pstest::source_dir() + "/deploy/haproxy/haproxy.cfg"}, 20s,
                            {{"PS_HAPROXY_DIR", dir.string()}});
    EXPECT_TRUE(res.ok()) << res.output;
    pstest::release_dir(dir);
}

// A tiny HTTP server: answers /readyz 200; other requests are answered 200 ("good") or
// dropped after they were read, with no response ("dropper"). Counts what it got by method.
class FakeServer {
public:
    explicit FakeServer(bool drop) : drop_(drop) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 64) != 0)
            throw std::runtime_error("fake server: bind/listen");
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { loop(); });
    }
    ~FakeServer() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    int port() const { return port_; }
    int count(const std::string& method) {
        std::lock_guard lock(mutex_);
        return counts_[method];
    }

private:
    void loop() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) continue;
            serve(c);
            ::close(c);
        }
    }
    // One request per connection (every response says Connection: close).
    void serve(int c) {
        std::string in;
        char buf[4096];
        const auto deadline = pstest::Clock::now() + std::chrono::seconds(2);  // not 2s: cppcheck 2.10 cannot evaluate it
        std::size_t header_end = std::string::npos;
        while (pstest::Clock::now() < deadline) {
            pollfd p{c, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            const ssize_t n = ::read(c, buf, sizeof buf);
            if (n <= 0) return;
            in.append(buf, static_cast<std::size_t>(n));
            header_end = in.find("\r\n\r\n");
            if (header_end == std::string::npos) continue;
            // The body, if any (Content-Length only: that is what the test sends).
            std::size_t length = 0;
            auto cl = in.find("Content-Length: ");
            if (cl == std::string::npos) cl = in.find("content-length: ");
            if (cl != std::string::npos && cl < header_end) length = std::strtoul(in.c_str() + cl + 16, nullptr, 10);
            if (in.size() >= header_end + 4 + length) break;
        }
        if (header_end == std::string::npos) return;
        const std::string method = in.substr(0, in.find(' '));
        const bool readyz = in.compare(method.size() + 1, 8, "/readyz ") == 0;
        if (!readyz) {
            std::lock_guard lock(mutex_);
            counts_[method]++;
        }
        if (drop_ && !readyz) return;  // read it all, answer nothing: an "empty response"
        const std::string body = readyz ? "ok\n" : "good\n";
        const std::string res = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
                                "\r\nConnection: close\r\n\r\n" + body;
        [[maybe_unused]] auto w = ::write(c, res.data(), res.size());
    }

    bool drop_;
    int fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::map<std::string, int> counts_;
    std::thread thread_;
};

// A server that takes a request and dies without answering: HAProxy replays GET (and HEAD) on
// the other server, but never a POST or a DELETE, which might already have done their work.
TEST(HaproxyRetries, OnlyIdempotentRequestsAreReplayed) {
    if (!pstest::have_program("haproxy")) GTEST_SKIP() << "haproxy is not installed";
    FakeServer dropper(true), good(false);
    const auto dir = pstest::make_registered_dir();
    const int port = pstest::pick_ports(2);  // HAProxy and its stats page
    auto start = pstest::run({"bash", pstest::source_dir() + "/scripts/service", "start", "haproxy", dir.string(), std::to_string(port)}, 30s,
                              {{"PS_HAPROXY_SERVERS", "dropper=127.0.0.1:" + std::to_string(dropper.port()) +
                                                          ",good=127.0.0.1:" + std::to_string(good.port())}});
    ASSERT_TRUE(start.ok()) << start.output;
    pstest::HttpClient c("http://127.0.0.1:" + std::to_string(port));
    ASSERT_TRUE(eventually([&] { return c.get("/readyz").status == 200; }, 10s));

    int ok = 0;
    for (int i = 0; i < 20; ++i) {
        pstest::HttpClient fresh("http://127.0.0.1:" + std::to_string(port));
        auto res = fresh.get("/page");
        EXPECT_EQ(res.status, 200) << res.describe();
        ok += res.status == 200;
    }
    EXPECT_EQ(ok, 20);
    EXPECT_GT(dropper.count("GET"), 0) << "round robin never chose the dropping server";
    EXPECT_EQ(good.count("GET"), 20) << "every GET should have ended on the good server";

    for (const std::string method : {"POST", "DELETE"}) {
        int answered = 0, failed = 0;
        for (int i = 0; i < 20; ++i) {
            pstest::HttpClient fresh("http://127.0.0.1:" + std::to_string(port));
            auto res = fresh.request(method, "/thing", std::string("{\"n\":1}"), {{"Content-Type", "application/json"}});
            if (res.status == 200) ++answered;
            else ++failed;
        }
        SCOPED_TRACE(method);
        EXPECT_GT(dropper.count(method), 0) << "round robin never chose the dropping server";
        EXPECT_EQ(dropper.count(method), failed) << "a " << method << " that got no answer was replayed";
        EXPECT_EQ(good.count(method), answered);
        EXPECT_EQ(dropper.count(method) + good.count(method), 20) << "a " << method << " reached a server twice";
    }
    auto stop = pstest::run({"bash", pstest::source_dir() + "/scripts/service", "stop", "haproxy", dir.string()}, 30s);
    EXPECT_TRUE(stop.ok()) << stop.output;
    EXPECT_TRUE(pstest::release_dir(dir).empty()) << "HAProxy was still running after scripts/service stop";
}

// With no server able to answer, HAProxy (the template, as scripts/stack runs it) and nginx
// answer 503 with Retry-After and the site's own page (deploy/errors/503.html), not their
// bare default pages.
TEST(LoadBalancers, WithNoServerUpBothAnswer503WithRetryAfterAndTheSitesPage) {
    const int dead = pstest::pick_ports(1);  // nothing listens there
    auto expect_site_page = [](const pstest::Response& res, const std::string& who) {
        SCOPED_TRACE(who);
        EXPECT_EQ(res.status, 503) << res.describe();
        EXPECT_EQ(res.header("Retry-After"), "5") << res.describe();
        EXPECT_EQ(res.header("Cache-Control"), "no-store") << res.describe();
        EXPECT_TRUE(res.header("Content-Type").starts_with("text/html")) << res.describe();
        EXPECT_TRUE(contains(res.body, "photoshare is unavailable for a moment")) << res.body.substr(0, 500);
    };
    using pstest::LoadBalancer;
    for (auto kind : {LoadBalancer::Kind::haproxy, LoadBalancer::Kind::nginx}) {
        const bool haproxy = kind == LoadBalancer::Kind::haproxy;
        if (!pstest::have_program(haproxy ? "haproxy" : "nginx")) continue;
        LoadBalancer lb(kind, {dead});
        pstest::HttpClient c(lb.url());
        expect_site_page(c.get("/"), haproxy ? "HAProxy" : "nginx");
        expect_site_page(c.get("/api/v1/photos"), haproxy ? "HAProxy, API" : "nginx, API");
    }
}

// The operations endpoints stay off the public side: through HAProxy and nginx, /metrics and
// /admin/ are 404 without reaching a server; pages still reach it.
TEST(LoadBalancers, RefuseMetricsAndAdminFromThePublicSide) {
    FakeServer good(false);
    auto expect_refused = [&](pstest::HttpClient& c, const std::string& who) {
        SCOPED_TRACE(who);
        const int before = good.count("GET");
        EXPECT_EQ(c.get("/metrics").status, 404);
        EXPECT_EQ(c.get("/admin/knobs").status, 404);
        EXPECT_EQ(c.request("PUT", "/admin/knobs", std::string("{}"), {{"Content-Type", "application/json"}}).status, 404);
        EXPECT_EQ(good.count("GET"), before) << "a refused request reached the server";
        EXPECT_EQ(c.get("/page").status, 200);
        EXPECT_EQ(c.get("/metricsnot").status, 200) << "only /metrics itself is refused";
    };
    using pstest::LoadBalancer;
    for (auto kind : {LoadBalancer::Kind::haproxy, LoadBalancer::Kind::nginx}) {
        const bool haproxy = kind == LoadBalancer::Kind::haproxy;
        if (!pstest::have_program(haproxy ? "haproxy" : "nginx")) continue;
        LoadBalancer lb(kind, {good.port()});
        pstest::HttpClient c(lb.url());
        ASSERT_TRUE(eventually([&] { return c.get("/page").status == 200; }, 10s));
        expect_refused(c, haproxy ? "HAProxy" : "nginx");
    }
}

// What scripts/stack cannot do, it says so (exit status 1 or 2, a message naming the option).
TEST(StackScript, RefusesWhatItCannotDo) {
    const auto dir = pstest::make_registered_dir();
    auto stack = [&](std::vector<std::string> args) {
        std::vector<std::string> argv{"bash", pstest::source_dir() + "/scripts/stack"};
        argv.insert(argv.end(), args.begin(), args.end());
        argv.insert(argv.end(), {"--dir", dir.string()});
        return pstest::run(argv, 30s);
    };
    auto res = stack({"up", "--level", "3"});
    EXPECT_NE(res.exit_code(), 0);
    EXPECT_TRUE(contains(res.output, "--level must be 1 or 4")) << res.output;
    res = stack({"up", "--db", "oracle"});
    EXPECT_NE(res.exit_code(), 0);
    EXPECT_TRUE(contains(res.output, "--db must be")) << res.output;
    res = stack({"up", "--servers", "0"});
    EXPECT_NE(res.exit_code(), 0);
    EXPECT_TRUE(contains(res.output, "--servers")) << res.output;
    res = stack({"up", "--storage", "nfs"});
    EXPECT_NE(res.exit_code(), 0);
    EXPECT_TRUE(contains(res.output, "--storage must be file or s3")) << res.output;
    res = stack({"up", "--serve", "presigned"});  // a shared directory cannot be presigned
    EXPECT_NE(res.exit_code(), 0);
    EXPECT_TRUE(contains(res.output, "--serve presigned needs --storage s3")) << res.output;
    res = stack({"up", "--storage", "s3", "--serve", "cdn"});
    EXPECT_NE(res.exit_code(), 0);
    EXPECT_TRUE(contains(res.output, "--serve must be")) << res.output;
    res = stack({"status"});
    EXPECT_NE(res.exit_code(), 0);
    EXPECT_TRUE(contains(res.output, "no stack in")) << res.output;
    res = stack({"down"});
    EXPECT_TRUE(res.ok()) << "down with nothing to stop: " << res.output;
    pstest::release_dir(dir);
}

}  // namespace
