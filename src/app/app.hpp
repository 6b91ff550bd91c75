// The application: builds every service from the configuration, registers the routes and
// gives the server its hooks. Handlers live in pages.cpp, api.cpp, media.cpp and ops.cpp.
#pragma once

#include "app/access_log.hpp"
#include "app/feed.hpp"
#include "app/knobs.hpp"
#include "app/media_urls.hpp"
#include "app/server_info.hpp"
#include "app/media_cache.hpp"
#include "app/read_your_writes.hpp"
#include "app/sessions.hpp"
#include "app/uploads.hpp"
#include "app/views.hpp"
#include "auth/password.hpp"
#include "auth/rate_limit.hpp"
#include "blob/blob.hpp"
#include "config/config.hpp"
#include "http/router.hpp"
#include "http/runtime.hpp"
#include "http/server.hpp"
#include "kv/kv.hpp"
#include "metrics/metrics.hpp"
#include "store/repository.hpp"

#include <boost/json/object.hpp>

#include <atomic>
#include <mutex>
#include <filesystem>
#include <memory>

namespace photoshare::app {

namespace asio = boost::asio;

class App {
public:
    explicit App(config::Config config);
    ~App();

    void add_routes(http::Router& router);
    http::ServerHooks hooks();
    http::ServerOptions server_options() const;
    // The server whose state /readyz and /metrics report; set before it runs.
    void attach(const http::Server& server, const std::string& bound_address);

    // --- services, shared by the handler files ---
    config::Config config;
    ServerInfo info;
    metrics::Registry metrics;
    http::Workers workers;        // database, sessions, cache, hashing, disk
    http::Workers image_workers;  // decoding: bounded so memory stays bounded
    http::Workers probe_workers{2};  // readiness checks, which may hang on a dead dependency
    std::unique_ptr<store::Repository> repo;
    std::unique_ptr<blob::Store> blobs;
    std::unique_ptr<MediaUrls> media_urls;
    std::unique_ptr<http::Workers> stream_workers;  // proxying objects from an object store
    std::unique_ptr<MediaCache> media_cache;        // and the ones proxied lately
    std::unique_ptr<kv::Store> cache_store;
    std::unique_ptr<kv::Store> local_store;  // in-process, for what must work when shared stores fail
    std::unique_ptr<kv::Store> session_kv;  // when sessions live in a key-value store
    std::unique_ptr<kv::AsyncRedis> session_async;  // and its asynchronous client (Redis), for lookups
    auth::PasswordParams password_params;
    std::unique_ptr<auth::LoginLimiter> limiter;        // counts shared by every server
    std::unique_ptr<auth::LoginLimiter> local_limiter;  // this process's counts, when the shared store is down
    Views views;
    Knobs knobs;
    std::unique_ptr<Sessions> sessions;
    std::unique_ptr<Feed> feed;
    ReadYourWrites writes;
    // The near copies of shared counters this server keeps (for /metrics), by name.
    std::vector<std::pair<std::string, const kv::SharedCounter*>> near_copies;
    std::unique_ptr<Uploads> uploads;
    std::filesystem::path tmp_dir;
    std::string admin_token;
    std::unique_ptr<AccessLog> access_log;
    const http::Server* server = nullptr;
    std::string common_headers;  // X-Served-By and the security headers, serialized
    std::atomic<bool> draining{false};
    struct Readiness {
        std::mutex mutex;
        bool running = false;
        bool ready = false;
        std::chrono::steady_clock::time_point checked{};
        boost::json::object body;  // the last result
    } readiness;

    // What the handler files write: a function of the app and the request.
    using AppHandler = asio::awaitable<http::Response> (*)(App&, http::Request&);
    // A page or API handler: the latency and CPU knobs apply, and backend failures turn
    // into 503 with a clear message.
    http::Handler app_route(AppHandler handler);
    // An operational handler (health, metrics, files): backend failures only.
    http::Handler ops_route(AppHandler handler);

    // Times a blocking database call on the worker pool and records it in /metrics.
    template <class F>
    auto db(const char* op, F f) -> asio::awaitable<std::invoke_result_t<F&>>;
    void record_db_time(const char* op, std::chrono::nanoseconds elapsed);

private:
    void build_common_headers();
};

void add_page_routes(App& app, http::Router& router);
void add_api_routes(App& app, http::Router& router);
void add_media_routes(App& app, http::Router& router);
void add_ops_routes(App& app, http::Router& router);

template <class F>
auto App::db(const char* op, F f) -> asio::awaitable<std::invoke_result_t<F&>> {
    using R = std::invoke_result_t<F&>;
    auto timed = [this, op, f = std::move(f)]() mutable -> R {
        const auto start = std::chrono::steady_clock::now();
        struct Record {
            App* app;
            const char* op;
            std::chrono::steady_clock::time_point start;
            ~Record() { app->record_db_time(op, std::chrono::steady_clock::now() - start); }
        } record{this, op, start};
        return f();
    };
    co_return co_await workers.call(std::move(timed));
}

}  // namespace photoshare::app
