#include "app/app.hpp"

#include "app/feed_baselines.hpp"
#include "app/near_sessions.hpp"
#include "app/pages.hpp"
#include "app/request_metrics.hpp"
#include "app/responses.hpp"
#include "auth/tokens.hpp"
#include "image/image.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <sys/stat.h>
#include <thread>

namespace photoshare::app {

namespace {

unsigned worker_threads(const config::Config& c) {
    if (c.server.workers) return c.server.workers;
    return std::max(8u, 4 * std::max(1u, std::thread::hardware_concurrency()));
}

unsigned image_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

// Without a configured token, one is made on first start and kept in the data directory
// (readable by its owner only), so the admin endpoints are never open by default.
std::string load_admin_token(const config::Config& c) {
    if (!c.admin.token.empty()) return c.admin.token;
    auto path = std::filesystem::path(c.server.data_dir) / "admin.token";
    {
        std::ifstream in(path);
        std::string token;
        if (in && std::getline(in, token) && token.size() >= 16) return token;
    }
    auto token = auth::random_token(32);
    auto tmp = path;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << token << "\n";
        if (!out) throw std::runtime_error("cannot write " + tmp.string());
    }
    ::chmod(tmp.c_str(), 0600);
    std::filesystem::rename(tmp, path);
    return token;
}

std::string_view status_title(int status) {
    switch (status) {
        case 400: return "Bad request";
        case 401: return "Please log in";
        case 403: return "Not allowed";
        case 404: return "Not found";
        case 405: return "Method not allowed";
        case 408: return "Too slow";
        case 409: return "Conflict";
        case 413: return "Too large";
        case 414: return "Address too long";
        case 415: return "Unsupported file";
        case 422: return "Cannot accept that";
        case 429: return "Too many attempts";
        case 431: return "Headers too large";
        case 503: return "Temporarily unavailable";
        case 507: return "Storage full";
        default: return status >= 500 ? "Server error" : "Error";
    }
}

}  // namespace

