// The site's wiring: builds every service from the configuration, registers the routes
// (each with the services its handler uses and what it requires of a request) and gives the
// server its hooks. Nothing here handles a request: handlers live in front_page.cpp,
// pages.cpp, api.cpp, media.cpp and ops.cpp.
#pragma once

#include "app/access_log.hpp"
#include "app/accounts.hpp"
#include "app/database.hpp"
#include "app/feed.hpp"
#include "app/front_page.hpp"
#include "app/image_jobs.hpp"
#include "app/knobs.hpp"
#include "app/layout.hpp"
#include "app/media_cache.hpp"
#include "app/media_urls.hpp"
#include "app/ops.hpp"
#include "app/periodic.hpp"
#include "app/photos.hpp"
#include "app/read_your_writes.hpp"
#include "app/routes.hpp"
#include "app/server_info.hpp"
#include "app/sessions.hpp"
#include "app/uploads.hpp"
#include "app/views.hpp"
#include "auth/rate_limit.hpp"
#include "auth/throttle.hpp"
#include "blob/blob.hpp"
#include "config/config.hpp"
#include "http/router.hpp"
#include "http/runtime.hpp"
#include "http/server.hpp"
#include "kv/kv.hpp"
#include "metrics/metrics.hpp"
#include "store/repository.hpp"

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace photoshare::app {

class Site {
public:
    explicit Site(config::Config config);
    ~Site();
    Site(const Site&) = delete;
    Site& operator=(const Site&) = delete;

    void add_routes(http::Router& router);
    http::ServerHooks hooks();
    http::ServerOptions server_options() const;
    // The server whose state /readyz and /metrics report; set before it runs.
    void attach(const http::Server& server, const std::string& bound_address);

    const ServerInfo& info() const { return info_; }
    // The backends in use, for the start-up log line (no secrets).
    std::string describe() const;
    // For benchmarks that fill the database directly.
    store::Repository& repository() { return *repo_; }
    Feed& feed() { return *feed_; }

private:
    // The error response of a request, and (server hook error_page) of a routed one.
    http::Response error_response(const http::Request& req, int status, const std::string& code, const std::string& message);
    asio::awaitable<http::Response> error_page(const http::Request& req, int status, const std::string& code,
                                               const std::string& message);
    void build_common_headers();

    config::Config config_;
    ServerInfo info_;
    metrics::Registry metrics_;
    http::Workers workers_;        // database, sessions, cache, hashing, disk
    http::Workers image_workers_;  // decoding: bounded so memory stays bounded
    std::filesystem::path tmp_dir_;
    std::unique_ptr<store::Repository> repo_;
    std::unique_ptr<Database> db_;
    std::unique_ptr<blob::Store> blobs_;
    std::unique_ptr<MediaUrls> media_urls_;
    std::unique_ptr<http::Workers> stream_workers_;  // proxying objects from an object store
    std::unique_ptr<MediaCache> media_cache_;        // and the ones proxied lately
    std::unique_ptr<kv::Store> cache_store_;
    std::unique_ptr<kv::Store> local_store_;        // in-process, for what must work when shared stores fail
    std::unique_ptr<kv::Store> session_kv_;         // when sessions live in a key-value store
    std::unique_ptr<kv::AsyncRedis> session_async_;  // and its asynchronous client (Redis), for lookups
    std::unique_ptr<Sessions> sessions_;
    // The throttles' counts: shared by every server; this process's own while that store is down.
    std::unique_ptr<kv::Store> throttle_counts_;
    std::unique_ptr<auth::LoginLimiter> limiter_;
    std::unique_ptr<auth::Throttle> admin_failures_;
    std::unique_ptr<auth::Throttle> registrations_;  // new accounts per address
    std::unique_ptr<Accounts> accounts_;
    Knobs knobs_;
    std::unique_ptr<Feed> feed_;
    // The near copies of shared counters this server keeps (for /metrics), by name.
    std::vector<std::pair<std::string, const kv::SharedCounter*>> near_copies_;
    ReadYourWrites writes_;
    Flash flash_;
    Views views_;
    Layout layout_{views_, info_};
    std::unique_ptr<Uploads> uploads_;
    std::unique_ptr<ImageJobs> image_jobs_;  // when this server makes further formats
    std::unique_ptr<Photos> photos_;
    std::unique_ptr<FrontPages> front_pages_;
    std::atomic<bool> draining_{false};
    std::unique_ptr<Readiness> readiness_;
    std::string admin_token_;
    std::unique_ptr<AccessLog> access_log_;
    std::string common_headers_;  // X-Served-By and the security headers, serialized
    const http::Server* server_ = nullptr;
    std::unique_ptr<Routes> routes_;
    std::unique_ptr<Periodic> purge_;  // upload keys older than a day
};

}  // namespace photoshare::app
