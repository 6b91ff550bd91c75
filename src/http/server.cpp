#include "http/server.hpp"

#include "http/status.hpp"

#include "codec/gzip.hpp"
#include "codec/hex.hpp"
#include "http/address_ranges.hpp"
#include "http/content_coding.hpp"
#include "http/range.hpp"
#include "http/target.hpp"
#include "http/token.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/string_body.hpp>


#include <csignal>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <ctime>
#include <list>
#include <mutex>
#include <random>
#include <system_error>
#include <thread>
#include <unordered_map>

namespace photoshare::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// The interim answer to "Expect: 100-continue", under the write timeout.
asio::awaitable<beast::error_code> send_continue(beast::tcp_stream& stream, std::chrono::milliseconds timeout) {
    static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
    stream.expires_after(timeout);
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(cont.data(), cont.size()), use_tuple);
    (void)n;
    co_return ec;
}

// What a 413 says: the size when the request declared it, and the limit.
std::string too_large(std::uint64_t limit, std::optional<std::uint64_t> length = std::nullopt) {
    if (length) {
        const auto [size, most] = human_sizes(*length, limit);
        return fmt::format("The request ({}) is larger than the limit, {}.", size, most);
    }
    return fmt::format("The request is larger than the limit, {}.", human_size(limit));
}

Method to_method(bhttp::verb v) {
    switch (v) {
        case bhttp::verb::get: return Method::get;
        case bhttp::verb::head: return Method::head;
        case bhttp::verb::post: return Method::post;
        case bhttp::verb::put: return Method::put;
        case bhttp::verb::patch: return Method::patch;
        case bhttp::verb::delete_: return Method::del;
        case bhttp::verb::options: return Method::options;
        default: return Method::other;
    }
}

class BeastHeaders final : public Headers {
public:
    explicit BeastHeaders(const bhttp::fields& f) : fields_(f) {}
    std::string_view get(std::string_view name) const override {
        auto it = fields_.find(name);
        return it == fields_.end() ? std::string_view{} : std::string_view(it->value());
    }
    bool has(std::string_view name) const override { return fields_.find(name) != fields_.end(); }

private:
    const bhttp::fields& fields_;
};

// Request ids need to be unique, not secret: a per-thread generator seeded once.
std::string next_request_id() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    std::array<std::uint8_t, 8> bytes{};  // big-endian: 16 hex digits, most significant first
    auto v = rng();
    for (int i = 7; i >= 0; --i, v >>= 8) bytes[i] = static_cast<std::uint8_t>(v & 0xff);
    return codec::to_hex(bytes);
}

// The Date header changes once a second; formatting it per request would be wasted work.
std::string_view http_date() {
    thread_local std::time_t cached_second = 0;
    thread_local char buf[64];
    thread_local std::size_t len = 0;
    std::time_t now = std::time(nullptr);
    if (now != cached_second) {
        cached_second = now;
        std::tm tm{};
        gmtime_r(&now, &tm);
        len = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    }
    return {buf, len};
}

std::string_view reason_code(int status) {
    switch (status) {
        case 400: return "bad_request";
        case 404: return "not_found";
        case 405: return "method_not_allowed";
        case 408: return "request_timeout";
        case 413: return "payload_too_large";
        case 414: return "uri_too_long";
        case 431: return "headers_too_large";
        case 429: return "too_many_requests";
        case 503: return "unavailable";
        default: return "internal_error";
    }
}

}  // namespace

struct Server::Impl {
    ServerOptions opts;
    const Router& router;
    ServerHooks hooks;
    AddressRanges trusted_ranges;

    // Declared before the io_contexts: destroying a context destroys the coroutines still
    // suspended in it, and their destructors update these.
    std::atomic<std::size_t> connection_count{0};
    std::atomic<std::size_t> in_flight_count{0};
    std::atomic<bool> draining_flag{false};
    std::atomic<bool> closing{false};  // listener closed: finish and close connections
    std::atomic<bool> shutdown_started{false};
    std::size_t next_context = 0;

    // Connections that wait for a request, per I/O context (touched only by its thread),
    // so shutdown can close them at once instead of waiting for the idle timeout.
    struct Connection {
        beast::tcp_stream* stream = nullptr;
        bool idle = false;
    };
    std::vector<std::list<Connection*>> idle_registry;
    std::string refusal;  // the last response written to a connection refused at accept

    // Open connections per client address, for limits.max_connections_per_address; trusted
    // proxies are not counted (every client behind them shares their address).
    std::mutex per_address_mutex;
    std::unordered_map<std::string, std::size_t> per_address;

    std::vector<std::unique_ptr<asio::io_context>> contexts;
    std::unique_ptr<tcp::acceptor> acceptor;  // after contexts: destroyed before them

    Impl(ServerOptions o, const Router& r, ServerHooks h)
        : opts(std::move(o)), router(r), hooks(std::move(h)), trusted_ranges(opts.trusted_proxies) {
        unsigned n = opts.io_threads ? opts.io_threads : std::max(1u, std::thread::hardware_concurrency());
        for (unsigned i = 0; i < n; ++i) contexts.push_back(std::make_unique<asio::io_context>(1));
        idle_registry.resize(n);
    }

    bool trusted(const std::string& peer) const { return trusted_ranges.contains(peer); }