App::App(config::Config c)
    : config(std::move(c)),
      workers(worker_threads(config)),
      image_workers(image_threads()),
      writes(config.server.secure_cookies, config.cache.max_staleness) {
    namespace fs = std::filesystem;
    const fs::path data_dir = config.server.data_dir;
    fs::create_directories(data_dir);
    tmp_dir = data_dir / "tmp";
    fs::create_directories(tmp_dir);
    // Upload spool files of a process that died; nothing refers to them.
    for (const auto& entry : fs::directory_iterator(tmp_dir)) {
        if (entry.path().filename().string().starts_with("upload-")) {
            std::error_code ec;
            fs::remove(entry.path(), ec);
        }
    }

    image::initialize();
    repo = store::open(config.database_url(), store::Options{static_cast<int>(config.database.pool_size), config.database.acquire_timeout});
    repo->migrate();
    blobs = blob::open(config.storage_url());
    media_urls = std::make_unique<MediaUrls>(*blobs, config.storage.serve, config.storage.public_url,
                                             std::chrono::duration_cast<std::chrono::seconds>(config.storage.presign_expiry));
    if (media_urls->mode() == MediaUrls::Mode::server && !blobs->local_path("probe")) {
        // Each proxied download holds a thread while it reads from the store; a pool of
        // its own keeps slow clients from starving database work.
        stream_workers = std::make_unique<http::Workers>(16);
        media_cache = std::make_unique<MediaCache>(config.storage.proxy_cache_bytes, config.storage.proxy_cache_ttl, metrics);
    }
    cache_store = kv::open(config.cache.url);
    local_store = kv::open("memory://");

    std::unique_ptr<SessionStore> session_store;
    if (config.sessions.url == "database") {
        session_store = database_sessions(*repo);
    } else {
        session_kv = kv::open(config.sessions.url);
        session_async = session_kv->async_client();
        session_store = kv_sessions(*session_kv, session_async.get());
        if (!session_kv->local() && config.sessions.max_staleness.count() > 0) {
            auto near = std::make_unique<NearSessions>(std::move(session_store), *session_kv,
                                                       NearSessions::Options{config.sessions.max_staleness, config.sessions.cache_entries});
            near_copies.emplace_back("sessions_revoked", &near->revocations());
            session_store = std::move(near);
        }
    }
    sessions = std::make_unique<Sessions>(std::move(session_store), workers, config.server.secure_cookies, config.sessions.ttl);

    password_params = auth::PasswordParams{config.auth.argon2_memory_kib, config.auth.argon2_iterations};
    auth::LoginPolicy policy;
    policy.max_failures_per_user = config.auth.max_failures_per_user;
    policy.max_failures_per_address = config.auth.max_failures_per_address;
    policy.window = std::chrono::duration_cast<std::chrono::seconds>(config.auth.failure_window);
    policy.lockout = std::chrono::duration_cast<std::chrono::seconds>(config.auth.lockout);
    // Failed-login counts live where every server sees them: the session store when it is
    // a key-value store, else the cache store. If that store is down, this process's own
    // counts still stop a brute force against it.
    kv::Store& shared_counts = session_kv ? *session_kv : *cache_store;
    limiter = std::make_unique<auth::LoginLimiter>(shared_counts, policy);
    local_limiter = std::make_unique<auth::LoginLimiter>(*local_store, policy);

    knobs.latency_ms = config.knobs.latency_ms;
    knobs.cpu_ms = config.knobs.cpu_ms;
    knobs.slots.set_permits(config.knobs.slots);

    Feed::Query latest = [this](std::optional<std::int64_t> before, int limit) {
        const auto start = std::chrono::steady_clock::now();
        auto rows = repo->latest_photos(before, limit);
        record_db_time("latest_photos", std::chrono::steady_clock::now() - start);
        return rows;
    };
    const auto feed_ttl = std::chrono::duration_cast<std::chrono::seconds>(config.cache.ttl);
    if (config.cache.invalidation == "off") {
        feed = std::make_unique<UncachedFeed>(workers, std::move(latest), metrics);
    } else if (config.cache.invalidation == "delete") {
        feed = std::make_unique<DeleteOnChangeFeed>(*cache_store, workers, std::move(latest), feed_ttl, metrics);
    } else {
        auto generation_feed = std::make_unique<GenerationFeed>(*cache_store, workers, std::move(latest),
                                                                GenerationFeed::Options{feed_ttl, config.cache.max_staleness}, metrics);
        near_copies.emplace_back("feed_generation", &generation_feed->generation());
        feed = std::move(generation_feed);
    }

    UploadLimits upload_limits;
    upload_limits.max_files = config.limits.max_files_per_upload;
    upload_limits.image.max_pixels = config.limits.max_pixels;
    upload_limits.image.display_size = static_cast<int>(config.images.display_size);
    upload_limits.image.thumbnail_size = static_cast<int>(config.images.thumbnail_size);
    upload_limits.image.jpeg_quality = static_cast<int>(config.images.jpeg_quality);
    uploads = std::make_unique<Uploads>(tmp_dir, *blobs, workers, image_workers, upload_limits, metrics);

    admin_token = load_admin_token(config);
    access_log = make_access_log(config.log);
    info = ServerInfo::make(config.server_name(), config.server.listen);
    build_common_headers();
}

App::~App() {
    workers.stop();
    image_workers.stop();
    probe_workers.stop();
    if (stream_workers) stream_workers->stop();
}

void App::attach(const http::Server& s, const std::string& bound_address) {
    server = &s;
    info = ServerInfo::make(config.server_name(), bound_address);
    build_common_headers();
}

void App::build_common_headers() {
    // Every response carries these; they are serialized once.
    common_headers = fmt::format(
        "X-Served-By: {}\r\n"
        "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:{}; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "X-Frame-Options: DENY\r\n"
        "Referrer-Policy: same-origin\r\n"
        "Cross-Origin-Opener-Policy: same-origin\r\n",
        info.header, media_urls->image_origin().empty() ? std::string() : " " + media_urls->image_origin());
}

