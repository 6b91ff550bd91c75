// An open-loop HTTP load generator: requests are sent at the rate asked for whatever the
// server does, and each one's latency is timed from when it was *scheduled* to be sent, not
// from when it was sent. A closed-loop client (wrk, `ab`) sends the next request only when a
// response came back, so while the server stalls it stops asking and records one slow
// request where a real population of users would have piled up hundreds: its tail latency
// leaves out exactly what it should show (coordinated omission).
//
//   openloop --url http://HOST[:PORT][/PATH] --rate R --duration S [--connections C]
//            [--max-connections M] [--threads T] [--poisson] [--seed N] [--paths FILE]
//            [--cookie NAME=VALUE]... [--header 'NAME: VALUE']... [--timeout S] [--json]
//
// The schedule: request k is due at k/R seconds (or, with --poisson, at the arrivals of a
// Poisson process of rate R: exponential gaps), for S seconds. Requests are GETs over
// keep-alive connections, one request at a time on each (no pipelining). A request that is
// due while every connection is busy waits in a first-in-first-out queue for the next free
// one (with --max-connections M above C, a new connection is opened instead, up to M), and
// its wait counts in its latency. A request not answered within --timeout of when it was due
// (queue, connect, send and response together) is counted as a timeout and its connection
// closed; a request that fails on a reused connection before a byte of its response arrived
// (the server closed it while idle) is sent again once on a new connection.
//
// The report (--json: one JSON object on stdout): the offered and achieved rates, responses
// by status, errors by kind, timeouts, and latency percentiles exact from every sample
// (nearest rank) over the requests that got a response, whatever its status; failed and
// timed-out requests are counted, not timed. send_lag_ms is how late requests were sent
// after they were due: their wait for a connection, and any lag of the generator itself.
//
// Exit status: 0 after a run (whatever the server answered), 2 for bad arguments, 3 when the
// URL cannot be resolved or connected to before the run, 1 for anything else.
//
// Boost.Beast is used here only to parse responses; requests are written as bytes prepared
// before the run.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <deque>
#include <exception>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// Bad arguments: exit 2. Unreachable URL: exit 3.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};
struct Unreachable : std::runtime_error {
    using std::runtime_error::runtime_error;
};

constexpr std::string_view kUsage =
    "usage: openloop --url http://HOST[:PORT][/PATH] --rate R --duration S [options]\n"
    "  --url U              the server, and the path requested unless --paths is given\n"
    "  --rate R             requests a second, offered whatever the server does (> 0)\n"
    "  --duration S         seconds of sending (> 0)\n"
    "  --connections C      keep-alive connections opened before the run (default 16)\n"
    "  --max-connections M  open more while every one is busy, up to M (default C: queue)\n"
    "  --threads T          I/O threads, each with its share of rate and connections (default 1)\n"
    "  --poisson            exponential gaps between requests (default: evenly spaced)\n"
    "  --seed N             the --poisson random seed (default: random)\n"
    "  --paths FILE         the paths to request, one a line, cycled (default: the URL's)\n"
    "  --cookie NAME=VALUE  sent with every request (repeatable)\n"
    "  --header 'N: V'      sent with every request (repeatable)\n"
    "  --timeout S          seconds from when a request is due to its response (default 10)\n"
    "  --json               print the report as one JSON object\n";

struct Options {
    std::string url;
    double rate = 0;
    double duration = 0;
    int connections = 16;
    int max_connections = 0;  // 0: connections
    int threads = 1;
    bool poisson = false;
    std::optional<std::uint64_t> seed;
    std::string paths_file;
    std::vector<std::string> cookies;
    std::vector<std::string> headers;
    double timeout = 10;
    bool json = false;
    bool help = false;
};

double positive_number(const std::string& option, const std::string& text) {
    double v = 0;
    const auto* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, v);
    if (ec != std::errc{} || ptr != end || !std::isfinite(v) || v <= 0)
        throw UsageError(option + ": expected a positive number, got '" + text + "'");
    return v;
}

template <class Int>
Int positive_integer(const std::string& option, const std::string& text, Int most) {
    Int v = 0;
    const auto* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, v);
    if (ec != std::errc{} || ptr != end || v <= 0 || v > most)
        throw UsageError(option + ": expected a whole number from 1 to " + std::to_string(most) + ", got '" + text + "'");
    return v;
}

