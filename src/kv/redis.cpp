// redis:// — one Redis server through hiredis 0.14's blocking API.
//
// Threads: a redisContext is one connection and not thread-safe; each call leases one from
// a bounded pool. A new connection does AUTH and SELECT (pipelined: one round trip). A
// connection goes back to the pool only after a complete answer; after an I/O error or a
// timeout it is closed, so an answer that arrives late is never read as another's.
// A pooled connection that became readable while idle (the server closed it, e.g. it was
// restarted) is closed before use instead of failing a call.
//
// Failure: connect_timeout bounds the TCP connect, timeout each read and write (SO_RCVTIMEO
// and SO_SNDTIMEO). A failure marks the server down in a Breaker: calls fail at once for
// retry_ms, then one call tries again and the first success brings the server back.
// Host names are resolved by getaddrinfo, which no timeout bounds: use addresses or a
// local resolver for production caches.
//
// Pub/sub: each subscribe() has a connection and a thread of its own, which waits in poll(2)
// on that connection and on a pipe that wakes it to stop, so destroying a subscription never
// waits for a timeout. A broken connection is made again every retry_ms.
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <system_error>
#include <thread>

#include "kv/remote.hpp"

namespace photoshare::kv::detail {

namespace {

struct FreeReply {
    void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, FreeReply>;

timeval to_timeval(std::chrono::milliseconds ms) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
    return tv;
}

// hiredis writes with write(2), which raises SIGPIPE when the server has gone away, and
// SIGPIPE kills a process that has not ignored it. This blocks it in the calling thread
// for the duration of a call and discards one raised meanwhile (the error is reported by
// write's EPIPE anyway).
class SigpipeGuard {
public:
    SigpipeGuard() {
        sigemptyset(&pipe_);
        sigaddset(&pipe_, SIGPIPE);
        sigset_t pending;
        sigemptyset(&pending);
        sigpending(&pending);
        was_pending_ = sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    }
    ~SigpipeGuard() {
        if (!was_pending_) {
            const timespec zero{};
            while (sigtimedwait(&pipe_, nullptr, &zero) == SIGPIPE) {
            }
        }
        pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }
    SigpipeGuard(const SigpipeGuard&) = delete;
    SigpipeGuard& operator=(const SigpipeGuard&) = delete;

private:
    sigset_t pipe_{}, old_{};
    bool was_pending_ = false;
};

// Increments, creating the key as 0 with the ttl first when it is absent, in one atomic
// step; an existing key keeps its expiry. A non-integer value or an overflow makes INCRBY
// fail and changes nothing.
constexpr const char* incr_script =
    "if tonumber(ARGV[2]) > 0 then "
    "redis.call('SET', KEYS[1], '0', 'EX', ARGV[2], 'NX') "
    "else redis.call('SET', KEYS[1], '0', 'NX') end "
    "return redis.call('INCRBY', KEYS[1], ARGV[1])";

bool is_ok(const redisReply* r) {
    return r->type == REDIS_REPLY_STATUS && std::string_view(r->str, r->len) == "OK";
}

using Connect = std::function<redisContext*()>;  // a new connection, AUTH and SELECT done; throws Unavailable

class RedisSubscription final : public Subscription {
public:
    RedisSubscription(Connect connect, std::string channel, Store::Listener listener, std::chrono::milliseconds retry)
        : connect_(std::move(connect)), channel_(std::move(channel)), listener_(std::move(listener)), retry_(retry) {
        if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
        thread_ = std::thread([this] { run(); });
    }
    ~RedisSubscription() override {
        stop_ = true;
        [[maybe_unused]] auto n = ::write(wake_[1], "x", 1);
        thread_.join();
        ::close(wake_[0]);
        ::close(wake_[1]);
    }
    RedisSubscription(const RedisSubscription&) = delete;
    RedisSubscription& operator=(const RedisSubscription&) = delete;

private:
    void run() {
        while (!stop_) {
            try {
                listen();
            } catch (const std::exception&) {
                // The server is down or closed the connection: try again after retry_.
            }
            pollfd wake{wake_[0], POLLIN, 0};
            if (!stop_) ::poll(&wake, 1, static_cast<int>(retry_.count()));
        }
    }

    // One connection's life: subscribe, then deliver messages until it breaks or we stop.
    void listen() {
        std::unique_ptr<redisContext, decltype(&redisFree)> c(connect_(), &redisFree);
        {
            SigpipeGuard guard;
            redisAppendCommand(c.get(), "SUBSCRIBE %b", channel_.data(), channel_.size());
            for (int done = 0; !done;)
                if (redisBufferWrite(c.get(), &done) != REDIS_OK) throw Unavailable("redis: SUBSCRIBE: write failed");
        }
        for (;;) {
            void* raw = nullptr;
            while (redisGetReplyFromReader(c.get(), &raw) == REDIS_OK && raw) {
                Reply r(static_cast<redisReply*>(raw));
                raw = nullptr;
                // ["message", channel, payload]; the ["subscribe", channel, 1] confirmation is not a message.
                if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[0]->type == REDIS_REPLY_STRING &&
                    std::string_view(r->element[0]->str, r->element[0]->len) == "message" && r->element[2]->type == REDIS_REPLY_STRING)
                    listener_(std::string_view(r->element[2]->str, r->element[2]->len));
            }
            if (c->err) throw Unavailable("redis: subscription: protocol error");
            pollfd fds[2] = {{c->fd, POLLIN, 0}, {wake_[0], POLLIN, 0}};
            if (::poll(fds, 2, -1) < 0 && errno != EINTR) throw Unavailable("redis: subscription: poll failed");
            if (stop_) return;
            if (fds[0].revents && redisBufferRead(c.get()) != REDIS_OK) throw Unavailable("redis: subscription: connection lost");
        }
    }

