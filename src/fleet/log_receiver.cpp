#include "fleet/log_receiver.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace photoshare::fleet {

LogReceiver::LogReceiver(const std::filesystem::path& log_file) : file_(log_file, std::ios::app) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket: " + std::generic_category().message(errno));
    int size = 4 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);  // as root: past rmem_max
    timeval tv{0, 200'000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd_);
        throw std::runtime_error("bind (log receiver): " + std::generic_category().message(errno));
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { loop(); });
}

LogReceiver::~LogReceiver() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
}

void LogReceiver::loop() {
    std::vector<char> buf(16384);
    while (!stop_.load()) {
        auto n = ::recv(fd_, buf.data(), buf.size(), 0);
        if (n <= 0) {
            file_.flush();
            continue;
        }
        std::string_view line(buf.data(), static_cast<std::size_t>(n));
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
        file_ << line << '\n';
        auto r = parse_request_log(line);
        std::lock_guard lock(mutex_);
        if (r) {
            pending_.servers[r->server].add(*r);
            pending_.total.add(*r);
        } else if (pending_.messages.size() < 1000) {
            pending_.messages.emplace_back(line);
        }
    }
    file_.flush();
}

LogReceiver::Taken LogReceiver::take() {
    std::lock_guard lock(mutex_);
    Taken out = std::move(pending_);
    pending_ = Taken{};
    return out;
}

}  // namespace photoshare::fleet