bool has_line_break(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

Options parse_options(int argc, char** argv) {
    Options o;
    bool have_url = false, have_rate = false, have_duration = false, have_max = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::optional<std::string> inline_value;
        if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
            inline_value = arg.substr(eq + 1);
            arg.resize(eq);
        }
        auto flag = [&] {
            if (inline_value) throw UsageError(arg + " takes no value");
        };
        auto value = [&]() -> std::string {
            if (inline_value) return *inline_value;
            if (i + 1 >= argc || std::string_view(argv[i + 1]).starts_with("--")) throw UsageError(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--help" || arg == "-h") {
            o.help = true;
            return o;
        } else if (arg == "--url") {
            o.url = value();
            have_url = true;
        } else if (arg == "--rate") {
            o.rate = positive_number(arg, value());
            have_rate = true;
        } else if (arg == "--duration") {
            o.duration = positive_number(arg, value());
            have_duration = true;
        } else if (arg == "--connections") {
            o.connections = positive_integer<int>(arg, value(), 100000);
        } else if (arg == "--max-connections") {
            o.max_connections = positive_integer<int>(arg, value(), 100000);
            have_max = true;
        } else if (arg == "--threads") {
            o.threads = positive_integer<int>(arg, value(), 256);
        } else if (arg == "--poisson") {
            flag();
            o.poisson = true;
        } else if (arg == "--seed") {
            o.seed = positive_integer<std::uint64_t>(arg, value(), UINT64_MAX);
        } else if (arg == "--paths") {
            o.paths_file = value();
        } else if (arg == "--cookie") {
            auto c = value();
            if (c.find('=') == std::string::npos || c.front() == '=' || has_line_break(c))
                throw UsageError("--cookie: expected NAME=VALUE, got '" + c + "'");
            o.cookies.push_back(c);
        } else if (arg == "--header") {
            auto h = value();
            auto colon = h.find(':');
            if (colon == std::string::npos || colon == 0 || h.find_first_of(" \t") < colon || has_line_break(h))
                throw UsageError("--header: expected 'NAME: VALUE', got '" + h + "'");
            o.headers.push_back(h);
        } else if (arg == "--timeout") {
            o.timeout = positive_number(arg, value());
        } else if (arg == "--json") {
            flag();
            o.json = true;
        } else {
            throw UsageError("unknown argument '" + arg + "'");
        }
    }
    if (!have_url) throw UsageError("--url is required");
    if (!have_rate) throw UsageError("--rate is required");
    if (!have_duration) throw UsageError("--duration is required");
    if (!have_max) o.max_connections = o.connections;
    if (o.max_connections < o.connections) throw UsageError("--max-connections must be at least --connections");
    if (o.threads > o.connections) throw UsageError("--threads must be at most --connections");
    if (!o.poisson && std::floor(o.rate * o.duration + 1e-9) < 1) throw UsageError("--rate × --duration is less than one request");
    return o;
}

// ---- the target ---------------------------------------------------------------------------

struct Target {
    std::string host;       // to resolve (no brackets)
    std::string port;
    std::string authority;  // the Host header
    std::string path;       // path and query
};

Target parse_url(const std::string& url) {
    constexpr std::string_view scheme = "http://";
    if (url.starts_with("https://")) throw UsageError("--url: https is not supported (put a TLS proxy in front, or use http://)");
    if (!url.starts_with(scheme)) throw UsageError("--url: expected http://HOST[:PORT][/PATH], got '" + url + "'");
    const std::string rest = url.substr(scheme.size());
    if (has_line_break(rest) || rest.find_first_of(" \t") != std::string::npos) throw UsageError("--url: white space in '" + url + "'");
    Target t;
    const auto end = rest.find_first_of("/?#");
    t.authority = rest.substr(0, end);
    t.path = end == std::string::npos ? "/" : rest.substr(end);
    if (auto hash = t.path.find('#'); hash != std::string::npos) t.path.resize(hash);
    if (t.path.empty() || t.path.front() != '/') t.path.insert(0, "/");
    if (t.authority.find('@') != std::string::npos) throw UsageError("--url: credentials in the URL are not supported");
    std::string port_text;
    if (t.authority.starts_with("[")) {
        const auto close = t.authority.find(']');
        if (close == std::string::npos) throw UsageError("--url: unterminated [ in '" + url + "'");
        t.host = t.authority.substr(1, close - 1);
        const auto after = t.authority.substr(close + 1);
        if (!after.empty() && after.front() != ':') throw UsageError("--url: bad host in '" + url + "'");
        if (!after.empty()) port_text = after.substr(1);
    } else {
        const auto colon = t.authority.rfind(':');
        t.host = t.authority.substr(0, colon);
        if (colon != std::string::npos) port_text = t.authority.substr(colon + 1);
    }
    if (t.host.empty()) throw UsageError("--url: no host in '" + url + "'");
    if (port_text.empty() && t.authority.ends_with(":")) throw UsageError("--url: empty port in '" + url + "'");
    t.port = port_text.empty() ? "80" : std::to_string(positive_integer<int>("--url port", port_text, 65535));
    return t;
}