    Connect connect_;
    const std::string channel_;
    Store::Listener listener_;
    const std::chrono::milliseconds retry_;
    int wake_[2] = {-1, -1};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

class RedisStore final : public Store {
public:
    explicit RedisStore(RedisOptions options)
        : options_(std::move(options)),
          name_("redis " + options_.server.text()),
          pool_(options_.net.pool, &redisFree),
          breaker_(std::make_shared<Breaker>(options_.net.retry)) {}

    std::optional<std::string> get(std::string_view key) override {
        Reply r = call("GET", [&](redisContext* c) { return redisCommand(c, "GET %b", key.data(), key.size()); });
        if (r->type == REDIS_REPLY_STRING) return std::string(r->str, r->len);
        if (r->type == REDIS_REPLY_NIL) return std::nullopt;
        unexpected("GET", r.get());
    }

    void set(std::string_view key, std::string_view value, std::chrono::seconds ttl) override {
        const long long seconds = checked_ttl(ttl);
        Reply r = call("SET", [&](redisContext* c) {
            return seconds ? redisCommand(c, "SET %b %b EX %lld", key.data(), key.size(), value.data(), value.size(), seconds)
                           : redisCommand(c, "SET %b %b", key.data(), key.size(), value.data(), value.size());
        });
        if (!is_ok(r.get())) unexpected("SET", r.get());
    }

    bool add(std::string_view key, std::string_view value, std::chrono::seconds ttl) override {
        const long long seconds = checked_ttl(ttl);
        Reply r = call("SET NX", [&](redisContext* c) {
            return seconds ? redisCommand(c, "SET %b %b EX %lld NX", key.data(), key.size(), value.data(), value.size(), seconds)
                           : redisCommand(c, "SET %b %b NX", key.data(), key.size(), value.data(), value.size());
        });
        if (is_ok(r.get())) return true;
        if (r->type == REDIS_REPLY_NIL) return false;
        unexpected("SET NX", r.get());
    }

    void erase(std::string_view key) override {
        Reply r = call("DEL", [&](redisContext* c) { return redisCommand(c, "DEL %b", key.data(), key.size()); });
        if (r->type != REDIS_REPLY_INTEGER) unexpected("DEL", r.get());
    }

    std::int64_t incr(std::string_view key, std::int64_t delta, std::chrono::seconds ttl) override {
        const long long seconds = checked_ttl(ttl);
        Reply r = call("INCRBY", [&](redisContext* c) {
            return redisCommand(c, "EVAL %s 1 %b %lld %lld", incr_script, key.data(), key.size(),
                                static_cast<long long>(delta), seconds);
        });
        if (r->type == REDIS_REPLY_INTEGER) return r->integer;
        if (r->type == REDIS_REPLY_ERROR) {
            const std::string_view error(r->str, r->len);
            if (error.find("overflow") != std::string_view::npos) {
                throw std::invalid_argument("kv incr: integer overflow");
            }
            if (error.find("not an integer") != std::string_view::npos || error.starts_with("WRONGTYPE")) {
                throw std::invalid_argument("kv incr: stored value is not an integer");
            }
        }
        unexpected("INCRBY", r.get());
    }

    // PING, on a pooled connection or a new one; it ignores the Breaker (this is the call
    // that finds out) and updates it.
    void check() override {
        Reply r = call("PING", [](redisContext* c) { return redisCommand(c, "PING"); }, true);
        if (r->type != REDIS_REPLY_STATUS || std::string_view(r->str, r->len) != "PONG") unexpected("PING", r.get());
    }

    void publish(std::string_view channel, std::string_view message) override {
        Reply r = call("PUBLISH", [&](redisContext* c) {
            return redisCommand(c, "PUBLISH %b %b", channel.data(), channel.size(), message.data(), message.size());
        });
        if (r->type != REDIS_REPLY_INTEGER) unexpected("PUBLISH", r.get());
    }

    std::unique_ptr<AsyncRedis> async_client() override { return make_async_redis(options_, breaker_); }

    std::unique_ptr<Subscription> subscribe(std::string channel, Listener listener) override {
        return std::make_unique<RedisSubscription>([this] { return connect(); }, std::move(channel), std::move(listener),
                                                   options_.net.retry);
    }

