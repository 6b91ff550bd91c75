// HAProxy for the fleet: the generated configuration (server slots filled at run time), the
// runtime API over the admin socket, `show stat`, and the request log HAProxy sends the fleet
// over UDP (the latency of every request, as the load balancer saw it).
#pragma once

#include "fleet/fleet_config.hpp"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace photoshare::fleet {

inline constexpr const char* kBackend = "photoshare";
// Slot N is the HAProxy server "web-N" (server-template web- 1-SLOTS).
std::string slot_name(int slot);

// The configuration: deploy/haproxy/haproxy.cfg's settings (health checks on /readyz,
// retries of what never reached a server, forwarded client address), with the servers as
// `server-template` slots that start in maintenance, a request log in a format the fleet
// parses, sent to 127.0.0.1:log_port.
std::string haproxy_config(const FleetConfig& config, int log_port);

// The runtime API (stats socket, level admin). One command per connection; blocking, with
// a timeout. Throws std::runtime_error when the socket cannot be reached.
class RuntimeApi {
public:
    explicit RuntimeApi(std::filesystem::path socket) : socket_(std::move(socket)) {}
    std::string command(const std::string& line) const;
    // A command whose answer must be empty or one of `ok` (else throws with the answer).
    void expect_ok(const std::string& line) const;
    const std::filesystem::path& socket() const { return socket_; }

private:
    std::filesystem::path socket_;
};

// One server row of `show stat`.
struct ServerStat {
    std::string name;
    std::string status;  // UP, DOWN, MAINT, DRAIN, NOLB, "UP 1/2", "DOWN 1/2" (going up/down)...
    std::uint64_t scur = 0;  // current sessions (requests being served)
    std::uint64_t qcur = 0;  // queued
    std::uint64_t stot = 0;
    std::uint64_t hrsp_5xx = 0;
    // Averages over the last 1024 requests (HAProxy's own, not windowed), ms.
    std::uint64_t qtime = 0, ctime = 0, rtime = 0, ttime = 0;
    std::string check_status;  // L7OK, L4CON, L7STS...
    std::string addr;
};
// The rows of `backend`'s servers in `show stat` CSV output.
std::vector<ServerStat> parse_show_stat(std::string_view csv, std::string_view backend);
// "UP", "UP 1/2" (a failed check, not yet down): serving. DOWN, MAINT, DRAIN, NOLB: not.
bool stat_is_up(const std::string& status);

// A request line of the log format haproxy_config() sets.
struct RequestLog {
    std::string server;  // "<NOSRV>" when no server took it (HAProxy answered itself)
    int tw = -1, tc = -1, tr = -1, ta = -1;  // queue, connect, response headers, total (ms); -1: did not happen
    int status = 0;
    int retries = 0;
    bool redispatched = false;
    // Latency as an ELB reports it: from the load balancer sending the request (queue and
    // connect included) to the response headers.
    std::optional<double> latency_ms() const;
};
std::optional<RequestLog> parse_request_log(std::string_view line);

// Per-server counts of the requests logged since the last take().
struct LogCounts {
    std::uint64_t requests = 0;
    double latency_sum_ms = 0;
    std::uint64_t with_latency = 0;
    std::uint64_t status_2xx = 0, status_3xx = 0, status_4xx = 0, status_5xx = 0, failed = 0;  // failed: no response at all
    std::uint64_t retries = 0;
    void add(const RequestLog& r);
    void add(const LogCounts& o);
};

// Receives HAProxy's log datagrams on 127.0.0.1 (a port the kernel picks), counts request
// lines per server, keeps other lines (state changes) as messages, and appends every line
// to a log file. UDP: HAProxy never blocks on its log.
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