std::vector<std::string> read_paths(const std::string& file) {
    std::ifstream in(file);
    if (!in) throw UsageError("--paths: cannot read '" + file + "'");
    std::vector<std::string> paths;
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
        if (line.empty()) continue;
        if (line.front() != '/' || line.find_first_of(" \t") != std::string::npos) {
            std::string message = "--paths: ";
            message.append(file).append(":").append(std::to_string(n)).append(": expected a path starting with '/', got '");
            throw UsageError(message.append(line).append("'"));
        }
        paths.push_back(line);
    }
    if (paths.empty()) throw UsageError("--paths: no path in '" + file + "'");
    return paths;
}

// Each path's request, written once.
std::vector<std::string> build_requests(const Options& o, const Target& t, const std::vector<std::string>& paths) {
    std::string fixed = "Host: " + t.authority + "\r\nUser-Agent: photoshare-openloop\r\n";
    for (const auto& h : o.headers) fixed += h + "\r\n";
    if (!o.cookies.empty()) {
        fixed += "Cookie: ";
        for (std::size_t i = 0; i < o.cookies.size(); ++i) fixed += (i ? "; " : "") + o.cookies[i];
        fixed += "\r\n";
    }
    std::vector<std::string> out;
    out.reserve(paths.size());
    for (const auto& p : paths) out.push_back(std::string("GET ").append(p).append(" HTTP/1.1\r\n").append(fixed).append("\r\n"));
    return out;
}

// ---- one I/O thread's share of the load -----------------------------------------------------

struct Stats {
    std::vector<std::int64_t> latency_ns;  // responses: from when due to the last byte
    std::vector<std::int64_t> lag_ns;      // sent requests: from when due to the first write
    std::map<int, std::uint64_t> status;
    std::map<std::string, std::uint64_t> errors;  // "what: why"
    std::uint64_t scheduled = 0, sent = 0, timeouts = 0, unsent_timeouts = 0, retries = 0, opened = 0, bytes = 0;
    Clock::time_point last_event{};

    void merge(const Stats& s) {
        latency_ns.insert(latency_ns.end(), s.latency_ns.begin(), s.latency_ns.end());
        lag_ns.insert(lag_ns.end(), s.lag_ns.begin(), s.lag_ns.end());
        for (const auto& [k, v] : s.status) status[k] += v;
        for (const auto& [k, v] : s.errors) errors[k] += v;
        scheduled += s.scheduled;
        sent += s.sent;
        timeouts += s.timeouts;
        unsent_timeouts += s.unsent_timeouts;
        retries += s.retries;
        opened += s.opened;
        bytes += s.bytes;
        last_event = std::max(last_event, s.last_event);
    }
};

// When each of this thread's requests is due: evenly spaced (the threads interleaved), or a
// Poisson process of this thread's share of the rate (the threads' together are one of the
// whole rate).
class Schedule {
public:
    Schedule(const Options& o, int thread, Clock::time_point start, std::uint64_t seed)
        : start_(start), duration_(o.duration), poisson_(o.poisson), rate_(o.rate), threads_(o.threads), index_(thread),
          total_(static_cast<std::uint64_t>(std::floor(o.rate * o.duration + 1e-9))), random_(seed),
          gap_(o.rate / o.threads) {}

