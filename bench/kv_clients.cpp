// When a request must ask Redis (a session this server has not read yet, a visitor whose
// own upload is newer than the server's copy of the feed generation), is the blocking client
// on the worker pool (what the server does: kv::open + http::Workers) slower than an
// asynchronous client on the I/O thread's own io_context (hiredis's async API with a small
// Asio adapter, written here only to measure it)?
//
// One I/O thread, as one of the server's: C coroutines each GET one key in a loop for S
// seconds, and the program reports operations a second and the process's CPU time per
// operation (all its threads: the hop to a worker and back is CPU too).
//
//   bench/kv_clients HOST PORT [--seconds S] [--concurrency C]...   (prints CSV)
//
// memcached has no asynchronous client in Debian (libmemcached blocks), and a hand-written
// protocol is not worth it where the near copies leave so few remote calls: it is not
// measured here.
#include "http/runtime.hpp"
#include "kv/kv.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
using namespace photoshare;
using Clock = std::chrono::steady_clock;

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// hiredis's event hooks on an Asio descriptor: hiredis says when it wants to read or write,
// the descriptor waits for it on the io_context.
class AsioRedis {
public:
    AsioRedis(asio::io_context& ioc, const std::string& host, int port) : ioc_(ioc) {
        ac_ = redisAsyncConnect(host.c_str(), port);
        if (!ac_ || ac_->err) throw std::runtime_error("redisAsyncConnect failed");
        fd_ = std::make_unique<asio::posix::stream_descriptor>(ioc_, ac_->c.fd);
        ac_->ev.data = this;
        ac_->ev.addRead = [](void* p) { static_cast<AsioRedis*>(p)->want(true, true); };
        ac_->ev.delRead = [](void* p) { static_cast<AsioRedis*>(p)->want(true, false); };
        ac_->ev.addWrite = [](void* p) { static_cast<AsioRedis*>(p)->want(false, true); };
        ac_->ev.delWrite = [](void* p) { static_cast<AsioRedis*>(p)->want(false, false); };
        ac_->ev.cleanup = [](void* p) { static_cast<AsioRedis*>(p)->fd_->release(); };  // hiredis closes it
    }
    ~AsioRedis() {
        if (ac_) redisAsyncFree(ac_);
    }
    AsioRedis(const AsioRedis&) = delete;
    AsioRedis& operator=(const AsioRedis&) = delete;

    // GET key; completes on the io_context with the value's size (-1: nil).
    asio::awaitable<long> get(const std::string& key) {
        co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(long)>(
            [this, &key](auto handler) {
                using H = decltype(handler);
                auto* h = new H(std::move(handler));
                redisAsyncCommand(
                    ac_,
                    [](redisAsyncContext*, void* r, void* priv) {
                        std::unique_ptr<H> done(static_cast<H*>(priv));
                        auto* reply = static_cast<redisReply*>(r);
                        (*done)(reply && reply->type == REDIS_REPLY_STRING ? static_cast<long>(reply->len) : -1L);
                    },
                    h, "GET %b", key.data(), key.size());
            },
            asio::use_awaitable);
    }

private:
    void want(bool read, bool on) {
        bool& flag = read ? reading_ : writing_;
        if (flag == on) return;
        flag = on;
        if (on) arm(read);
    }
    void arm(bool read) {
        fd_->async_wait(read ? asio::posix::stream_descriptor::wait_read : asio::posix::stream_descriptor::wait_write,
                        [this, read](boost::system::error_code ec) {
                            if (ec) return;
                            if (read) {
                                redisAsyncHandleRead(ac_);
                                if (reading_) arm(true);
                            } else {
                                redisAsyncHandleWrite(ac_);
                                if (writing_) arm(false);
                            }
                        });
    }

    asio::io_context& ioc_;
    redisAsyncContext* ac_ = nullptr;
    std::unique_ptr<asio::posix::stream_descriptor> fd_;
    bool reading_ = false, writing_ = false;
};

struct Result {
    double ops_per_second;
    double cpu_us_per_op;
};

template <class Get>
Result drive(asio::io_context& ioc, int concurrency, double seconds, Get get) {
    long ops = 0;  // the coroutines all run on this one thread
    int running = concurrency;
    const auto until = Clock::now() + std::chrono::duration<double>(seconds);
    for (int i = 0; i < concurrency; ++i) {
        asio::co_spawn(
            ioc,
            [&]() -> asio::awaitable<void> {
                while (Clock::now() < until) {
                    co_await get();
                    ++ops;
                }
                // The async client's descriptor always waits to read: stop when all are done.
                if (--running == 0) ioc.stop();
            },
            asio::detached);
    }
    const double cpu0 = cpu_seconds();
    const auto t0 = Clock::now();
    ioc.run();
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    const double cpu = cpu_seconds() - cpu0;
    ioc.restart();
    return {static_cast<double>(ops) / wall, cpu * 1e6 / static_cast<double>(ops)};
}

}  // namespace

int main(int argc, char** argv) try {
    if (argc < 3) {
        std::cerr << "usage: kv_clients HOST PORT [--seconds S] [--concurrency C]...\n";
        return 2;
    }
    const std::string host = argv[1];
    const int port = std::stoi(argv[2]);
    double seconds = 5;
    std::vector<int> concurrency;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::stod(argv[i + 1]);
        else if (std::strcmp(argv[i], "--concurrency") == 0) concurrency.push_back(std::stoi(argv[i + 1]));
    }
    if (concurrency.empty()) concurrency = {1, 16, 64};

    const std::string key = "bench:session:0123456789abcdef";
    const std::string value(120, 's');  // about a session record's size
    auto store = kv::open("redis://" + host + ":" + std::to_string(port) + "/0");
    store->set(key, value, std::chrono::seconds(600));
    http::Workers workers(8);  // as a 2-core server has them (4 per core, at least 8)

    std::cout << "client,concurrency,ops_per_second,cpu_us_per_op\n";
    for (int c : concurrency) {
        for (int round = 0; round < 2; ++round) {  // alternate, twice
            {
                asio::io_context ioc(1);
                auto r = drive(ioc, c, seconds, [&]() -> asio::awaitable<void> {
                    co_await workers.call([&] { return store->get(key); });
                });
                std::printf("blocking_pool,%d,%.0f,%.2f\n", c, r.ops_per_second, r.cpu_us_per_op);
            }
            {
                asio::io_context ioc(1);
                AsioRedis redis(ioc, host, port);
                auto r = drive(ioc, c, seconds, [&]() -> asio::awaitable<void> { co_await redis.get(key); });
                std::printf("async_io_thread,%d,%.0f,%.2f\n", c, r.ops_per_second, r.cpu_us_per_op);
            }
            (void)std::fflush(stdout);
        }
    }
    workers.stop();
    return 0;
} catch (const std::exception& e) {
    std::cerr << "kv_clients: " << e.what() << "\n";
    return 1;
}
