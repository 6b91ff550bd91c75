// Maps a method and a path to a handler. Patterns are literal segments, `{name}` for one
// segment, and a final `{name...}` for the rest of the path.
#pragma once

#include "http/message.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace photoshare::http {

using Handler = std::function<asio::awaitable<Response>(Request&)>;

struct RouteOptions {
    std::size_t body_limit = 0;  // 0: the server's default limit
    bool stream_body = false;    // the handler reads the body itself through Request::body_reader
};

struct Route {
    Method method;
    std::string pattern;
    Handler handler;
    RouteOptions options;
    std::vector<std::string> segments;  // pattern split on '/'
};

class Router {
public:
    void add(Method method, std::string pattern, Handler handler, RouteOptions options = {});

    struct Match {
        const Route* route = nullptr;
        bool path_known = false;  // some route has this path (so a miss is 405, not 404)
    };
    // Fills req.params and req.route on a match. HEAD falls back to GET routes.
    Match match(Request& req) const;

private:
    std::vector<Route> routes_;
};

}  // namespace photoshare::http