    std::optional<Clock::time_point> next() {
        double at = 0;
        if (poisson_) {
            at = poisson_at_ += gap_(random_);
            if (at >= duration_) return std::nullopt;
        } else {
            if (index_ >= total_) return std::nullopt;
            at = static_cast<double>(index_) / rate_;
            index_ += static_cast<std::uint64_t>(threads_);
        }
        return start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(at));
    }

private:
    Clock::time_point start_;
    double duration_;
    bool poisson_;
    double rate_;
    int threads_;
    std::uint64_t index_;
    std::uint64_t total_;
    double poisson_at_ = 0;
    std::mt19937_64 random_;
    std::exponential_distribution<double> gap_;
};

class Generator {
public:
    Generator(const Options& o, const std::vector<std::string>& requests, const tcp::resolver::results_type& endpoints, int thread,
              Clock::time_point start, std::uint64_t seed)
        : requests_(requests), endpoints_(endpoints), schedule_(o, thread, start, seed),
          timeout_(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.timeout))),
          connections_(share(o.connections, o.threads, thread)), max_connections_(share(o.max_connections, o.threads, thread)),
          next_request_(static_cast<std::size_t>(thread)), stride_(static_cast<std::size_t>(o.threads)) {}

    // Runs the whole schedule and waits for the last response (or timeout).
    void run() {
        for (int i = 0; i < connections_; ++i) open_connection(true);
        spawn(scheduler());
        ioc_.run();
    }

    Stats& stats() { return stats_; }