    // The client behind trusted proxies: the right-most X-Forwarded-For entry that is not
    // itself a trusted proxy. Several header lines are one list (RFC 9110 §5.3): a proxy
    // that appends a line of its own must not leave the client's first line in charge.
    std::string client_address(const std::string& peer, const bhttp::fields& f) const {
        if (!trusted(peer)) return peer;
        std::string joined;
        for (auto [it, end] = f.equal_range("X-Forwarded-For"); it != end; ++it) {
            if (!joined.empty()) joined += ',';
            joined += std::string_view(it->value());
        }
        if (joined.empty()) return peer;
        std::string_view xff = joined;
        while (!xff.empty()) {
            auto comma = xff.rfind(',');
            std::string_view part = comma == std::string_view::npos ? xff : xff.substr(comma + 1);
            while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) part.remove_prefix(1);
            while (!part.empty() && (part.back() == ' ' || part.back() == '\t')) part.remove_suffix(1);
            std::string candidate(part);
            if (!candidate.empty() && !trusted(candidate)) return candidate.size() <= 64 ? candidate : peer;
            if (comma == std::string_view::npos) break;
            xff = xff.substr(0, comma);
        }
        return peer;
    }

    Response error(const Request& req, int status, const std::string& message) {
        return error(req, status, std::string(reason_code(status)), message);
    }
    Response error(const Request& req, int status, const std::string& code, const std::string& message) {
        if (hooks.error_response) return hooks.error_response(req, status, code, message);
        return Response(status, "text/plain; charset=utf-8", message + "\n");
    }
    asio::awaitable<Response> error_page(const Request& req, int status, const std::string& code, const std::string& message) {
        if (hooks.error_page) co_return co_await hooks.error_page(req, status, code, message);
        co_return error(req, status, code, message);
    }
    asio::awaitable<Response> error_page(const Request& req, int status, const std::string& message) {
        co_return co_await error_page(req, status, std::string(reason_code(status)), message);
    }

    asio::awaitable<void> accept_loop();
    asio::awaitable<void> session(tcp::socket socket, std::string peer, bool counted);
    bool admit_address(const std::string& peer);
    void release_address(const std::string& peer);
    asio::awaitable<void> handle(beast::tcp_stream& stream, beast::flat_buffer& buffer, struct Exchange& x);
    asio::awaitable<std::pair<beast::error_code, std::uint64_t>> send(beast::tcp_stream& stream, struct Exchange& x);
    asio::awaitable<std::optional<std::pair<beast::error_code, std::uint64_t>>> send_file(beast::tcp_stream& stream, struct Exchange& x,
                                                                                          bool keep_alive);
    asio::awaitable<std::pair<beast::error_code, std::uint64_t>> send_stream(beast::tcp_stream& stream, struct Exchange& x, bool keep_alive);
    asio::awaitable<void> linger_close(beast::tcp_stream& stream);
    void select_range(struct Exchange& x);
    void encode(struct Exchange& x) const;
    // The header timeout: when it passes, the read is cancelled (not the socket closed, as
    // the stream's own expiry would), so that the client still gets its 408.
    struct HeaderDeadline {
        // Shared with the timer's handler, which may already be queued when the header arrives
        // and then runs after this deadline (and the connection) are gone.
        struct State {
            bool expired = false;
            bool disarmed = false;
        };
        beast::tcp_stream& stream;
        std::chrono::steady_clock::time_point at;
        std::optional<asio::steady_timer> timer{};
        std::shared_ptr<State> state = std::make_shared<State>();

        HeaderDeadline(beast::tcp_stream& s, std::chrono::steady_clock::time_point when) : stream(s), at(when) {}
        HeaderDeadline(const HeaderDeadline&) = delete;
        HeaderDeadline& operator=(const HeaderDeadline&) = delete;
        // The timer's destructor cancels its wait; nothing here can throw.
        ~HeaderDeadline() { state->disarmed = true; }
        void arm() {
            if (timer || state->disarmed) return;
            timer.emplace(stream.get_executor(), at);
            timer->async_wait([state = state, socket = &stream.socket()](const boost::system::error_code& ec) {
                if (ec || state->disarmed) return;  // the header arrived in time
                state->expired = true;
                beast::error_code ignored;
                socket->cancel(ignored);
            });
        }
        void disarm() {
            state->disarmed = true;
            if (timer) timer->cancel();
        }
        bool expired() const { return state->expired; }
    };
    asio::awaitable<std::tuple<beast::error_code, std::size_t>> read_header_block(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                                                                  HeaderDeadline& deadline, bool& folded, bool& complete);
    std::size_t context_index(const asio::any_io_executor& ex) const;
    asio::awaitable<void> drain();
    void refuse(tcp::socket& socket, int status, const std::string& message);
};

// When a request body must have arrived: its first n bytes by start + grace + n / rate. A
// client that keeps up the minimum rate on average may take as long as its body needs (a
// phone on a slow link); one that stalls or trickles is cut off (slowloris).
struct BodyPace {
    std::chrono::steady_clock::time_point start;
    std::chrono::milliseconds grace;
    std::uint64_t rate;  // bytes per second, at least 1

    std::chrono::steady_clock::time_point due(std::uint64_t received) const {
        return start + grace + std::chrono::milliseconds(received / rate * 1000 + received % rate * 1000 / rate);
    }
};

// Streams a request body through the Beast parser into the handler's buffer. A client that
// sent "Expect: 100-continue" gets its 100 only when the handler first reads: a request the
// route refuses first (401, 403, 415) is answered without the body ever being sent.
class StreamingBody final : public BodyReader {
public:
    StreamingBody(beast::tcp_stream& stream, beast::flat_buffer& buffer, bhttp::request_parser<bhttp::buffer_body>& parser, BodyPace pace,
                  std::uint64_t limit, std::optional<std::chrono::milliseconds> continue_write_timeout)
        : stream_(stream), buffer_(buffer), parser_(parser), pace_(pace), limit_(limit), continue_timeout_(continue_write_timeout) {}

