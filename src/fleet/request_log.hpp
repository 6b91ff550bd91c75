// The request log HAProxy sends the fleet: one line per request, in the format the fleet's
// HAProxy configuration sets (haproxy_config.hpp), and the counts the fleet keeps of them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace photoshare::fleet {

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

}  // namespace photoshare::fleet