private:
    struct Connection {
        // Room for a whole page in one read (a flat_buffer's reads are as large as its capacity).
        explicit Connection(asio::io_context& ioc) : stream(ioc), wake(ioc) { buffer.reserve(64 * 1024); }
        beast::tcp_stream stream;
        beast::flat_buffer buffer;
        asio::steady_timer wake;  // an idle connection waits on it; cancelled when there is work
        bool open = false;
        std::uint64_t served = 0;  // responses since it was opened
    };
    struct Job {
        Clock::time_point due;
        std::size_t request;
    };

    static int share(int total, int threads, int thread) { return total / threads + (thread < total % threads ? 1 : 0); }

    template <class Awaitable>
    void spawn(Awaitable a) {
        asio::co_spawn(ioc_, std::move(a), [](const std::exception_ptr& e) {
            if (e) std::rethrow_exception(e);  // out of ioc_.run(), to main
        });
    }

    void open_connection(bool at_start) {
        connections_now_.push_back(std::make_unique<Connection>(ioc_));
        spawn(connection(*connections_now_.back(), at_start));
    }

    asio::awaitable<void> scheduler() {
        asio::steady_timer timer(ioc_);
        while (auto due = schedule_.next()) {
            if (*due > Clock::now()) {
                timer.expires_at(*due);
                co_await timer.async_wait(asio::use_awaitable);
            }
            ++stats_.scheduled;
            queue_.push_back({*due, next_request_ % requests_.size()});
            next_request_ += stride_;
            if (!idle_.empty()) {
                Connection* c = idle_.back();
                idle_.pop_back();
                c->wake.cancel();
            } else if (static_cast<int>(connections_now_.size()) < max_connections_) {
                open_connection(false);
            }
        }
        done_ = true;
        for (Connection* c : idle_) c->wake.cancel();
        idle_.clear();
    }

    asio::awaitable<void> connection(Connection& c, bool at_start) {
        if (at_start) co_await connect(c, Clock::now() + timeout_);  // a failure here is the first request's to find
        for (;;) {
            if (queue_.empty()) {
                if (done_) break;
                idle_.push_back(&c);
                c.wake.expires_at(Clock::time_point::max());
                beast::error_code ec;
                co_await c.wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                continue;
            }
            const Job job = queue_.front();
            queue_.pop_front();
            co_await perform(c, job);
        }
        beast::error_code ignored;
        c.stream.socket().close(ignored);
    }

    asio::awaitable<beast::error_code> connect(Connection& c, Clock::time_point deadline) {
        beast::error_code ec;
        c.stream.expires_at(deadline);
        co_await c.stream.async_connect(endpoints_, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            close(c);
            co_return ec;
        }
        c.stream.socket().set_option(tcp::no_delay(true), ec);
        c.open = true;
        c.served = 0;
        c.buffer.clear();
        ++stats_.opened;
        co_return beast::error_code{};
    }

    void close(Connection& c) {
        beast::error_code ignored;
        c.stream.socket().close(ignored);
        c.open = false;
    }

    void fail(Connection& c, const char* what, const beast::error_code& ec) {
        close(c);
        stats_.last_event = Clock::now();
        if (ec == beast::error::timeout)
            ++stats_.timeouts;
        else
            ++stats_.errors[std::string(what) + ": " + ec.message()];
    }

    // Errors of a request on a connection the server closed while it was idle.
    static bool stale_connection(const beast::error_code& ec) {
        return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
               ec == asio::error::broken_pipe;
    }

    asio::awaitable<void> perform(Connection& c, Job job) {
        const auto deadline = job.due + timeout_;
        if (Clock::now() >= deadline) {
            ++stats_.timeouts;
            ++stats_.unsent_timeouts;
            stats_.last_event = Clock::now();
            co_return;
        }
        for (bool first = true;; first = false) {
            beast::error_code ec;
            const bool reused = c.open && c.served > 0;
            if (!c.open) {
                if (auto failed = co_await connect(c, deadline)) {
                    fail(c, "connect", failed);
                    co_return;
                }
            }
            if (first) {
                ++stats_.sent;
                stats_.lag_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - job.due).count());
            }
            c.stream.expires_at(deadline);
            co_await asio::async_write(c.stream, asio::buffer(requests_[job.request]), asio::redirect_error(asio::use_awaitable, ec));
            if (ec) {
                if (first && reused && stale_connection(ec)) {
                    close(c);
                    ++stats_.retries;
                    continue;
                }
                fail(c, "send", ec);
                co_return;
            }
            http::response_parser<http::string_body> parser;
            parser.body_limit(std::uint64_t{1} << 32);
            co_await http::async_read(c.stream, c.buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
            if (ec) {
                if (first && reused && !parser.got_some() && stale_connection(ec)) {
                    close(c);
                    ++stats_.retries;
                    continue;
                }
                fail(c, "response", ec);
                co_return;
            }
            const auto now = Clock::now();
            stats_.last_event = now;
            stats_.latency_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(now - job.due).count());
            const auto& res = parser.get();
            ++stats_.status[static_cast<int>(res.result_int())];
            stats_.bytes += res.body().size();
            ++c.served;
            if (!res.keep_alive()) close(c);
            co_return;
        }
    }

    asio::io_context ioc_{1};
    const std::vector<std::string>& requests_;
    tcp::resolver::results_type endpoints_;
    Schedule schedule_;
    Clock::duration timeout_;
    int connections_;
    int max_connections_;
    std::size_t next_request_;
    std::size_t stride_;
    std::vector<std::unique_ptr<Connection>> connections_now_;
    std::vector<Connection*> idle_;
    std::deque<Job> queue_;
    bool done_ = false;
    Stats stats_;
};

// ---- before the run: can the server be reached at all? ----------------------------------

tcp::resolver::results_type reach(const Target& t, double timeout) {
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    auto endpoints = resolver.resolve(t.host, t.port, ec);
    if (ec) throw Unreachable("cannot resolve " + t.host + ": " + ec.message());
    beast::tcp_stream probe(ioc);
    probe.expires_after(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(std::min(timeout, 10.0))));
    probe.async_connect(endpoints, [&](const beast::error_code& e, const tcp::endpoint&) { ec = e; });
    ioc.run();
    if (ec == beast::error::timeout) throw Unreachable("cannot connect to " + t.authority + ": timed out");
    if (ec) throw Unreachable("cannot connect to " + t.authority + ": " + ec.message());
    return endpoints;
}

// ---- the report ---------------------------------------------------------------------------

// Nearest rank over sorted samples.
std::int64_t percentile(const std::vector<std::int64_t>& sorted, double p) {
    if (sorted.empty()) return 0;
    const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

std::string ms(std::int64_t ns) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(3) << static_cast<double>(ns) / 1e6;
    return s.str();
}

std::string number(double v, int decimals) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(decimals) << v;
    return s.str();
}

