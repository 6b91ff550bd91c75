// The HTTP/1.1 server: accepts connections, enforces limits and timeouts, routes each
// request to its handler and drains gracefully on SIGTERM/SIGINT. Beast and Asio live in
// server.cpp only, so nothing else pays their compile time.
#pragma once

#include "http/message.hpp"
#include "http/router.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace photoshare::http {

struct ServerOptions {
    std::string host = "127.0.0.1";
    unsigned short port = 8080;
    unsigned io_threads = 0;  // 0: one per core
    std::size_t max_header_bytes = 16 * 1024;
    std::size_t max_body_bytes = 1024 * 1024;  // for routes without a limit of their own
    std::size_t max_target_bytes = 8 * 1024;   // request line URL
    std::chrono::milliseconds header_timeout{10'000};  // from the first byte to the end of the headers
    // A body must arrive at body_min_rate bytes per second on average, with body_timeout of
    // grace: the body's first n bytes are due body_timeout + n / body_min_rate after its start.
    std::chrono::milliseconds body_timeout{10'000};
    std::uint64_t body_min_rate = 1024;
    std::chrono::milliseconds idle_timeout{60'000};    // keep-alive wait for the next request
    std::chrono::milliseconds write_timeout{60'000};
    std::chrono::milliseconds linger_timeout{2'000};  // discarding an unread body after refusing it
    std::size_t max_connections = 10'000;
    std::size_t max_connections_per_address = 256;  // 0: no cap; trusted proxies are exempt
    std::chrono::milliseconds shutdown_delay{0};  // keep serving (failing readiness) before closing the listener
    std::chrono::milliseconds shutdown_timeout{30'000};  // then wait this long for requests in flight
    std::vector<std::string> trusted_proxies;  // addresses or CIDR ranges whose X-Forwarded-For / X-Request-Id are believed
    // Text bodies (http/content_coding.hpp) of at least this size go out gzipped to clients
    // that take it, unless the handler encoded them itself; 0: never.
    std::size_t gzip_min_bytes = 1024;
};

struct Completed {
    const Request& request;
    int status;
    std::uint64_t bytes;  // body bytes sent
    std::chrono::nanoseconds duration;
};

struct ServerHooks {
    // Builds the response for an error: ones the server finds (400, 404, 405, 408, 413, 431,
    // 500) and HttpError thrown by handlers.
    std::function<Response(const Request&, int status, const std::string& code, const std::string& message)> error_response;
    // The same for an error of a request whose target is valid (404, 405, 413 before the body
    // and any error of a handler), where it may take time: an HTML error page shows the
    // visitor's own navigation, so it looks up their session. Empty: error_response.
    std::function<asio::awaitable<Response>(const Request&, int status, const std::string& code, const std::string& message)>
        error_page;
    // Runs on every response just before it is sent (common headers).
    std::function<void(const Request&, Response&)> decorate;
    // Runs after every response (access log, metrics).
    std::function<void(const Completed&)> completed;
    // Runs once when shutdown starts (readiness starts failing).
    std::function<void()> draining;
};

class Server {
public:
    Server(ServerOptions options, const Router& router, ServerHooks hooks);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds the listening socket; throws std::system_error when it cannot.
    void listen();
    // "host:port" actually bound (port 0 asks the OS for a free one).
    std::string local_address() const;
    // Serves until SIGTERM/SIGINT or shutdown(), then drains; returns when done.
    void run();
    // Starts a graceful shutdown; callable from any thread.
    void shutdown();

    bool draining() const;
    std::size_t connections() const;
    std::size_t in_flight() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace photoshare::http
