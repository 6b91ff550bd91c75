// One line per request: method, path, status, bytes, duration, request id, server, client.
// Written by a background thread so that a slow terminal or disk never slows requests.
#pragma once

#include "config/config.hpp"
#include "http/server.hpp"

#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace photoshare::app {

class AccessLog {
public:
    explicit AccessLog(bool json);
    ~AccessLog();
    void write(const http::Completed& c, const std::string& server);

private:
    std::shared_ptr<spdlog::logger> logger_;
    bool json_;
};

// nullptr when access logging is off.
std::unique_ptr<AccessLog> make_access_log(const config::Config::Log& log);

}  // namespace photoshare::app