    std::string describe() const override {
        std::string out = "redis://";
        if (!options_.password.empty()) out += options_.user + ":***@";
        return out + options_.server.text() + "/" + std::to_string(options_.db) + "?" + options_.net.query();
    }

private:
    [[noreturn]] void unexpected(const char* what, const redisReply* r) const {
        if (r->type == REDIS_REPLY_ERROR) {
            throw Unavailable(name_ + ": " + what + ": " + std::string(r->str, r->len));
        }
        throw Unavailable(name_ + ": " + what + ": unexpected reply type " + std::to_string(r->type));
    }

    std::string io_error(const redisContext* c) const {
        if (c->err == REDIS_ERR_IO &&
            (errno == EAGAIN || errno == EWOULDBLOCK || std::strstr(c->errstr, "temporarily unavailable"))) {
            return "timed out after " + std::to_string(options_.net.timeout.count()) + " ms";
        }
        if (c->err == REDIS_ERR_EOF) return "the server closed the connection";
        return c->errstr[0] ? std::string(c->errstr) : "I/O error";
    }

    redisContext* connect() {
        redisContext* c = redisConnectWithTimeout(options_.server.host.c_str(), options_.server.port,
                                                  to_timeval(options_.net.connect_timeout));
        if (!c) throw Unavailable(name_ + ": cannot allocate a connection");
        std::unique_ptr<redisContext, decltype(&redisFree)> hold(c, &redisFree);
        if (c->err) {
            const bool timed_out = std::strstr(c->errstr, "timed out") || std::strstr(c->errstr, "temporarily");
            if (refused_text(c->errstr)) throw Refused(name_ + ": connect: " + std::string(c->errstr));
            throw Unavailable(name_ + ": connect: " +
                              (timed_out ? "timed out after " + std::to_string(options_.net.connect_timeout.count()) + " ms"
                                         : std::string(c->errstr)));
        }
        // hiredis 0.14 opens its socket without close-on-exec: keep it out of processes
        // this one starts.
        ::fcntl(c->fd, F_SETFD, ::fcntl(c->fd, F_GETFD) | FD_CLOEXEC);
        if (redisSetTimeout(c, to_timeval(options_.net.timeout)) != REDIS_OK) {
            throw Unavailable(name_ + ": cannot set the socket timeout");
        }
        redisEnableKeepAlive(c);
        std::vector<const char*> steps;
        if (!options_.password.empty()) {
            if (options_.user.empty()) {
                redisAppendCommand(c, "AUTH %b", options_.password.data(), options_.password.size());
            } else {
                redisAppendCommand(c, "AUTH %b %b", options_.user.data(), options_.user.size(),
                                   options_.password.data(), options_.password.size());
            }
            steps.push_back("AUTH");
        }
        if (options_.db != 0) {
            redisAppendCommand(c, "SELECT %d", options_.db);
            steps.push_back("SELECT");
        }
        for (const char* step : steps) {
            void* raw = nullptr;
            if (redisGetReply(c, &raw) != REDIS_OK) throw Unavailable(name_ + ": " + step + ": " + io_error(c));
            Reply r(static_cast<redisReply*>(raw));
            if (r->type == REDIS_REPLY_ERROR) {
                throw Unavailable(name_ + ": " + step + " failed: " + std::string(r->str, r->len));
            }
        }
        return hold.release();
    }

    // Something to read on an idle connection means the server closed it (or sent what
    // no request asked for): either way it is not usable.
    static bool stale(const redisContext* c) {
        pollfd p{c->fd, POLLIN, 0};
        return ::poll(&p, 1, 0) != 0;
    }

    template <class Command>
    Reply call(const char* what, Command&& command, bool probe = false) {
        SigpipeGuard guard;
        if (!probe && !breaker_->allow()) {
            throw Unavailable(name_ + ": " + what + ": server marked down for " +
                              std::to_string(options_.net.retry.count()) + " ms after: " + breaker_->last_error());
        }
        const auto started = Clock::now();
        const auto deadline = started + options_.net.timeout;
        for (;;) {
            auto lease = pool_.acquire(
                deadline,
                [this, started] {
                    try {
                        return connect();
                    } catch (const Refused&) {
                        breaker_->inconclusive();
                        throw;
                    } catch (const Unavailable& e) {
                        std::string_view error = e.what();
                        if (error.starts_with(name_ + ": ")) error.remove_prefix(name_.size() + 2);
                        breaker_->failed(std::string(error), started);
                        throw;
                    }
                },
                false, name_);
            redisContext* c = lease.get();
            if (!lease.fresh() && stale(c)) {
                lease.discard();
                continue;
            }
            errno = 0;
            auto* raw = static_cast<redisReply*>(command(c));
            if (!raw) {
                const std::string error = io_error(c);
                lease.discard();
                breaker_->failed(error, started);
                throw Unavailable(name_ + ": " + what + ": " + error);
            }
            lease.keep();
            breaker_->succeeded();
            return Reply(raw);
        }
    }

    const RedisOptions options_;
    const std::string name_;  // "redis host:port", for messages
    Pool<redisContext> pool_;
    std::shared_ptr<Breaker> breaker_;  // shared with the asynchronous client: one verdict per server
};

}  // namespace

std::unique_ptr<Store> open_redis(RedisOptions options) {
    return std::make_unique<RedisStore>(std::move(options));
}

}  // namespace photoshare::kv::detail
