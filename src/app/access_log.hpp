// One line per request: method, path, status, bytes, duration, request id, server, client;
// plain text or JSON. Lines are appended to a buffer and written to stdout by a background
// thread every few milliseconds, so a request never waits on a terminal or a disk and the
// I/O threads never wake another thread per line.
#pragma once

#include "config/config.hpp"
#include "http/server.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace photoshare::app {

class AccessLog {
public:
    AccessLog(bool json, int fd);
    ~AccessLog();  // writes what is buffered
    AccessLog(const AccessLog&) = delete;
    AccessLog& operator=(const AccessLog&) = delete;

    void write(const http::Completed& c, const std::string& server);

private:
    void run();
    void flush(std::string& out);

    bool json_;
    int fd_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::string buffer_;
    bool stopping_ = false;
    std::thread writer_;
};

// nullptr when access logging is off. Lines go to stdout.
std::unique_ptr<AccessLog> make_access_log(const config::Config::Log& log);

}  // namespace photoshare::app