    asio::awaitable<std::size_t> read_some(std::span<char> out) override {
        if (out.empty()) co_return 0;
        if (continue_timeout_ && !parser_.is_done()) {
            const auto timeout = *continue_timeout_;
            continue_timeout_.reset();
            if (co_await send_continue(stream_, timeout))
                throw HttpError(400, "bad_request", "The connection failed before the request body was sent.");
        }
        while (!parser_.is_done()) {
            auto& body = parser_.get().body();
            body.data = out.data();
            body.size = out.size();
            stream_.expires_at(pace_.due(received_));
            auto [ec, n] = co_await bhttp::async_read_some(stream_, buffer_, parser_, use_tuple);
            (void)n;
            if (ec == bhttp::error::need_buffer) ec = {};
            if (ec == bhttp::error::body_limit)
                throw HttpError(413, "payload_too_large", too_large(limit_));
            if (ec == beast::error::timeout) throw HttpError(408, "request_timeout", "The request body arrived too slowly.");
            if (ec) throw HttpError(400, "bad_request", "The request body ended early or is malformed.");
            std::size_t got = out.size() - parser_.get().body().size;
            received_ += got;
            if (got > 0) co_return got;
        }
        co_return 0;
    }

    std::optional<std::uint64_t> content_length() const override {
        auto len = parser_.content_length();
        if (!len) return std::nullopt;
        return *len;
    }

    bool finished() const { return parser_.is_done(); }

private:
    beast::tcp_stream& stream_;
    beast::flat_buffer& buffer_;
    bhttp::request_parser<bhttp::buffer_body>& parser_;
    BodyPace pace_;
    std::uint64_t limit_;
    std::optional<std::chrono::milliseconds> continue_timeout_;  // set while a 100 Continue is owed
    std::uint64_t received_ = 0;
};

namespace {

bool safe_header_text(std::string_view s) { return s.find_first_of("\r\n") == std::string_view::npos; }

// The status line and headers of a response, written directly: one string, no per-field
// buffers (Beast's serializer spent more time walking its buffer sequence than we spend
// building the page). Header text from handlers may not contain CR or LF: such a header is
// dropped rather than allowed to split the response.
// content_length: nullopt sends the body chunked.
std::string serialize_head(const Response& res, std::optional<std::uint64_t> content_length, bool keep_alive, bool http10) {
    std::string head;
    head.reserve(256 + res.raw_headers.size() + res.headers.size() * 48);
    head += "HTTP/1.1 ";
    head += std::to_string(res.status);
    head += ' ';
    head += reason_phrase(res.status);
    head += "\r\nServer: photoshare\r\nDate: ";
    head += http_date();
    if (!res.content_type.empty() && safe_header_text(res.content_type)) {
        head += "\r\nContent-Type: ";
        head += res.content_type;
    }
    if (res.status != 204 && res.status != 304 && !(res.status >= 100 && res.status < 200)) {
        if (content_length) {
            head += "\r\nContent-Length: ";
            head += std::to_string(*content_length);
        } else {
            head += "\r\nTransfer-Encoding: chunked";
        }
    }
    if (!keep_alive) head += "\r\nConnection: close";
    else if (http10) head += "\r\nConnection: keep-alive";
    head += "\r\n";
    for (const auto& [name, value] : res.headers) {
        if (!safe_header_text(name) || !safe_header_text(value) || name.empty()) {
            spdlog::error("dropped a response header with a line break: {}", name);
            continue;
        }
        head += name;
        head += ": ";
        head += value;
        head += "\r\n";
    }
    head += res.raw_headers;
    head += "\r\n";
    return head;
}

}  // namespace

// One request's parsers. Each body parser takes over the header parser's message, so the
// views in Request are re-pointed at whichever parser owns it now; all of them live until
// the response has been sent and logged.
struct Exchange {
    bhttp::request_parser<bhttp::empty_body> header_parser;
    std::optional<bhttp::request_parser<bhttp::buffer_body>> stream_parser;
    std::optional<bhttp::request_parser<bhttp::string_body>> body_parser;
    std::optional<StreamingBody> streaming;
    std::optional<BeastHeaders> headers;
    Request req;
    Response res;
    bool close_after = false;
    bool linger = false;  // the client may still be sending a body we will not read
    bool http10 = false;
    RangeRequest range;  // the part of the body to send (Kind::part), set by select_range

    template <class Message>
    void adopt(const Message& message) {
        headers.emplace(message.base());
        req.headers = &*headers;
        req.method_name = message.method_string();
        req.target = message.target();
    }
};