std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (const char ch : text) {
        const auto u = static_cast<unsigned char>(ch);
        if (ch == '"' || ch == '\\') {
            out += '\\';
            out += ch;
        } else if (u < 0x20) {
            constexpr std::string_view hex = "0123456789abcdef";
            out += "\\u00";
            out += hex[u >> 4];
            out += hex[u & 15];
        } else {
            out += ch;
        }
    }
    return out + "\"";
}

constexpr std::pair<const char*, double> kPercentiles[] = {{"p50", 50}, {"p90", 90}, {"p99", 99}, {"p99.9", 99.9}, {"p99.99", 99.99}};

std::string latency_json(const std::vector<std::int64_t>& sorted) {
    std::string out = "{";
    for (const auto& [name, p] : kPercentiles) out += json_string(name) + ": " + ms(percentile(sorted, p)) + ", ";
    double mean = 0;
    for (auto v : sorted) mean += static_cast<double>(v) / static_cast<double>(sorted.size());
    out += "\"max\": " + ms(sorted.empty() ? 0 : sorted.back()) + ", \"mean\": " + ms(static_cast<std::int64_t>(mean)) +
           ", \"samples\": " + std::to_string(sorted.size()) + "}";
    return out;
}

struct Run {
    const Options& options;
    const Target& target;
    std::size_t paths;
    std::uint64_t seed;
    Stats stats;
    double elapsed;  // seconds from the first due time to the last response or failure
};

std::uint64_t errors_total(const Stats& s) {
    std::uint64_t n = 0;
    for (const auto& [k, v] : s.errors) n += v;
    return n;
}

std::uint64_t responses_total(const Stats& s) {
    std::uint64_t n = 0;
    for (const auto& [k, v] : s.status) n += v;
    return n;
}

void print_json(const Run& r) {
    const auto& o = r.options;
    const auto& s = r.stats;
    const auto responses = responses_total(s);
    std::string out = "{";
    out += "\"url\": " + json_string(o.url);
    out += ", \"paths\": " + std::to_string(r.paths);
    out += ", \"arrivals\": " + json_string(o.poisson ? "poisson" : "fixed");
    if (o.poisson) out += ", \"seed\": " + std::to_string(r.seed);
    out += ", \"duration_s\": " + number(o.duration, 3);
    out += ", \"connections\": " + std::to_string(o.connections);
    out += ", \"max_connections\": " + std::to_string(o.max_connections);
    out += ", \"threads\": " + std::to_string(o.threads);
    out += ", \"timeout_s\": " + number(o.timeout, 3);
    out += ", \"rate\": " + number(o.rate, 3);
    out += ", \"offered_rate\": " + number(static_cast<double>(s.scheduled) / o.duration, 3);
    out += ", \"achieved_rate\": " + number(static_cast<double>(responses) / r.elapsed, 3);
    out += ", \"elapsed_s\": " + number(r.elapsed, 3);
    out += ", \"scheduled\": " + std::to_string(s.scheduled);
    out += ", \"sent\": " + std::to_string(s.sent);
    out += ", \"responses\": " + std::to_string(responses);
    out += ", \"status\": {";
    bool first = true;
    for (const auto& [code, n] : s.status) {
        out += (first ? "" : ", ") + json_string(std::to_string(code)) + ": " + std::to_string(n);
        first = false;
    }
    out += "}, \"errors\": " + std::to_string(errors_total(s));
    out += ", \"error_kinds\": {";
    first = true;
    for (const auto& [what, n] : s.errors) {
        out += (first ? "" : ", ") + json_string(what) + ": " + std::to_string(n);
        first = false;
    }
    out += "}, \"timeouts\": " + std::to_string(s.timeouts);
    out += ", \"timeouts_unsent\": " + std::to_string(s.unsent_timeouts);
    out += ", \"retries\": " + std::to_string(s.retries);
    out += ", \"connections_opened\": " + std::to_string(s.opened);
    out += ", \"body_bytes\": " + std::to_string(s.bytes);
    out += ", \"latency_ms\": " + latency_json(s.latency_ns);
    out += ", \"send_lag_ms\": " + latency_json(s.lag_ns);
    out += "}\n";
    std::cout << out;
}

