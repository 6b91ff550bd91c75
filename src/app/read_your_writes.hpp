// Read your writes across servers. A server's copy of the feed generation may lag the cache
// store by up to cache.max_staleness, so without help the person who just uploaded could
// reach another server and not find their photo. The response to their upload or delete
// carries the generation it produced in a short-lived cookie; a server whose copy is older
// than that reads the store for their request (GenerationFeed::page's `seen`).
#pragma once

#include "http/message.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace photoshare::app {

class ReadYourWrites {
public:
    // The cookie lives a little longer than any server's copy can lag.
    ReadYourWrites(bool secure_cookies, std::chrono::milliseconds max_staleness);

    // The generation the request's visitor last produced; 0: none (or a malformed cookie).
    std::int64_t seen(const http::Request& req) const;
    // The Set-Cookie value that carries `generation` to the visitor's next requests; empty
    // for 0 (nothing to carry).
    std::string cookie(std::int64_t generation) const;

private:
    std::string name_;
    bool secure_;
    long long max_age_seconds_;
};

}  // namespace photoshare::app