asio::awaitable<void> Server::Impl::handle(beast::tcp_stream& stream, beast::flat_buffer& buffer, Exchange& x) {
    auto& req = x.req;
    auto& msg = x.header_parser.get();
    x.adopt(msg);
    req.method = to_method(msg.method());
    const std::string peer = req.client_address;
    req.client_address = client_address(peer, msg.base());
    if (trusted(peer)) {
        // A proxy's request id ties our log line to its own; it ends up in logs and pages,
        // so only a plain token is taken.
        auto rid = msg.base().find("X-Request-Id");
        if (rid != msg.base().end()) {
            std::string_view v = rid->value();
            const bool plain = !v.empty() && v.size() <= 64 && std::all_of(v.begin(), v.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
            });
            if (plain) req.request_id = std::string(v);
        }
    }
    x.close_after = !msg.keep_alive();
    x.http10 = msg.version() == 10;
    const bool has_body = x.header_parser.content_length().value_or(0) > 0 || x.header_parser.chunked();

    // Framing and Host that a proxy in front could read differently from us (RFC 9112
    // §3.2, §6.1): refuse, and close, rather than guess.
    const auto hosts = std::distance(msg.base().equal_range(bhttp::field::host).first, msg.base().equal_range(bhttp::field::host).second);
    const bool chunked_http10 = x.http10 && msg.base().find(bhttp::field::transfer_encoding) != msg.base().end();
    // The one Transfer-Encoding read here is a single "chunked", without Content-Length
    // (§6.1: chunked must come last, and no other coding is implemented; §6.3: both together
    // is an attack or an error). Anything else, whatever the method: a GET's body would
    // otherwise be read as the next request.
    const auto codings = msg.base().equal_range(bhttp::field::transfer_encoding);
    const auto coding_fields = std::distance(codings.first, codings.second);
    const bool bad_coding = coding_fields > 1 ||
                            (coding_fields == 1 && (!beast::iequals(trim_ows(codings.first->value()), "chunked") ||
                                                    msg.base().find(bhttp::field::content_length) != msg.base().end()));
    const auto host = msg.base().find(bhttp::field::host);
    const bool bad_host = host != msg.base().end() && !valid_host(host->value());
    if ((msg.version() >= 11 && hosts != 1) || hosts > 1 || bad_host || chunked_http10 || bad_coding) {
        req.path = std::string(req.target.substr(0, std::min<std::size_t>(req.target.find('?'), 256)));
        x.res = error(req, 400,
                      (msg.version() >= 11 && hosts != 1) || hosts > 1 ? "A request needs exactly one Host header."
                      : bad_host       ? "The Host header is not a valid host name or address with an optional port."
                      : chunked_http10 ? "HTTP/1.0 has no Transfer-Encoding."
                                       : "The only Transfer-Encoding this server reads is chunked, alone and without Content-Length.");
        x.close_after = x.linger = true;
        co_return;
    }

    if (req.target.size() > opts.max_target_bytes) {
        req.path = std::string(req.target.substr(0, std::min<std::size_t>(req.target.find('?'), 256)));
        x.res = error(req, 414, "The URL is longer than this server accepts.");
        x.close_after = x.linger = true;
        co_return;
    }
    auto target = parse_target(req.target, opts.max_target_bytes);
    if (!target) {
        // Unvalidated: used only to choose the error's format (JSON under /api/) and logged escaped.
        req.path = std::string(req.target.substr(0, req.target.find('?')));
        x.res = error(req, 400, "The URL is not valid.");
        x.close_after = x.linger = true;
        co_return;
    }
    req.path = std::move(target->path);
    req.query = target->query;

    auto match = router.match(req);
    if (!match.route) {
        if (match.path_known)
            x.res = co_await error_page(req, 405, "This method is not allowed here.");
        else
            x.res = co_await error_page(req, 404, "There is nothing at this address.");
        if (has_body) x.close_after = x.linger = true;
        co_return;
    }
    const auto& route = *match.route;
    const std::size_t limit = route.options.body_limit ? route.options.body_limit : opts.max_body_bytes;
    const auto declared = x.header_parser.content_length();
    if (declared && *declared > limit) {
        // Refuse before reading a byte of the body.
        x.res = co_await error_page(req, 413, too_large(limit, *declared));
        x.close_after = x.linger = true;
        co_return;
    }
    const bool expect_continue = has_body && beast::iequals(msg[bhttp::field::expect], "100-continue");
    const BodyPace pace{std::chrono::steady_clock::now(), opts.body_timeout, std::max<std::uint64_t>(opts.body_min_rate, 1)};
    if (route.options.stream_body) {
        x.stream_parser.emplace(std::move(x.header_parser));
        x.stream_parser->body_limit(limit);
        x.adopt(x.stream_parser->get());
        x.streaming.emplace(stream, buffer, *x.stream_parser, pace, limit,
                            expect_continue ? std::optional(opts.write_timeout) : std::nullopt);
        req.body_reader = &*x.streaming;
    } else if (has_body) {
        if (expect_continue) co_await send_continue(stream, opts.write_timeout);
        x.body_parser.emplace(std::move(x.header_parser));
        x.body_parser->body_limit(limit);
        x.adopt(x.body_parser->get());
        beast::error_code ec;
        while (!ec && !x.body_parser->is_done()) {
            stream.expires_at(pace.due(x.body_parser->get().body().size()));
            std::tie(ec, std::ignore) = co_await bhttp::async_read_some(stream, buffer, *x.body_parser, use_tuple);
        }
        if (ec) {
            x.close_after = true;
            if (ec == bhttp::error::body_limit) {
                x.linger = true;
                x.res = error(req, 413, too_large(limit));
            } else if (ec == beast::error::timeout) {
                x.res = error(req, 408, "The request body arrived too slowly.");
            } else {
                x.res = error(req, 400, "The request body ended early or is malformed.");
            }
            co_return;
        }
        req.body = std::move(x.body_parser->get().body());
    }

    std::optional<HttpError> failure;  // answered after the catch: a handler cannot co_await
    try {
        x.res = co_await route.handler(req);
    } catch (const HttpError& e) {
        failure = e;
    } catch (const std::exception& e) {
        spdlog::error("request {} {} {} failed: {}", req.request_id, req.method_name, req.path, e.what());
        failure.emplace(500, std::string(reason_code(500)), "Something went wrong on our side. Please try again.");
    }
    if (failure) {
        x.res = co_await error_page(req, failure->status(), failure->code(), failure->what());
        for (const auto& h : failure->headers()) x.res.headers.push_back(h);
        const int status = failure->status();
        if (status == 413 || status == 408 || status == 400) x.close_after = x.linger = true;
    }
    // A body the handler did not read to the end leaves the connection unusable.
    if (x.streaming && !x.streaming->finished()) x.close_after = x.linger = true;
}

