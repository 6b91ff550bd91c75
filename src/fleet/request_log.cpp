#include "fleet/request_log.hpp"

#include "fleet/fields.hpp"

#include <algorithm>

namespace photoshare::fleet {

std::optional<double> RequestLog::latency_ms() const {
    if (tr < 0) return std::nullopt;
    return static_cast<double>(std::max(tw, 0) + std::max(tc, 0) + tr);
}

std::optional<RequestLog> parse_request_log(std::string_view line) {
    // REQ server Tw Tc Tr Ta status retries client "request"
    if (!line.starts_with("REQ ")) return std::nullopt;
    auto f = split(line.substr(4), ' ');
    if (f.size() < 7) return std::nullopt;
    RequestLog r;
    r.server = std::string(f[0]);
    r.tw = to_int(f[1]);
    r.tc = to_int(f[2]);
    r.tr = to_int(f[3]);
    r.ta = to_int(f[4]);
    r.status = to_int(f[5]);
    auto rc = f[6];
    if (!rc.empty() && rc.front() == '+') {
        r.redispatched = true;
        rc.remove_prefix(1);
    }
    r.retries = std::max(0, to_int(rc));
    if (r.status < 0) r.status = 0;
    return r;
}

void LogCounts::add(const RequestLog& r) {
    ++requests;
    if (auto l = r.latency_ms()) {
        latency_sum_ms += *l;
        ++with_latency;
    }
    if (r.status >= 200 && r.status < 300) ++status_2xx;
    else if (r.status >= 300 && r.status < 400) ++status_3xx;
    else if (r.status >= 400 && r.status < 500) ++status_4xx;
    else if (r.status >= 500) ++status_5xx;
    else ++failed;
    retries += static_cast<std::uint64_t>(r.retries);
}

void LogCounts::add(const LogCounts& o) {
    requests += o.requests;
    latency_sum_ms += o.latency_sum_ms;
    with_latency += o.with_latency;
    status_2xx += o.status_2xx;
    status_3xx += o.status_3xx;
    status_4xx += o.status_4xx;
    status_5xx += o.status_5xx;
    failed += o.failed;
    retries += o.retries;
}

}  // namespace photoshare::fleet
