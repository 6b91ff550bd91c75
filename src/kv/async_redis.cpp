// hiredis's asynchronous API on Asio. hiredis says when it wants to read or write its socket
// (ev.addRead/delRead/addWrite/delWrite), a stream_descriptor waits for that on the
// io_context, and the context's thread hands the socket back to hiredis. Lifetimes, which
// hiredis's async API makes easy to get wrong:
//   - hiredis frees its context itself after a failed connect or a disconnect; ev.cleanup is
//     called every time it frees one, so that is where the Connection forgets it;
//   - every command's reply callback is called exactly once, with NULL when the context is
//     freed first, so that callback is the one place a call completes;
//   - handlers hold the Connection (and a call's Pending) by shared or weak pointer, never by
//     a raw one, so a handler that runs after a close finds the state it needs;
//   - completions are posted, so a coroutine never resumes inside a hiredis callback.
#include "kv/async_redis.hpp"

#include "kv/remote.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <atomic>
#include <exception>
#include <unordered_map>

namespace photoshare::kv {

namespace {

namespace asio = boost::asio;
using detail::Breaker;
using detail::RedisOptions;

// What every connection of one client shares, across io_contexts.
std::atomic<std::uint64_t> next_client_id{1};

struct Client {
    Client(RedisOptions o, std::shared_ptr<Breaker> b)
        : options(std::move(o)), name("redis " + options.server.text()), breaker_ptr(std::move(b)), breaker(*breaker_ptr), id(next_client_id++) {}
    const RedisOptions options;
    const std::string name;  // "redis host:port", for messages
    const std::shared_ptr<Breaker> breaker_ptr;  // shared with the blocking client, when made by it
    Breaker& breaker;
    const std::uint64_t id;  // the client's connections in each io_context's service
};

// One call in flight: completes exactly once, from the reply callback.
struct Pending {
    explicit Pending(const asio::any_io_executor& ex) : timer(ex) {}
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    virtual ~Pending() = default;
    Pending(const Pending&) = delete;
    Pending& operator=(const Pending&) = delete;
    virtual void complete(std::exception_ptr error, std::optional<std::string> value) = 0;
    asio::steady_timer timer;
};

template <class Handler>
struct PendingFor final : Pending {
    PendingFor(const asio::any_io_executor& ex, Handler h) : Pending(ex), executor(ex), handler(std::move(h)) {}
    void complete(std::exception_ptr error, std::optional<std::string> value) override {
        timer.cancel();
        asio::post(executor, [h = std::move(handler), error, value = std::move(value)]() mutable { std::move(h)(error, std::move(value)); });
    }
    asio::any_io_executor executor;
    Handler handler;
};

class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(asio::any_io_executor ex, std::shared_ptr<Client> client) : ex_(std::move(ex)), client_(std::move(client)), connect_timer_(ex_) {}
    ~Connection() { close("closed"); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    bool broken() const { return ac_ == nullptr; }

    // Starts connecting; AUTH and SELECT are queued first. Throws Unavailable if hiredis
    // cannot even start.
    void start() {
        const auto& o = client_->options;
        ac_ = redisAsyncConnect(o.server.host.c_str(), o.server.port);
        if (!ac_) throw Unavailable(client_->name + ": cannot allocate a connection");
        if (ac_->err) {
            const std::string error = ac_->errstr;
            redisAsyncFree(ac_);
            ac_ = nullptr;
            throw Unavailable(client_->name + ": connect: " + error);
        }
        ac_->data = this;
        fd_ = std::make_unique<asio::posix::stream_descriptor>(ex_, ac_->c.fd);
        ac_->ev.data = this;
        ac_->ev.addRead = [](void* p) { static_cast<Connection*>(p)->want(true, true); };
        ac_->ev.delRead = [](void* p) { static_cast<Connection*>(p)->want(true, false); };
        ac_->ev.addWrite = [](void* p) { static_cast<Connection*>(p)->want(false, true); };
        ac_->ev.delWrite = [](void* p) { static_cast<Connection*>(p)->want(false, false); };
        ac_->ev.cleanup = [](void* p) { static_cast<Connection*>(p)->forget(); };
        redisAsyncSetConnectCallback(ac_, [](const redisAsyncContext* ac, int status) {
            auto* self = static_cast<Connection*>(ac->data);
            if (status == REDIS_OK) {
                self->connected_ = true;
                self->connect_timer_.cancel();
            } else {
                self->error_ = std::string("connect: ") + ac->errstr;
                self->refused_ = detail::refused_text(ac->errstr);
            }
        });
        if (!o.password.empty()) {
            if (o.user.empty())
                redisAsyncCommand(ac_, &Connection::on_setup, nullptr, "AUTH %b", o.password.data(), o.password.size());
            else
                redisAsyncCommand(ac_, &Connection::on_setup, nullptr, "AUTH %b %b", o.user.data(), o.user.size(), o.password.data(),
                                  o.password.size());
        }
        if (o.db != 0) redisAsyncCommand(ac_, &Connection::on_setup, nullptr, "SELECT %d", o.db);
        connect_timer_.expires_after(o.net.connect_timeout);
        connect_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
            auto self = weak.lock();
            if (ec || !self || self->connected_) return;
            self->close("connect: timed out after " + std::to_string(self->client_->options.net.connect_timeout.count()) + " ms");
        });
    }

