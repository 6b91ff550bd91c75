// Redis reads without a thread hop: GET through hiredis's asynchronous API on the calling
// coroutine's own io_context (the I/O thread that serves the request). For the lookups a
// request still has to make (a session this server has not read yet), this costs a third of
// the CPU of the blocking client on the worker pool for one call, and pipelines concurrent
// calls on one connection where the pool pays a hop for each (docs/PERFORMANCE.md,
// bench/kv_clients).
//
// Each io_context gets its own connection, kept by an io_context service so that it is closed
// with its context. The URL's options apply as for redis:// (kv.hpp): timeout_ms bounds each
// call, connect_timeout_ms the connection, and after a failure calls fail at once for
// retry_ms, then one tries again. Every failure is Unavailable.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>

namespace photoshare::kv {

class AsyncRedis {
public:
    virtual ~AsyncRedis() = default;
    // Must be awaited on a coroutine whose executor is an io_context's.
    virtual boost::asio::awaitable<std::optional<std::string>> get(std::string key) = 0;
};

// For a redis:// URL, an asynchronous client of its own (with its own breaker); nullptr for
// any other store. Throws std::invalid_argument for a malformed URL, as open() does. The
// server uses Store::async_client() instead, which shares the blocking client's breaker.
std::unique_ptr<AsyncRedis> open_async(const std::string& url);

}  // namespace photoshare::kv
