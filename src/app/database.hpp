// The repository as handlers use it: every call runs on the worker pool (the database
// client blocks) and its time is recorded in /metrics by operation
// (photoshare_db_query_duration_seconds{op}).
#pragma once

#include "http/runtime.hpp"
#include "metrics/metrics.hpp"
#include "store/repository.hpp"

#include <chrono>
#include <mutex>
#include <type_traits>
#include <unordered_map>

namespace photoshare::app {

namespace asio = boost::asio;

class Database {
public:
    Database(store::Repository& repo, http::Workers& workers, metrics::Registry& metrics)
        : repo_(repo), workers_(workers), metrics_(metrics) {}

    // f(repository) on a worker, timed as `op`.
    template <class F>
    auto call(const char* op, F f) -> asio::awaitable<std::invoke_result_t<F&, store::Repository&>> {
        co_return co_await workers_.call([this, op, f = std::move(f)]() mutable { return timed(op, f); });
    }
    // f(repository) on this thread (already a worker), timed as `op`.
    template <class F>
    auto timed(const char* op, F&& f) -> std::invoke_result_t<F&, store::Repository&> {
        struct Record {
            Database* db;
            const char* op;
            std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
            ~Record() { db->record(op, std::chrono::steady_clock::now() - start); }
        } record{this, op};
        return f(repo_);
    }

    store::Repository& repository() { return repo_; }

private:
    void record(const char* op, std::chrono::nanoseconds elapsed);

    store::Repository& repo_;
    http::Workers& workers_;
    metrics::Registry& metrics_;
    std::mutex mutex_;
    std::unordered_map<const char*, metrics::Histogram*> histograms_;
};

}  // namespace photoshare::app