void print_text(const Run& r) {
    const auto& o = r.options;
    const auto& s = r.stats;
    const auto responses = responses_total(s);
    std::cout << "openloop " << o.url << ": " << number(static_cast<double>(s.scheduled) / o.duration, 1) << " req/s offered ("
              << (o.poisson ? "poisson" : "fixed") << ") for " << number(o.duration, 1) << " s over " << o.connections
              << " connections\n";
    std::cout << "  " << responses << " responses, " << number(static_cast<double>(responses) / r.elapsed, 1) << " req/s achieved:";
    for (const auto& [code, n] : s.status) std::cout << " " << code << "×" << n;
    std::cout << "\n  errors " << errors_total(s) << ", timeouts " << s.timeouts << ", retries " << s.retries << ", connections opened "
              << s.opened << "\n";
    for (const auto& [what, n] : s.errors) std::cout << "    " << what << ": " << n << "\n";
    std::cout << "  latency ms from when due:";
    for (const auto& [name, p] : kPercentiles) std::cout << " " << name << " " << ms(percentile(s.latency_ns, p));
    std::cout << " max " << ms(s.latency_ns.empty() ? 0 : s.latency_ns.back()) << "\n";
    std::cout << "  send lag ms: p50 " << ms(percentile(s.lag_ns, 50)) << " p99 " << ms(percentile(s.lag_ns, 99)) << " max "
              << ms(s.lag_ns.empty() ? 0 : s.lag_ns.back()) << "\n";
}

// Room for --max-connections sockets and a few more.
void raise_open_files(int connections) {
    rlimit l{};
    if (::getrlimit(RLIMIT_NOFILE, &l) != 0) return;
    const auto wanted = static_cast<rlim_t>(connections) + 64;
    if (l.rlim_cur >= wanted) return;
    l.rlim_cur = std::min(wanted, l.rlim_max);
    if (::setrlimit(RLIMIT_NOFILE, &l) != 0 || l.rlim_cur < wanted)
        std::cerr << "openloop: warning: only " << l.rlim_cur << " open files allowed, for " << connections << " connections\n";
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const Options options = parse_options(argc, argv);
        if (options.help) {
            std::cout << kUsage;
            return 0;
        }
        const Target target = parse_url(options.url);
        const auto paths = options.paths_file.empty() ? std::vector<std::string>{target.path} : read_paths(options.paths_file);
        const auto requests = build_requests(options, target, paths);
        const std::uint64_t seed = options.seed ? *options.seed : std::random_device{}();
        if (std::signal(SIGPIPE, SIG_IGN) == SIG_ERR) throw std::runtime_error("cannot ignore SIGPIPE");
        raise_open_files(options.max_connections);
        const auto endpoints = reach(target, options.timeout);

        // The threads' connections are opened in the first 100 ms; the schedule starts after.
        const auto start = Clock::now() + std::chrono::milliseconds(100);
        std::vector<std::unique_ptr<Generator>> generators;
        generators.reserve(static_cast<std::size_t>(options.threads));
        for (int i = 0; i < options.threads; ++i)
            generators.push_back(std::make_unique<Generator>(options, requests, endpoints, i, start, seed + static_cast<std::uint64_t>(i)));
        std::vector<std::string> failures(generators.size());
        std::vector<std::thread> threads;
        for (std::size_t i = 0; i < generators.size(); ++i) {
            threads.emplace_back([&, i] {
                try {
                    generators[i]->run();
                } catch (const std::exception& e) {
                    failures[i] = e.what();
                }
            });
        }
        for (auto& t : threads) t.join();
        for (const auto& f : failures)
            if (!f.empty()) throw std::runtime_error(f);

        Run run{options, target, paths.size(), seed, {}, 0};
        for (auto& g : generators) run.stats.merge(g->stats());
        std::sort(run.stats.latency_ns.begin(), run.stats.latency_ns.end());
        std::sort(run.stats.lag_ns.begin(), run.stats.lag_ns.end());
        run.elapsed = std::max(options.duration, std::chrono::duration<double>(run.stats.last_event - start).count());
        if (options.json)
            print_json(run);
        else
            print_text(run);
        return 0;
    } catch (const UsageError& e) {
        std::cerr << "openloop: " << e.what() << "\n" << kUsage;
        return 2;
    } catch (const Unreachable& e) {
        std::cerr << "openloop: " << e.what() << "\n";
        return 3;
    } catch (const std::exception& e) {
        std::cerr << "openloop: " << e.what() << "\n";
        return 1;
    }
}