http::ServerOptions App::server_options() const {
    http::ServerOptions o;
    auto [host, port] = config.listen_endpoint();
    o.host = host;
    o.port = port;
    o.io_threads = config.server.io_threads;
    o.max_header_bytes = config.limits.max_header_bytes;
    o.max_body_bytes = config.limits.max_body_bytes;
    o.header_timeout = config.limits.header_timeout;
    o.body_timeout = config.limits.body_timeout;
    o.idle_timeout = config.limits.idle_timeout;
    o.write_timeout = config.limits.write_timeout;
    o.max_connections = config.limits.max_connections;
    o.shutdown_delay = config.server.shutdown_delay;
    o.shutdown_timeout = config.server.shutdown_timeout;
    o.trusted_proxies = config.server.trusted_proxies;
    return o;
}

void App::record_db_time(const char* op, std::chrono::nanoseconds elapsed) {
    // One histogram per operation, looked up once per thread.
    thread_local std::unordered_map<const char*, metrics::Histogram*> cache;
    auto& h = cache[op];
    if (!h) h = &metrics.histogram("photoshare_db_query_duration_seconds", "Database time by operation", {{"op", op}});
    h->observe(std::chrono::duration<double>(elapsed).count());
}

namespace {

// Backend failures become 503 with a message that says which part is down.
template <class F>
asio::awaitable<http::Response> mapping_backend_errors(F&& body) {
    try {
        co_return co_await body();
    } catch (const store::Unavailable& e) {
        spdlog::warn("database unavailable: {}", e.what());
        throw http::HttpError(503, "database_unavailable", "The database is unavailable. Please try again in a moment.",
                              {{"Retry-After", "5"}});
    } catch (const kv::Unavailable& e) {
        spdlog::warn("key-value store unavailable: {}", e.what());
        throw http::HttpError(503, "sessions_unavailable", "The session store is unavailable. Please try again in a moment.",
                              {{"Retry-After", "5"}});
    } catch (const blob::OutOfSpace& e) {
        spdlog::error("media storage full: {}", e.what());
        throw http::HttpError(507, "insufficient_storage",
                              "Photo storage is full, so the photo was not stored. Please try again later.");
    } catch (const blob::Unavailable& e) {
        spdlog::warn("media storage unavailable: {}", e.what());
        throw http::HttpError(503, "storage_unavailable", "Photo storage is unavailable. Please try again in a moment.",
                              {{"Retry-After", "5"}});
    }
}

}  // namespace

http::Handler App::app_route(AppHandler handler) {
    return [this, handler](http::Request& req) -> asio::awaitable<http::Response> {
        co_await knobs.apply(workers);
        co_return co_await mapping_backend_errors([&]() { return handler(*this, req); });
    };
}

http::Handler App::ops_route(AppHandler handler) {
    return [this, handler](http::Request& req) -> asio::awaitable<http::Response> {
        co_return co_await mapping_backend_errors([&]() { return handler(*this, req); });
    };
}

void App::add_routes(http::Router& router) {
    add_ops_routes(*this, router);
    add_media_routes(*this, router);
    add_api_routes(*this, router);
    add_page_routes(*this, router);
}

http::ServerHooks App::hooks() {
    http::ServerHooks h;
    h.error_response = [this](const http::Request& req, int status, const std::string& code, const std::string& message) {
        if (is_api(req) || req.path.starts_with("/admin/")) return json_error(status, code, message);
        if (req.path == "/healthz" || req.path == "/readyz" || req.path == "/metrics")
            return http::Response(status, "text/plain; charset=utf-8", message + "\n");
        Data content;
        content.set("status", std::to_string(status));
        content.set("title", std::string(status_title(status)));
        content.set("message", message);
        return html_response(status, render_page(*this, req, PageFrame{}, std::string(status_title(status)),
                                                 views.render("error", content)));
    };
    h.decorate = [this](const http::Request&, http::Response& res) { res.raw_headers = common_headers; };
    h.completed = [this](const http::Completed& c) {
        observe_request(metrics, c);
        if (access_log) access_log->write(c, info.name);
    };
    h.draining = [this] { draining = true; };
    return h;
}

}  // namespace photoshare::app
