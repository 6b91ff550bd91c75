// When a request must ask Redis (a session this server has not read yet), is the blocking
// client on the worker pool (kv::open + http::Workers) slower than the asynchronous client on
// the I/O thread's own io_context (kv::open_async, hiredis's async API)? This measurement is
// why the server reads sessions from Redis with the second.
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
#include "kv/async_redis.hpp"
#include "kv/kv.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
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
    const std::string url = "redis://" + host + ":" + std::to_string(port) + "/0";
    auto store = kv::open(url);
    auto async = kv::open_async(url);
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
                auto r = drive(ioc, c, seconds, [&]() -> asio::awaitable<void> { co_await async->get(key); });
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
