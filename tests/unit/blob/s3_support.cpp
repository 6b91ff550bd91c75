#include "s3_support.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <sstream>
#include <stdexcept>

namespace photoshare::blob::testing {

using namespace std::chrono_literals;

namespace {

// Before any test: no credentials from the machine running the tests, and an instance
// metadata endpoint that refuses at once, so no test can reach AWS's real one
// (169.254.169.254) whatever it does. Loopback never goes through a proxy.
[[maybe_unused]] const bool environment_ready = [] {
    for (const char* name : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_EC2_METADATA_DISABLED"}) {
        ::unsetenv(name);
    }
    ::setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1", 1);
    ::setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    ::setenv("no_proxy", "127.0.0.1,localhost", 1);
    return true;
}();

}  // namespace

// ---- helpers ----

ScopedEnv::ScopedEnv(std::string name, std::optional<std::string> value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    if (value) {
        ::setenv(name_.c_str(), value->c_str(), 1);
    } else {
        ::unsetenv(name_.c_str());
    }
}

ScopedEnv::~ScopedEnv() {
    if (old_) {
        ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
        ::unsetenv(name_.c_str());
    }
}

std::string random_bytes(std::size_t size, unsigned seed) {
    std::mt19937_64 rng(seed);
    std::string out(size, '\0');
    for (std::size_t i = 0; i < size; i += 8) {
        const std::uint64_t v = rng();
        for (std::size_t k = 0; k < 8 && i + k < size; ++k) out[i + k] = static_cast<char>(v >> (8 * k));
    }
    return out;
}

std::string unique_prefix() {
    static const std::string run = [] {
        std::ostringstream s;
        s << std::hex << std::random_device{}();
        return s.str();
    }();
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "none";
    for (char& c : name) {
        if (c == '/') c = '.';
    }
    return "t" + run + "/" + name;
}

// ---- s3rver ----

std::string S3rver::url_with_prefix(const std::string& prefix) const {
    const std::string bucket = "s3://photoshare";
    if (!url().starts_with(bucket)) throw std::runtime_error("unexpected s3rver URL " + url());
    return bucket + "/" + prefix + url().substr(bucket.size());
}

S3rver& shared_s3rver() {
    static std::once_flag once;
    static std::unique_ptr<S3rver> server;
    static std::string error;
    std::call_once(once, [] {
        try {
            server = std::make_unique<S3rver>();
            server->start();
        } catch (const std::exception& e) {
            error = e.what();
        }
    });
    if (!error.empty()) throw std::runtime_error(error);
    return *server;
}

// ---- the fake HTTP server ----

std::string s3_error(const std::string& code, const std::string& message) {
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code + "</Code><Message>" + message +
           "</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>";
}

FakeHttpServer::FakeHttpServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 16) != 0 || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        throw std::runtime_error("fake HTTP server: cannot listen");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
}

FakeHttpServer::~FakeHttpServer() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    thread_.join();
    ::close(listen_fd_);
}

std::vector<FakeRequest> FakeHttpServer::requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
}

std::size_t FakeHttpServer::count() const {
    std::lock_guard lock(mutex_);
    return requests_.size();
}

void FakeHttpServer::serve() {
    for (;;) {
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return;
        }
        pollfd p{listen_fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        handle(fd);
        ::close(fd);
    }
}

void FakeHttpServer::handle(int fd) {
    std::string data;
    char buffer[65536];
    auto read_more = [&]() -> bool {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 5000) <= 0) return false;
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n <= 0) return false;
        data.append(buffer, static_cast<std::size_t>(n));
        return true;
    };
    std::size_t end;
    while ((end = data.find("\r\n\r\n")) == std::string::npos) {
        if (!read_more()) return;
    }
    FakeRequest req;
    std::istringstream head(data.substr(0, end));
    std::string line;
    std::getline(head, line);
    std::istringstream first(line);
    first >> req.method >> req.target;
    while (std::getline(head, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        req.headers[name] = value;
    }
    const std::size_t length = req.headers.count("content-length") ? std::stoull(req.headers["content-length"]) : 0;
    std::string body = data.substr(end + 4);
    while (body.size() < length) {
        data.clear();
        if (!read_more()) return;
        body += data;
    }
    req.body = body.substr(0, length);
    {
        std::lock_guard lock(mutex_);
        requests_.push_back(req);
    }
    const FakeReply reply = handler_(req);
    if (reply.drop) return;
    if (reply.hang) {
        for (;;) {
            {
                std::lock_guard lock(mutex_);
                if (stopping_) return;
            }
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 50) > 0) {
                if (::read(fd, buffer, sizeof buffer) <= 0) return;  // the client gave up
            }
        }
    }
    std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " Fake\r\n";
    bool has_length = false;
    for (const auto& [name, value] : reply.headers) {
        out += name + ": " + value + "\r\n";
        if (name == "Content-Length" || name == "content-length") has_length = true;
    }
    if (!has_length) out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
    out += "Connection: close\r\n\r\n";
    if (req.method != "HEAD") out += reply.body;
    std::size_t sent = 0;
    while (sent < out.size()) {
        const ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return;
        sent += static_cast<std::size_t>(n);
    }
}

}  // namespace photoshare::blob::testing
