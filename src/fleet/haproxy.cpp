#include "fleet/haproxy.hpp"

#include <fmt/format.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace photoshare::fleet {

std::string slot_name(int slot) { return fmt::format("web-{}", slot); }

std::string haproxy_config(const FleetConfig& c, int log_port) {
    std::string stats;
    if (!c.haproxy.stats.empty())
        stats = fmt::format(R"(
# The stats page (and Prometheus /metrics): per server state, sessions, errors, retries.
listen stats
    bind {}
    http-request use-service prometheus-exporter if {{ path /metrics }}
    stats enable
    stats uri /
    stats refresh 2s
    stats show-legends
)",
                            c.haproxy.stats);
    return fmt::format(R"(# Written by `photoshare fleet` ({file}) at every start; edits are lost.
# The settings are those of deploy/haproxy/haproxy.cfg (read its comments for the why); what
# differs: the servers are {slots} slots (server-template) that start in maintenance and that
# the fleet fills through the admin socket, the request log goes to the fleet over UDP, and
# requests go to the server with the fewest in progress.

global
    # The fleet reads this log: one line per request with the server and its timings.
    log 127.0.0.1:{log_port} len 8192 format raw local0 info
    maxconn 4096
    stats socket "{socket}" mode 600 level admin
    stats timeout 30s
    tune.bufsize 32768

defaults
    mode http
    log global
    option dontlognull
    # REQ server queue connect response-headers total status retries client request
    log-format "REQ %s %Tw %Tc %Tr %Ta %ST %rc %ci:%cp %{{+Q}}r"
    timeout connect 2s
    timeout http-request 10s
    timeout http-keep-alive 10s
    timeout client 70s
    timeout server 70s
    timeout queue 10s
    timeout check 2s
    timeout client-fin 5s
    timeout server-fin 5s

frontend www
    bind {listen}
    http-request del-header X-Forwarded-For
    option forwardfor
    http-request del-header X-Request-Id
    unique-id-format %{{+X}}o\ %ci:%cp_%fi:%fp_%Ts_%rt:%pid
    unique-id-header X-Request-Id
    default_backend {backend}

backend {backend}
    # leastconn, not deploy/haproxy's roundrobin: a server that has a queue (the slots knob, or
    # one that was alone before a scale-out) gets fewer new requests until it has caught up.
    # Round robin would keep feeding it its share, and its queue would never drain.
    balance leastconn
    option httpchk
    http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host photoshare-lb
    http-check expect status 200
    default-server check inter 1s fastinter 250ms downinter 1s fall 2 rise 1 observe layer4 error-limit 1 on-error fail-check weight 100
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response junk-response
    http-request disable-l7-retry unless METH_GET
    # web-1 .. web-{slots}: the fleet sets each one's address, then its state.
    server-template web- 1-{slots} {host}:{base_port} disabled
{stats})",
                       fmt::arg("file", c.file.string()), fmt::arg("slots", c.slot_count()), fmt::arg("log_port", log_port),
                       fmt::arg("socket", (c.state_dir / "haproxy.sock").string()), fmt::arg("listen", c.haproxy.listen),
                       fmt::arg("backend", kBackend), fmt::arg("host", c.servers.host), fmt::arg("base_port", c.servers.base_port),
                       fmt::arg("stats", stats));
}

// ---------------------------------------------------------------------------------------
// Runtime API

namespace {

struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

bool wait_fd(int fd, short events, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd, events, 0};
        int r = ::poll(&p, 1, static_cast<int>(left));
        if (r > 0) return true;
        if (r == 0) return false;
        if (errno != EINTR) return false;
    }
}

}  // namespace

