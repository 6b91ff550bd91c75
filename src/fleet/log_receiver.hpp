// Receives HAProxy's log datagrams on 127.0.0.1 (a port the kernel picks), counts request
// lines per server, keeps other lines (state changes) as messages, and appends every line
// to a log file. UDP: HAProxy never blocks on its log.
#pragma once

#include "fleet/request_log.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace photoshare::fleet {

class LogReceiver {
public:
    explicit LogReceiver(const std::filesystem::path& log_file);
    ~LogReceiver();
    LogReceiver(const LogReceiver&) = delete;
    LogReceiver& operator=(const LogReceiver&) = delete;

    int port() const { return port_; }
    struct Taken {
        std::map<std::string, LogCounts> servers;  // by server name ("<NOSRV>" included)
        LogCounts total;
        std::vector<std::string> messages;
    };
    Taken take();

private:
    void loop();
    int fd_ = -1;
    int port_ = 0;
    std::ofstream file_;
    std::mutex mutex_;
    Taken pending_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace photoshare::fleet
