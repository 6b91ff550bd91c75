#include "fleet/runtime_api.hpp"

#include <fmt/format.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace photoshare::fleet {

namespace {

struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

bool wait_fd(int fd, short events, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd, events, 0};
        int r = ::poll(&p, 1, static_cast<int>(left));
        if (r > 0) return true;
        if (r == 0) return false;
        if (errno != EINTR) return false;
    }
}

}  // namespace

std::string RuntimeApi::command(const std::string& line) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    Fd s;
    s.fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s.fd < 0) throw std::runtime_error("socket: " + std::generic_category().message(errno));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    auto path = socket_.string();
    if (path.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw std::runtime_error(fmt::format("cannot reach HAProxy at {}: {}", path, std::generic_category().message(errno)));
    std::string out = line + "\n";
    std::size_t sent = 0;
    while (sent < out.size()) {
        auto n = ::send(s.fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error("HAProxy runtime API: " + std::generic_category().message(errno));
        sent += static_cast<std::size_t>(n);
    }
    std::string answer;
    char buf[16384];
    for (;;) {
        if (!wait_fd(s.fd, POLLIN, deadline)) throw std::runtime_error("HAProxy runtime API: timed out on '" + line + "'");
        auto n = ::recv(s.fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw std::runtime_error("HAProxy runtime API: " + std::generic_category().message(errno));
        if (n == 0) break;
        answer.append(buf, static_cast<std::size_t>(n));
    }
    return answer;
}

void RuntimeApi::expect_ok(const std::string& line) const {
    auto answer = command(line);
    // Answers to set commands are empty, or a note ("No need to change the addr...").
    // Errors name themselves.
    for (const char* bad : {"No such", "Unknown", "unknown", "Require", "invalid", "Invalid", "not found", "cannot", "Can't"})
        if (answer.find(bad) != std::string::npos)
            throw std::runtime_error(fmt::format("HAProxy refused '{}': {}", line, answer.substr(0, answer.find_last_not_of("\n ") + 1)));
}

}  // namespace photoshare::fleet