// Sends a file with sendfile(2): the kernel moves page-cache pages to the socket without
// copying them through this process. The headers go first with MSG_MORE, so that headers
// and the start of the body leave in full segments. In the common case (the socket buffer
// has room) that is five system calls and no timer; only a full socket buffer makes us
// wait, under the write timeout. nullopt when the file cannot be opened.
asio::awaitable<std::optional<std::pair<beast::error_code, std::uint64_t>>> Server::Impl::send_file(beast::tcp_stream& stream, Exchange& x,
                                                                                                  bool keep_alive) {
    const int fd = ::open(x.res.file_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) co_return std::nullopt;
    struct Close {
        int fd;
        ~Close() { ::close(fd); }
    } close_fd{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) co_return std::nullopt;
    const auto file_size = static_cast<std::uint64_t>(st.st_size);
    // A part (206) whose file changed size since select_range looked: the whole file, as 200.
    if (x.range.kind == RangeRequest::Kind::part && x.range.last >= file_size) {
        x.range = {};
        x.res.status = 200;
        std::erase_if(x.res.headers, [](const auto& h) { return h.first == "Content-Range"; });
    }
    const bool part = x.range.kind == RangeRequest::Kind::part;
    const std::uint64_t begin = part ? x.range.first : 0;
    const std::uint64_t size = part ? x.range.length() : file_size;
    const bool head_only = x.req.method == Method::head;

    auto& socket = stream.socket();
    const int sock = socket.native_handle();
    beast::error_code ec;
    socket.native_non_blocking(true, ec);

    const auto head = serialize_head(x.res, size, keep_alive, x.http10);
    std::size_t head_sent = 0;
    while (head_sent < head.size()) {
        auto n = ::send(sock, head.data() + head_sent, head.size() - head_sent, MSG_NOSIGNAL | (head_only ? 0 : MSG_MORE));
        if (n > 0) head_sent += static_cast<std::size_t>(n);
        else if (n < 0 && errno == EINTR) continue;
        else break;  // full buffer or an error: let Asio finish (and report) it
    }
    if (head_sent < head.size()) {
        auto [wec, n] = co_await asio::async_write(stream, asio::buffer(head.data() + head_sent, head.size() - head_sent), use_tuple);
        (void)n;
        if (wec) co_return std::pair{wec, std::uint64_t{0}};
    }
    if (head_only) co_return std::pair{beast::error_code{}, std::uint64_t{0}};

    // Armed only when we have to wait; `alive` keeps a late timer callback from touching
    // this frame after it is gone.
    std::optional<asio::steady_timer> timer;
    auto alive = std::make_shared<bool>(true);
    struct Disarm {
        std::shared_ptr<bool>& alive;
        std::optional<asio::steady_timer>& timer;
        ~Disarm() {
            *alive = false;
            if (!timer) return;
            try {
                timer->cancel();
            } catch (...) {  // cancel() throws only on a broken reactor; a destructor must not throw
            }
        }
    } disarm{alive, timer};

    auto offset = static_cast<off_t>(begin);
    const std::uint64_t end = begin + size;
    auto done = [&] { return static_cast<std::uint64_t>(offset) - begin; };
    while (static_cast<std::uint64_t>(offset) < end) {
        auto sent = ::sendfile(sock, fd, &offset, static_cast<std::size_t>(end - static_cast<std::uint64_t>(offset)));
        if (sent > 0) continue;
        if (sent == 0) co_return std::pair{beast::error_code(asio::error::eof), done()};  // file shrank
        if (errno == EINTR) continue;
        if (errno != EAGAIN) co_return std::pair{beast::error_code(errno, boost::system::system_category()), done()};
        if (!timer) {
            timer.emplace(stream.get_executor(), opts.write_timeout);
            timer->async_wait([alive, &socket](const beast::error_code& e) {
                if (!e && *alive) socket.cancel();
            });
        }
        auto [wec] = co_await socket.async_wait(tcp::socket::wait_write, use_tuple);
        if (wec) co_return std::pair{wec == asio::error::operation_aborted ? beast::error_code(beast::error::timeout) : wec, done()};
    }
    co_return std::pair{beast::error_code{}, size};
}

// Sends a body produced while sending: with its length when known, else chunked (an
// HTTP/1.0 client cannot take chunks, so it gets the body until the connection closes).
asio::awaitable<std::pair<beast::error_code, std::uint64_t>> Server::Impl::send_stream(beast::tcp_stream& stream, Exchange& x,
                                                                                      bool keep_alive) {
    auto& res = x.res;
    const bool chunked = !res.stream_length && !x.http10;
    if (!res.stream_length && x.http10) keep_alive = false;
    const auto head = serialize_head(res, chunked ? std::nullopt : std::optional<std::uint64_t>(res.stream_length.value_or(0)), keep_alive,
                                     x.http10);
    if (!keep_alive) x.close_after = true;
    stream.expires_after(opts.write_timeout);
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(head), use_tuple);
    (void)n;
    if (ec || x.req.method == Method::head) co_return std::pair{ec, std::uint64_t{0}};
    std::uint64_t sent = 0;
    for (;;) {
        std::string piece;
        try {
            piece = co_await res.stream->next();
        } catch (const std::exception& e) {
            // Too late for an error status: cut the connection so the client sees a failure.
            spdlog::warn("request {}: body stream failed after {} bytes: {}", x.req.request_id, sent, e.what());
            co_return std::pair{beast::error_code(asio::error::connection_aborted), sent};
        }
        std::string frame_head, frame_tail;
        if (chunked) {
            frame_head = fmt::format("{:x}\r\n", piece.size());
            frame_tail = "\r\n";  // after the data; the last, empty chunk ends the body
        }
        stream.expires_after(opts.write_timeout);
        const std::array<asio::const_buffer, 3> buffers{asio::buffer(frame_head), asio::buffer(piece), asio::buffer(frame_tail)};
        auto [wec, wn] = co_await asio::async_write(stream, buffers, use_tuple);
        (void)wn;
        if (wec) co_return std::pair{wec, sent};
        if (piece.empty()) break;
        sent += piece.size();
    }
    co_return std::pair{beast::error_code{}, sent};
}