    // GET key; `pending` completes exactly once.
    void get(const std::string& key, const std::shared_ptr<Pending>& pending) {
        if (!ac_) {
            pending->complete(std::make_exception_ptr(Unavailable(client_->name + ": GET: " + error_)), std::nullopt);
            return;
        }
        auto* hold = new std::shared_ptr<Pending>(pending);
        // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg): hiredis's printf-like API
        if (redisAsyncCommand(ac_, &Connection::on_reply, hold, "GET %b", key.data(), key.size()) != REDIS_OK) {
            delete hold;
            pending->complete(std::make_exception_ptr(Unavailable(client_->name + ": GET: the connection is closing")), std::nullopt);
            return;
        }
        pending->timer.expires_after(client_->options.net.timeout);
        pending->timer.async_wait([weak = weak_from_this(), call = std::weak_ptr<Pending>(pending)](boost::system::error_code ec) {
            auto self = weak.lock();
            if (ec || !self || call.expired()) return;
            // The late answer could be read as another call's: the connection goes.
            self->close("timed out after " + std::to_string(self->client_->options.net.timeout.count()) + " ms");
        });
    }

    // Frees the hiredis context (at once, or when its callback returns): every call in flight
    // completes with Unavailable naming why.
    void close(const std::string& why) {
        if (!ac_) return;
        if (error_.empty()) error_ = why;
        redisAsyncFree(ac_);
    }

private:
    static void on_setup(redisAsyncContext* ac, void* r, void*) {
        auto* self = static_cast<Connection*>(ac->data);
        const auto* reply = static_cast<const redisReply*>(r);
        if (reply && reply->type == REDIS_REPLY_ERROR) self->close("AUTH or SELECT failed: " + std::string(reply->str, reply->len));
    }

    static void on_reply(redisAsyncContext* ac, void* r, void* priv) {
        std::unique_ptr<std::shared_ptr<Pending>> hold(static_cast<std::shared_ptr<Pending>*>(priv));
        auto* self = static_cast<Connection*>(ac->data);
        const auto* reply = static_cast<const redisReply*>(r);
        const std::string& name = self->client_->name;
        if (!reply) {
            const std::string why = self->error_.empty() ? (ac->errstr[0] ? std::string(ac->errstr) : "connection lost") : self->error_;
            if (self->refused_) self->client_->breaker.inconclusive();  // see detail::Refused
            else self->client_->breaker.failed(why, (*hold)->started);
            (*hold)->complete(std::make_exception_ptr(Unavailable(name + ": GET: " + why)), std::nullopt);
        } else if (reply->type == REDIS_REPLY_STRING) {
            self->client_->breaker.succeeded();
            (*hold)->complete(nullptr, std::string(reply->str, reply->len));
        } else if (reply->type == REDIS_REPLY_NIL) {
            self->client_->breaker.succeeded();
            (*hold)->complete(nullptr, std::nullopt);
        } else {
            const std::string why = reply->type == REDIS_REPLY_ERROR ? std::string(reply->str, reply->len) : "unexpected reply";
            (*hold)->complete(std::make_exception_ptr(Unavailable(name + ": GET: " + why)), std::nullopt);
        }
    }

