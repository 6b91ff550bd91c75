#include "http/client.hpp"

#include <cerrno>
#include <charconv>
#include <system_error>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace photoshare::http {

namespace {

struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

void wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) throw ClientError("timed out");
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r == 0) throw ClientError("timed out");
    if (r < 0 && errno != EINTR) throw ClientError("poll: " + std::generic_category().message(errno));
}

}  // namespace

ClientResponse fetch(const std::string& address, const std::string& method, const std::string& path,
                     const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body,
                     std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string host, port;
    if (!address.empty() && address.front() == '[') {
        auto close = address.find(']');
        if (close == std::string::npos || close + 2 > address.size()) throw ClientError("bad address " + address);
        host = address.substr(1, close - 1);
        port = address.substr(close + 2);
    } else {
        auto colon = address.rfind(':');
        if (colon == std::string::npos) throw ClientError("address needs host:port: " + address);
        host = address.substr(0, colon);
        port = address.substr(colon + 1);
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0)
        throw ClientError("cannot resolve " + host + ": " + gai_strerror(rc));
    Fd sock;
    std::string last_error = "no address";
    for (auto* ai = res; ai; ai = ai->ai_next) {
        sock.fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (sock.fd < 0) continue;
        if (::connect(sock.fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
            try {
                wait_for(sock.fd, POLLOUT, deadline);
                int err = 0;
                socklen_t len = sizeof err;
                ::getsockopt(sock.fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err == 0) break;
                last_error = std::generic_category().message(err);
            } catch (const ClientError& e) {
                last_error = e.what();
            }
        } else {
            last_error = std::generic_category().message(errno);
        }
        ::close(sock.fd);
        sock.fd = -1;
    }
    ::freeaddrinfo(res);
    if (sock.fd < 0) throw ClientError("cannot connect to " + address + ": " + last_error);

    std::string request = method + " " + path + " HTTP/1.1\r\nHost: " + address + "\r\nConnection: close\r\n";
    for (const auto& [k, v] : headers) request.append(k).append(": ").append(v).append("\r\n");
    if (!body.empty() || method == "POST" || method == "PUT") request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    request += "\r\n" + body;
    for (std::size_t sent = 0; sent < request.size();) {
        wait_for(sock.fd, POLLOUT, deadline);
        auto n = ::send(sock.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) throw ClientError("send: " + std::generic_category().message(errno));
        if (n > 0) sent += static_cast<std::size_t>(n);
    }
    std::string raw;
    char buf[16384];
    for (;;) {
        wait_for(sock.fd, POLLIN, deadline);
        auto n = ::recv(sock.fd, buf, sizeof buf, 0);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            throw ClientError("recv: " + std::generic_category().message(errno));
        }
        raw.append(buf, static_cast<std::size_t>(n));
    }
    ClientResponse out;
    auto head_end = raw.find("\r\n\r\n");
    if (!raw.starts_with("HTTP/1.") || head_end == std::string::npos || raw.size() < 12) throw ClientError("not an HTTP response");
    if (std::from_chars(raw.data() + 9, raw.data() + raw.size(), out.status).ec != std::errc{}) throw ClientError("not an HTTP response");
    std::size_t pos = raw.find("\r\n") + 2;
    while (pos < head_end) {
        auto eol = raw.find("\r\n", pos);
        auto line = raw.substr(pos, eol - pos);
        if (auto colon = line.find(':'); colon != std::string::npos) {
            auto value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') value.erase(0, 1);
            out.headers.emplace_back(line.substr(0, colon), value);
        }
        pos = eol + 2;
    }
    out.body = raw.substr(head_end + 4);
    return out;
}

}  // namespace photoshare::http