// A text body goes out gzipped to a client that takes it, unless its handler chose an
// encoding (then it also set Vary), or in brotli when it was compressed so ahead of time
// (static assets). Level 1: for pages made per request, speed matters more than the last
// few percent of size.
void Server::Impl::encode(Exchange& x) const {
    auto& res = x.res;
    if (opts.gzip_min_bytes == 0 || !compressible(res.content_type)) return;
    bool vary = false;
    for (const auto& [name, value] : res.headers) {
        if (name == "Content-Encoding") return;
        vary = vary || name == "Vary";
    }
    if (!vary) res.set("Vary", "Accept-Encoding");
    const auto body = res.body_view();
    if (body.size() < opts.gzip_min_bytes || res.status == 204 || res.status == 304) return;
    const auto accept = x.req.header("Accept-Encoding");
    if (res.brotli && accepts_brotli(accept)) {  // compressed ahead of time, smaller than gzip
        res.shared_body = std::move(res.brotli);
        res.set("Content-Encoding", "br");
        return;
    }
    if (!accepts_gzip(accept)) return;
    if (res.gzipped) {
        res.shared_body = std::move(res.gzipped);
    } else {
        res.body = codec::gzip(body, 1);
        res.shared_body.reset();
    }
    res.set("Content-Encoding", "gzip");
}

// For a response that may be sent in part: answers a GET's Range header with 206 and the
// part (x.range), or 416 when the range lies beyond the end. Only a file's size needs a
// system call, and only when a range is asked for.
void Server::Impl::select_range(Exchange& x) {
    auto& res = x.res;
    res.set("Accept-Ranges", "bytes");
    const auto range = x.req.header("Range");
    if (range.empty() || res.status != 200 || x.req.method != Method::get) return;
    std::uint64_t size = res.body_view().size();
    if (!res.file_path.empty()) {
        struct stat st {};
        if (::stat(res.file_path.c_str(), &st) != 0) return;  // send_file answers 404
        size = static_cast<std::uint64_t>(st.st_size);
    }
    std::string_view etag;
    for (const auto& [name, value] : res.headers)
        if (name == "ETag") etag = value;
    x.range = requested_range(range, x.req.header("If-Range"), etag, size);
    if (x.range.kind == RangeRequest::Kind::part) {
        res.status = 206;
        res.set("Content-Range", fmt::format("bytes {}-{}/{}", x.range.first, x.range.last, size));
    } else if (x.range.kind == RangeRequest::Kind::unsatisfiable) {
        res = error(x.req, 416, "range_not_satisfiable", fmt::format("The range asked for is not within the {} bytes there are.", size));
        res.set("Content-Range", fmt::format("bytes */{}", size));
        if (hooks.decorate) hooks.decorate(x.req, res);
    }
}

// Writes the response; returns the error and the body bytes sent.
asio::awaitable<std::pair<beast::error_code, std::uint64_t>> Server::Impl::send(beast::tcp_stream& stream, Exchange& x) {
    auto& res = x.res;
    const bool keep_alive = !x.close_after;
    stream.expires_after(opts.write_timeout);
    if (res.stream) co_return co_await send_stream(stream, x, keep_alive);
    if (res.file_path.empty()) encode(x);
    if (res.ranges) select_range(x);
    if (!res.file_path.empty()) {
        if (auto sent = co_await send_file(stream, x, keep_alive)) co_return *sent;
        // Gone between the handler's check and now (deleted): answer as if it never was.
        res = error(x.req, 404, "There is nothing at this address.");
        if (hooks.decorate) hooks.decorate(x.req, res);
    }
    std::string_view body = res.body_view();
    if (x.range.kind == RangeRequest::Kind::part) body = body.substr(x.range.first, x.range.length());
    const auto length = body.size();
    const bool head_only = x.req.method == Method::head || res.status == 204 || res.status == 304;
    if (head_only) body = {};
    const auto head = serialize_head(res, length, keep_alive, x.http10);
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(body.data(), body.size())};
    auto [wec, n] = co_await asio::async_write(stream, buffers, use_tuple);
    (void)n;
    co_return std::pair{wec, std::uint64_t{body.size()}};
}