    void want(bool read, bool on) {
        bool& flag = read ? reading_ : writing_;
        if (flag == on) return;
        flag = on;
        if (on) arm(read);
    }

    void arm(bool read) {
        fd_->async_wait(read ? asio::posix::stream_descriptor::wait_read : asio::posix::stream_descriptor::wait_write,
                        [self = shared_from_this(), read](boost::system::error_code ec) {
                            if (ec || !self->ac_) return;
                            if (read) {
                                redisAsyncHandleRead(self->ac_);
                                if (self->ac_ && self->reading_) self->arm(true);
                            } else {
                                redisAsyncHandleWrite(self->ac_);
                                if (self->ac_ && self->writing_) self->arm(false);
                            }
                        });
    }

    // hiredis is freeing its context (and will close the socket itself).
    void forget() {
        if (fd_) {
            boost::system::error_code ignored;
            fd_->cancel(ignored);
            (void)fd_->release();
        }
        reading_ = writing_ = false;
        ac_ = nullptr;
        if (error_.empty()) error_ = "connection lost";
    }

    asio::any_io_executor ex_;
    std::shared_ptr<Client> client_;
    redisAsyncContext* ac_ = nullptr;
    std::unique_ptr<asio::posix::stream_descriptor> fd_;
    asio::steady_timer connect_timer_;
    bool reading_ = false, writing_ = false, connected_ = false, refused_ = false;
    std::string error_;  // why it closed
};

// The connections of every client in one io_context, closed with it. Used only from the
// context's own thread (the server runs one thread per context).
class Connections final : public asio::execution_context::service {
public:
    // The key asio finds a service by (an empty object; its constructor does not throw).
    static inline asio::execution_context::id id;  // NOLINT(cert-err58-cpp): see above
    explicit Connections(asio::execution_context& ctx) : asio::execution_context::service(ctx) {}

    std::shared_ptr<Connection> get(const asio::any_io_executor& ex, const std::shared_ptr<Client>& client) {
        auto& slot = by_client_[client->id];
        if (!slot || slot->broken()) {
            slot = std::make_shared<Connection>(ex, client);
            slot->start();
        }
        return slot;
    }

private:
    void shutdown() override {
        for (auto& [id, connection] : by_client_) connection->close("the server is stopping");
        by_client_.clear();
    }
    std::unordered_map<std::uint64_t, std::shared_ptr<Connection>> by_client_;
};

class AsyncRedisClient final : public AsyncRedis {
public:
    AsyncRedisClient(RedisOptions options, std::shared_ptr<Breaker> breaker)
        : client_(std::make_shared<Client>(std::move(options), std::move(breaker))) {}

    asio::awaitable<std::optional<std::string>> get(std::string key) override {
        if (!client_->breaker.allow())
            throw Unavailable(client_->name + ": GET: server marked down for " + std::to_string(client_->options.net.retry.count()) +
                              " ms after: " + client_->breaker.last_error());
        auto ex = co_await asio::this_coro::executor;
        std::shared_ptr<Connection> connection;
        const auto started = std::chrono::steady_clock::now();
        try {
            connection = asio::use_service<Connections>(asio::query(ex, asio::execution::context)).get(ex, client_);
        } catch (const Unavailable& e) {
            client_->breaker.failed(e.what(), started);
            throw;
        }
        co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr, std::optional<std::string>)>(
            [&](auto handler) {
                auto pending = std::make_shared<PendingFor<decltype(handler)>>(ex, std::move(handler));
                connection->get(key, pending);
            },
            asio::use_awaitable);
    }

private:
    std::shared_ptr<Client> client_;
};

}  // namespace

namespace detail {
std::unique_ptr<AsyncRedis> make_async_redis(RedisOptions options, std::shared_ptr<Breaker> breaker) {
    return std::make_unique<AsyncRedisClient>(std::move(options), std::move(breaker));
}
}  // namespace detail

std::unique_ptr<AsyncRedis> open_async(const std::string& url) {
    constexpr std::string_view scheme = "redis://";
    if (!url.starts_with(scheme)) return nullptr;
    auto options = detail::parse_redis_url(std::string_view(url).substr(scheme.size()));
    auto breaker = std::make_shared<Breaker>(options.net.retry);
    return detail::make_async_redis(std::move(options), std::move(breaker));
}

}  // namespace photoshare::kv