std::string RuntimeApi::command(const std::string& line) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    Fd s;
    s.fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s.fd < 0) throw std::runtime_error("socket: " + std::generic_category().message(errno));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    auto path = socket_.string();
    if (path.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw std::runtime_error(fmt::format("cannot reach HAProxy at {}: {}", path, std::generic_category().message(errno)));
    std::string out = line + "\n";
    std::size_t sent = 0;
    while (sent < out.size()) {
        auto n = ::send(s.fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error("HAProxy runtime API: " + std::generic_category().message(errno));
        sent += static_cast<std::size_t>(n);
    }
    std::string answer;
    char buf[16384];
    for (;;) {
        if (!wait_fd(s.fd, POLLIN, deadline)) throw std::runtime_error("HAProxy runtime API: timed out on '" + line + "'");
        auto n = ::recv(s.fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw std::runtime_error("HAProxy runtime API: " + std::generic_category().message(errno));
        if (n == 0) break;
        answer.append(buf, static_cast<std::size_t>(n));
    }
    return answer;
}

void RuntimeApi::expect_ok(const std::string& line) const {
    auto answer = command(line);
    // Answers to set commands are empty, or a note ("No need to change the addr...").
    // Errors name themselves.
    for (const char* bad : {"No such", "Unknown", "unknown", "Require", "invalid", "Invalid", "not found", "cannot", "Can't"})
        if (answer.find(bad) != std::string::npos)
            throw std::runtime_error(fmt::format("HAProxy refused '{}': {}", line, answer.substr(0, answer.find_last_not_of("\n ") + 1)));
}

// ---------------------------------------------------------------------------------------
// show stat

namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    for (;;) {
        auto p = s.find(sep, start);
        if (p == std::string_view::npos) {
            out.push_back(s.substr(start));
            return out;
        }
        out.push_back(s.substr(start, p - start));
        start = p + 1;
    }
}

std::uint64_t to_u64(std::string_view s) {
    std::uint64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

int to_int(std::string_view s) {
    int v = -1;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{}) return -1;
    return v;
}

}  // namespace

std::vector<ServerStat> parse_show_stat(std::string_view csv, std::string_view backend) {
    std::vector<ServerStat> out;
    std::vector<std::string_view> columns;
    auto col = [&](const std::vector<std::string_view>& row, std::string_view name) -> std::string_view {
        for (std::size_t i = 0; i < columns.size() && i < row.size(); ++i)
            if (columns[i] == name) return row[i];
        return {};
    };
    for (auto line : split(csv, '\n')) {
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) continue;
        if (line.starts_with("# ")) {
            columns = split(line.substr(2), ',');
            continue;
        }
        if (columns.empty()) continue;
        auto row = split(line, ',');
        if (row.size() < 2 || row[0] != backend || row[1] == "BACKEND" || row[1] == "FRONTEND") continue;
        ServerStat s;
        s.name = std::string(row[1]);
        s.status = std::string(col(row, "status"));
        s.scur = to_u64(col(row, "scur"));
        s.qcur = to_u64(col(row, "qcur"));
        s.stot = to_u64(col(row, "stot"));
        s.hrsp_5xx = to_u64(col(row, "hrsp_5xx"));
        s.qtime = to_u64(col(row, "qtime"));
        s.ctime = to_u64(col(row, "ctime"));
        s.rtime = to_u64(col(row, "rtime"));
        s.ttime = to_u64(col(row, "ttime"));
        s.check_status = std::string(col(row, "check_status"));
        s.addr = std::string(col(row, "addr"));
        out.push_back(std::move(s));
    }
    return out;
}

bool stat_is_up(const std::string& status) { return status == "UP" || status.starts_with("UP "); }

// ---------------------------------------------------------------------------------------
// The request log

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

LogReceiver::LogReceiver(const std::filesystem::path& log_file) : file_(log_file, std::ios::app) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket: " + std::generic_category().message(errno));
    int size = 4 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);  // as root: past rmem_max
    timeval tv{0, 200'000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd_);
        throw std::runtime_error("bind (log receiver): " + std::generic_category().message(errno));
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { loop(); });
}

LogReceiver::~LogReceiver() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
}

void LogReceiver::loop() {
    std::vector<char> buf(16384);
    while (!stop_.load()) {
        auto n = ::recv(fd_, buf.data(), buf.size(), 0);
        if (n <= 0) {
            file_.flush();
            continue;
        }
        std::string_view line(buf.data(), static_cast<std::size_t>(n));
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
        file_ << line << '\n';
        auto r = parse_request_log(line);
        std::lock_guard lock(mutex_);
        if (r) {
            pending_.servers[r->server].add(*r);
            pending_.total.add(*r);
        } else if (pending_.messages.size() < 1000) {
            pending_.messages.emplace_back(line);
        }
    }
    file_.flush();
}

LogReceiver::Taken LogReceiver::take() {
    std::lock_guard lock(mutex_);
    Taken out = std::move(pending_);
    pending_ = Taken{};
    return out;
}

}  // namespace photoshare::fleet