asio::awaitable<void> Server::Impl::session(tcp::socket socket, std::string peer, bool counted) {
    struct CountGuard {
        Impl& impl;
        const std::string& peer;
        bool counted;
        ~CountGuard() {
            impl.connection_count.fetch_sub(1);
            if (counted) impl.release_address(peer);
        }
    } count_guard{*this, peer, counted};

    beast::error_code ec;
    socket.set_option(tcp::no_delay(true), ec);

    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;

    // Registered so that shutdown can close the connection while it waits between requests.
    auto& registry = idle_registry[context_index(stream.get_executor())];
    Connection self{&stream, false};
    registry.push_back(&self);
    struct Unregister {
        std::list<Connection*>& list;
        Connection* c;
        ~Unregister() { list.remove(c); }
    } unregister{registry, &self};

    for (;;) {
        // Wait for the first byte of a request under the idle timeout.
        if (buffer.size() == 0) {
            if (closing.load()) break;
            self.idle = true;
            stream.expires_after(opts.idle_timeout);
            auto [rec, n] = co_await stream.async_read_some(buffer.prepare(4096), use_tuple);
            self.idle = false;
            if (rec) break;  // closed by the client, idle timeout or shutdown
            buffer.commit(n);
        }

        const auto started = std::chrono::steady_clock::now();
        in_flight_count.fetch_add(1);
        struct InFlight {
            std::atomic<std::size_t>& n;
            ~InFlight() { n.fetch_sub(1); }
        } in_flight_guard{in_flight_count};

        Exchange x;
        x.req.request_id = next_request_id();
        x.req.client_address = peer;
        x.header_parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(opts.max_header_bytes, UINT32_MAX)));
        // Body limits are per route, checked once the route is known.
        x.header_parser.body_limit(boost::none);
        // The header timeout is a timer of our own that cancels the read: the stream's own
        // expiry would close the socket, and the client would get no 408.
        // It is armed only when the header block is not already in the buffer: most requests
        // arrive whole, and then no timer is set and cancelled for them.
        stream.expires_never();
        HeaderDeadline deadline(stream, started + opts.header_timeout);
        bool folded = false;
        bool complete = false;
        auto [hec, hn] = co_await read_header_block(stream, buffer, deadline, folded, complete);
        if (!hec && !complete) deadline.arm();  // over the header limit: the parser says so, or reads on
        if (!hec && !folded) std::tie(hec, hn) = co_await bhttp::async_read_header(stream, buffer, x.header_parser, use_tuple);
        deadline.disarm();
        if (hec && deadline.expired()) hec = beast::error::timeout;
        // Beast checks its header limit only while it waits for more bytes, so a header block
        // that arrives whole can pass it; the size consumed is checked here as well.
        if (!hec && hn > opts.max_header_bytes) hec = bhttp::error::header_limit;
        if (folded) {
            // RFC 9112 §5.2: a server must refuse obsolete line folding or unfold it; Beast
            // unfolds, and a proxy in front may read the fields differently: refuse.
            x.close_after = x.linger = true;
            x.res = error(x.req, 400, "Header lines may not be folded (a line starting with a space or a tab).");
        } else if (!hec) {
            co_await handle(stream, buffer, x);
        } else if (hec == bhttp::error::end_of_stream || hec == asio::error::eof || hec == asio::error::connection_reset ||
                   hec == asio::error::operation_aborted) {
            break;
        } else {
            x.close_after = x.linger = true;
            // The request line may have been read before a header failed: its path tells
            // whether the error should be JSON (/api/) or a page.
            auto target = std::string_view(x.header_parser.get().target());
            x.req.path = std::string(target.substr(0, std::min<std::size_t>(target.find('?'), 256)));
            if (hec == bhttp::error::header_limit)
                x.res = error(x.req, 431, "The request headers are larger than this server accepts.");
            else if (hec == beast::error::timeout)
                x.res = error(x.req, 408, "The request headers took too long to arrive.");
            else
                x.res = error(x.req, 400, "The request is not valid HTTP/1.1.");
        }

        if (closing.load() || x.res.close) x.close_after = true;
        if (hooks.decorate) hooks.decorate(x.req, x.res);
        auto [wec, sent] = co_await send(stream, x);
        if (hooks.completed) hooks.completed(Completed{x.req, x.res.status, sent, std::chrono::steady_clock::now() - started});
        if (wec) break;
        if (x.close_after) {
            if (x.linger) co_await linger_close(stream);
            break;
        }
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.socket().close(ignored);
}

// Reads until the whole header block of the next request is in the buffer (or more than the
// header limit is, or the connection fails), so that it can be checked as sent before Beast
// parses it: Beast joins folded lines into one value, and a folded line is an attack on
// whatever parses the header differently. Sets `folded` if a line of it starts with a
// space or a tab, and `complete` when its end arrived. The end is CRLF CRLF, or LF LF, which
// the parser then refuses. The deadline is armed before it first waits for more bytes.
asio::awaitable<std::tuple<beast::error_code, std::size_t>> Server::Impl::read_header_block(beast::tcp_stream& stream,
                                                                                            beast::flat_buffer& buffer,
                                                                                            HeaderDeadline& deadline, bool& folded,
                                                                                            bool& complete) {
    std::size_t scanned = 0;  // bytes already known to hold no end of the block
    for (;;) {
        const std::string_view data(static_cast<const char*>(buffer.data().data()), buffer.size());
        std::size_t end = std::string_view::npos;
        for (std::size_t i = scanned; i < data.size() && end == std::string_view::npos; ++i) {
            if (data[i] != '\n') continue;
            if (i + 1 < data.size() && (data[i + 1] == '\n' || (data[i + 1] == '\r' && i + 2 < data.size() && data[i + 2] == '\n')))
                end = i;
            else if (i + 1 < data.size() && (data[i + 1] == ' ' || data[i + 1] == '\t'))
                folded = true;
        }
        complete = end != std::string_view::npos;
        if (complete || data.size() > opts.max_header_bytes) co_return std::tuple{beast::error_code{}, std::size_t{0}};
        scanned = data.size() >= 2 ? data.size() - 2 : 0;  // an end may straddle two reads
        deadline.arm();
        auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), use_tuple);
        if (ec) co_return std::tuple{ec, std::size_t{0}};
        buffer.commit(n);
    }
}

// After refusing a request whose body we did not read, closing at once would make the
// kernel answer the unread bytes with a reset that can destroy our response before the
// client reads it. So: stop sending, then read and discard for a short while.
asio::awaitable<void> Server::Impl::linger_close(beast::tcp_stream& stream) {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) co_return;
    stream.expires_after(opts.linger_timeout);
    std::array<char, 16384> sink;
    for (;;) {
        auto [e, n] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
        (void)n;
        if (e) break;
    }
}

std::size_t Server::Impl::context_index(const asio::any_io_executor& ex) const {
    const auto* ctx = &asio::query(ex, asio::execution::context);
    for (std::size_t i = 0; i < contexts.size(); ++i)
        if (contexts[i].get() == ctx) return i;
    return 0;
}

// Writes a short error response to a connection that is not served, and closes it: without
// waiting (the socket buffer of a new connection has room), and without reading its request.
void Server::Impl::refuse(tcp::socket& socket, int status, const std::string& message) {
    {
        // The same error page and headers as any other response.
        Request req;
        req.request_id = "-";
        Response res = error(req, status, message);
        res.set("Retry-After", "1");
        if (hooks.decorate) hooks.decorate(req, res);
        refusal = serialize_head(res, res.body_view().size(), false, false);
        refusal += res.body_view();
    }
    beast::error_code ec;
    socket.non_blocking(true, ec);
    socket.write_some(asio::buffer(refusal), ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
}

bool Server::Impl::admit_address(const std::string& peer) {
    std::lock_guard lock(per_address_mutex);
    auto& n = per_address[peer];
    if (n >= opts.max_connections_per_address) {
        if (n == 0) per_address.erase(peer);
        return false;
    }
    ++n;
    return true;
}

void Server::Impl::release_address(const std::string& peer) {
    std::lock_guard lock(per_address_mutex);
    auto it = per_address.find(peer);
    if (it != per_address.end() && --it->second == 0) per_address.erase(it);
}

asio::awaitable<void> Server::Impl::accept_loop() {
    while (!closing.load()) {
        auto& target_ctx = *contexts[next_context];
        next_context = (next_context + 1) % contexts.size();
        auto [ec, accepted] = co_await acceptor->async_accept(target_ctx, use_tuple);
        tcp::socket socket(std::move(accepted));
        if (ec) {
            if (ec == asio::error::operation_aborted || closing.load()) break;
            // Out of descriptors or similar: back off instead of spinning.
            spdlog::warn("accept failed: {}", ec.message());
            asio::steady_timer t(co_await asio::this_coro::executor, 50ms);
            co_await t.async_wait(use_tuple);
            continue;
        }
        if (connection_count.load() >= opts.max_connections) {
            refuse(socket, 503, "The server is busy. Please try again in a moment.");
            continue;
        }
        beast::error_code rec;
        auto remote = socket.remote_endpoint(rec);
        std::string peer = rec ? std::string("unknown") : remote.address().to_string();
        const bool counted = opts.max_connections_per_address > 0 && !trusted(peer);
        if (counted && !admit_address(peer)) {
            refuse(socket, 429, "Too many connections from your address. Close some and try again.");
            continue;
        }
        connection_count.fetch_add(1);
        asio::co_spawn(target_ctx, session(std::move(socket), std::move(peer), counted), [](const std::exception_ptr& e) {
            if (!e) return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                spdlog::error("connection failed: {}", ex.what());
            }
        });
    }
}

asio::awaitable<void> Server::Impl::drain() {
    auto ex = co_await asio::this_coro::executor;
    draining_flag.store(true);
    if (hooks.draining) hooks.draining();
    spdlog::info("shutting down: readiness failing, {} connection(s) open", connection_count.load());
    if (opts.shutdown_delay.count() > 0) {
        asio::steady_timer t(ex, opts.shutdown_delay);
        co_await t.async_wait(use_tuple);
    }
    closing.store(true);
    beast::error_code ec;
    acceptor->close(ec);
    // Close connections that sit idle between requests; busy ones close after their response.
    for (std::size_t i = 0; i < contexts.size(); ++i) {
        asio::post(*contexts[i], [this, i] {
            for (auto* c : idle_registry[i])
                if (c->idle) c->stream->socket().cancel();
        });
    }
    const auto deadline = std::chrono::steady_clock::now() + opts.shutdown_timeout;
    while (connection_count.load() > 0 && std::chrono::steady_clock::now() < deadline) {
        asio::steady_timer t(ex, 20ms);
        co_await t.async_wait(use_tuple);
    }
    if (connection_count.load() > 0)
        spdlog::warn("shutdown deadline passed with {} connection(s) still open", connection_count.load());
    else
        spdlog::info("all requests finished");
    for (auto& c : contexts) c->stop();
}

Server::Server(ServerOptions options, const Router& router, ServerHooks hooks)
    : impl_(std::make_unique<Impl>(std::move(options), router, std::move(hooks))) {}

Server::~Server() = default;

void Server::listen() {
    auto& ctx = *impl_->contexts[0];
    auto address = asio::ip::make_address(impl_->opts.host);
    tcp::endpoint endpoint(address, impl_->opts.port);
    auto acceptor = std::make_unique<tcp::acceptor>(ctx);
    acceptor->open(endpoint.protocol());
    acceptor->set_option(asio::socket_base::reuse_address(true));
    acceptor->bind(endpoint);
    acceptor->listen(asio::socket_base::max_listen_connections);
    impl_->acceptor = std::move(acceptor);
}

std::string Server::local_address() const {
    auto ep = impl_->acceptor->local_endpoint();
    auto host = ep.address().to_string();
    if (ep.address().is_v6()) host = "[" + host + "]";
    return host + ":" + std::to_string(ep.port());
}

void Server::run() {
    auto& impl = *impl_;
    auto& main_ctx = *impl.contexts[0];
    // sendfile(2) has no MSG_NOSIGNAL: a client closing during a large media response made
    // it raise SIGPIPE, which killed the server (found by bench/run). Errors come as EPIPE.
    if (::signal(SIGPIPE, SIG_IGN) == SIG_ERR) throw std::system_error(errno, std::generic_category(), "cannot ignore SIGPIPE");
    asio::signal_set signals(main_ctx, SIGINT, SIGTERM);
    signals.async_wait([this](const beast::error_code& ec, int sig) {
        if (ec) return;
        spdlog::info("received signal {}", sig);
        shutdown();
    });
    asio::co_spawn(main_ctx, impl.accept_loop(), asio::detached);

    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < impl.contexts.size(); ++i) {
        threads.emplace_back([&impl, i] {
            auto guard = asio::make_work_guard(*impl.contexts[i]);
            impl.contexts[i]->run();
        });
    }
    {
        auto guard = asio::make_work_guard(main_ctx);
        main_ctx.run();
    }
    for (auto& c : impl.contexts) c->stop();
    for (auto& t : threads) t.join();
}

void Server::shutdown() {
    if (impl_->shutdown_started.exchange(true)) return;
    asio::co_spawn(*impl_->contexts[0], impl_->drain(), asio::detached);
}

bool Server::draining() const { return impl_->draining_flag.load(); }
std::size_t Server::connections() const { return impl_->connection_count.load(); }
std::size_t Server::in_flight() const { return impl_->in_flight_count.load(); }

}  // namespace photoshare::http
