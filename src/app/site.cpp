#include "app/site.hpp"

#include "app/api.hpp"
#include "app/downloads.hpp"
#include "app/feed_baselines.hpp"
#include "app/media.hpp"
#include "app/near_sessions.hpp"
#include "app/photo_files.hpp"
#include "app/pages.hpp"
#include "app/request_metrics.hpp"
#include "app/responses.hpp"
#include "auth/tokens.hpp"
#include "kv/fallback.hpp"
#include "image/image.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

namespace photoshare::app {

namespace {

unsigned worker_threads(const config::Config& c) {
    if (c.server.workers) return c.server.workers;
    return std::max(8u, 4 * std::max(1u, std::thread::hardware_concurrency()));
}

unsigned image_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

// Without a configured token, one is made on first start and kept in the data directory,
// readable by its owner only (created so: never readable by others, not even for a moment),
// so the admin endpoints are never open by default.
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
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot write " + tmp.string() + ": " + std::system_category().message(errno));
    const std::string line = token + "\n";
    const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    ::close(fd);
    if (!written) throw std::runtime_error("cannot write " + tmp.string());
    std::filesystem::rename(tmp, path);
    return token;
}

// The data directory (owner only when made here) and its upload spool, from which files of
// a process that died are removed: nothing refers to them.
std::filesystem::path make_spool(const config::Config& c) {
    namespace fs = std::filesystem;
    const fs::path data_dir = c.server.data_dir;
    if (fs::create_directories(data_dir)) fs::permissions(data_dir, fs::perms::owner_all);
    auto tmp_dir = data_dir / "tmp";
    if (fs::create_directories(tmp_dir)) fs::permissions(tmp_dir, fs::perms::owner_all);
    for (const auto& entry : fs::directory_iterator(tmp_dir)) {
        if (entry.path().filename().string().starts_with("upload-")) {
            std::error_code ec;
            fs::remove(entry.path(), ec);
        }
    }
    return tmp_dir;
}

// Idempotency keys are for retries, which come within minutes: a day is plenty. Purged a
// minute after start and every hour, by whichever servers run (the delete is idempotent).
constexpr auto kUploadKeyLifetime = std::chrono::hours(24);
constexpr auto kPurgeInterval = std::chrono::hours(1);

std::string cache_control_of_media(const config::Config& c) {
    return media_cache_control(std::chrono::duration_cast<std::chrono::seconds>(c.storage.cache_max_age));
}

}  // namespace

Site::Site(config::Config c)
    : config_(std::move(c)),
      workers_(worker_threads(config_)),
      image_workers_(image_threads()),
      tmp_dir_(make_spool(config_)),
      writes_(config_.server.secure_cookies, config_.cache.max_staleness),
      flash_(config_.server.secure_cookies) {
    image::initialize();
    repo_ = store::open(config_.database_url(),
                        store::Options{static_cast<int>(config_.database.pool_size), config_.database.acquire_timeout});
    repo_->migrate();
    db_ = std::make_unique<Database>(*repo_, workers_, metrics_);

    blobs_ = blob::open(config_.storage_url());
    media_urls_ = std::make_unique<MediaUrls>(*blobs_, config_.storage.serve, config_.storage.public_url,
                                              std::chrono::duration_cast<std::chrono::seconds>(config_.storage.presign_expiry));
    if (!blobs_->local_path("probe")) {
        // Each download streamed from an object store (proxied photos, originals) holds a
        // thread while it reads; a pool of its own keeps slow clients from starving
        // database work.
        stream_workers_ = std::make_unique<http::Workers>(16);
    }
    if (media_urls_->mode() == MediaUrls::Mode::server && stream_workers_) {
        media_cache_ = std::make_unique<MediaCache>(config_.storage.proxy_cache_bytes, config_.storage.proxy_cache_ttl, metrics_);
    }
    cache_store_ = kv::open(config_.cache.url);
    local_store_ = kv::open("memory://");

    std::unique_ptr<SessionStore> session_store;
    if (config_.sessions.url == "database") {
        session_store = database_sessions(*repo_);
    } else {
        session_kv_ = kv::open(config_.sessions.url);
        session_async_ = session_kv_->async_client();
        session_store = kv_sessions(*session_kv_, session_async_.get());
        if (!session_kv_->local() && config_.sessions.max_staleness.count() > 0) {
            auto near = std::make_unique<NearSessions>(std::move(session_store), *session_kv_,
                                                       NearSessions::Options{config_.sessions.max_staleness, config_.sessions.cache_entries});
            near_copies_.emplace_back("sessions_revoked", &near->revocations());
            session_store = std::move(near);
        }
    }
    // Every server of the site must make the same visitor tokens: the key is kept in the
    // database, made by whichever server needs it first.
    const std::string visitor_key = repo_->shared_secret("visitor_csrf_key", auth::random_token(32));
    sessions_ = std::make_unique<Sessions>(std::move(session_store), workers_, config_.server.secure_cookies, config_.sessions.ttl,
                                           visitor_key);

    auth::LoginPolicy policy;
    policy.max_failures_per_user = config_.auth.max_failures_per_user;
    policy.max_failures_per_address = config_.auth.max_failures_per_address;
    policy.max_failures_per_user_total = config_.auth.max_failures_per_user_total;
    policy.window = std::chrono::duration_cast<std::chrono::seconds>(config_.auth.failure_window);
    policy.first_delay = std::chrono::duration_cast<std::chrono::seconds>(config_.auth.first_delay);
    policy.lockout = std::chrono::duration_cast<std::chrono::seconds>(config_.auth.lockout);
    policy.remember_address = std::chrono::duration_cast<std::chrono::seconds>(config_.auth.remember_address);
    // Throttle counts (failed logins, new accounts) live where every server sees them: the
    // session store when it is a key-value store, else the cache store.
    kv::Store& shared_counts = session_kv_ ? *session_kv_ : *cache_store_;
    throttle_counts_ = std::make_unique<kv::Fallback>(shared_counts, *local_store_);
    limiter_ = std::make_unique<auth::LoginLimiter>(*throttle_counts_, policy);
    admin_failures_ = std::make_unique<auth::Throttle>(
        *throttle_counts_, "admin-token",
        auth::ThrottlePolicy{.free = config_.auth.max_admin_failures, .window = policy.window, .first_delay = policy.first_delay, .max_delay = policy.lockout});
    registrations_ = std::make_unique<auth::Throttle>(
        *throttle_counts_, "registrations",
        auth::ThrottlePolicy{.free = config_.auth.max_registrations_per_address,
                             .window = std::chrono::duration_cast<std::chrono::seconds>(config_.auth.registration_window),
                             .first_delay = policy.first_delay, .max_delay = policy.lockout});
    accounts_ = std::make_unique<Accounts>(*db_, workers_, auth::PasswordParams{config_.auth.argon2_memory_kib, config_.auth.argon2_iterations},
                                           *limiter_);

    knobs_.latency_ms = config_.knobs.latency_ms;
    knobs_.cpu_ms = config_.knobs.cpu_ms;
    knobs_.slots.set_permits(config_.knobs.slots);

    Feed::Query latest = [db = db_.get()](const store::PhotoRange& range) {
        return db->timed("latest_photos", [&](store::Repository& repo) { return repo.photos(range); });
    };
    const auto feed_ttl = std::chrono::duration_cast<std::chrono::seconds>(config_.cache.ttl);
    if (config_.cache.invalidation == "off") {
        feed_ = std::make_unique<UncachedFeed>(workers_, std::move(latest), metrics_);
    } else if (config_.cache.invalidation == "delete") {
        feed_ = std::make_unique<DeleteOnChangeFeed>(*cache_store_, workers_, std::move(latest), feed_ttl, metrics_);
    } else {
        auto generation_feed = std::make_unique<GenerationFeed>(*cache_store_, workers_, std::move(latest),
                                                                GenerationFeed::Options{feed_ttl, config_.cache.max_staleness}, metrics_);
        near_copies_.emplace_back("feed_generation", &generation_feed->generation());
        feed_ = std::move(generation_feed);
    }

    UploadLimits upload_limits;
    upload_limits.max_files = config_.limits.max_files_per_upload;
    upload_limits.max_file_bytes = config_.limits.max_file_bytes;
    upload_limits.image.max_pixels = config_.limits.max_pixels;
    upload_limits.image.display_size = static_cast<int>(config_.images.display_size);
    upload_limits.image.thumbnail_size = static_cast<int>(config_.images.thumbnail_size);
    upload_limits.image.sizes.assign(config_.images.sizes.begin(), config_.images.sizes.end());
    upload_limits.image.jpeg_quality = static_cast<int>(config_.images.jpeg_quality);
    upload_limits.queue_formats = !config_.images.formats.empty();
    upload_limits.cache_control = cache_control_of_media(config_);
    upload_limits.keep_originals = config_.images.keep_originals;
    upload_limits.max_caption_chars = config_.limits.max_caption_chars;
    uploads_ = std::make_unique<Uploads>(tmp_dir_, *blobs_, *db_, workers_, image_workers_, upload_limits, metrics_);
    if (upload_limits.queue_formats && config_.images.run_jobs) {
        ImageJobs::Options jobs;
        jobs.formats = config_.images.formats;
        jobs.encode.avif_quality = static_cast<int>(config_.images.avif_quality);
        jobs.encode.avif_effort = static_cast<int>(config_.images.avif_effort);
        jobs.encode.webp_quality = static_cast<int>(config_.images.webp_quality);
        jobs.interval = config_.images.job_interval;
        jobs.cache_control = upload_limits.cache_control;
        image_jobs_ = std::make_unique<ImageJobs>(*db_, *blobs_, *feed_, metrics_, jobs);
    }
    photos_ = std::make_unique<Photos>(*db_, *uploads_, *blobs_, media_cache_.get(), *feed_, workers_, image_jobs_.get(),
                                       config_.limits.max_caption_chars);
    front_pages_ = std::make_unique<FrontPages>(layout_, *media_urls_, config_.limits.max_upload_bytes, config_.limits.max_file_bytes);

    std::vector<Readiness::Probe> probes{{"database", true, [this] { repo_->ping(); }},
                                         {"storage", true, [this] {
                                              try {
                                                  blobs_->check();
                                              } catch (const blob::Misconfigured&) {
                                                  throw;
                                              } catch (const blob::Unavailable& e) {
                                                  throw Readiness::Degraded(e.what());
                                              }
                                          }},
                                         {"cache", false, [this] { cache_store_->check(); }}};
    if (session_kv_) probes.push_back({"sessions", false, [this] { session_kv_->check(); }});
    readiness_ = std::make_unique<Readiness>(std::move(probes), draining_);

    admin_token_ = load_admin_token(config_);
    access_log_ = make_access_log(config_.log);
    info_ = ServerInfo::make(config_.server_name(), config_.server.listen);
    build_common_headers();

    purge_ = std::make_unique<Periodic>("purging old upload keys", std::chrono::minutes(1), kPurgeInterval, [this] {
        const auto cutoff = std::chrono::system_clock::now() - kUploadKeyLifetime;
        const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(cutoff.time_since_epoch()).count();
        db_->timed("purge_upload_keys", [&](store::Repository& repo) { return repo.purge_upload_keys(seconds); });
    });
}

Site::~Site() {
    purge_.reset();
    image_jobs_.reset();  // its thread uses the workers
    workers_.stop();
    image_workers_.stop();
    if (stream_workers_) stream_workers_->stop();
}

void Site::add_routes(http::Router& router) {
    using http::Method;
    routes_ = std::make_unique<Routes>(router, Routes::Services{*sessions_, *uploads_, knobs_, flash_, workers_, admin_token_});
    auto& r = *routes_;
    const auto page_size = static_cast<int>(config_.feed.page_size);
    const auto upload_limit = config_.limits.max_upload_bytes;

    // Pages and forms.
    r.add(Method::get, "/", FrontPage{*feed_, *front_pages_, writes_, page_size, config_.server.gzip_min_bytes > 0}, {.who = Who::visitor});
    r.add(Method::get, "/photos/{id}", PhotoPage{*db_, layout_, *media_urls_, config_.images.full_size_download == "everyone",
                                                   config_.limits.max_caption_chars},
          {.who = Who::visitor});
    r.add(Method::get, "/u/{name}", UserPage{*db_, layout_, *media_urls_, page_size}, {.who = Who::visitor});
    r.add(Method::get, "/login", AccountForm{layout_, false}, {.who = Who::visitor});
    r.add(Method::get, "/register", AccountForm{layout_, true}, {.who = Who::visitor});
    const Access form_post{.who = Who::visitor, .csrf = Csrf::form, .body = Body::form};
    r.add(Method::post, "/login", AccountPost{*accounts_, *sessions_, layout_, flash_, false}, form_post);
    // New accounts per address are limited, on the page and in the API alike.
    const Access::Quota accounts{registrations_.get(), "Too many new accounts from your network."};
    auto register_post = form_post;
    register_post.quota = accounts;
    r.add(Method::post, "/register", AccountPost{*accounts_, *sessions_, layout_, flash_, true}, register_post);
    r.add(Method::post, "/logout", LogoutPost{*sessions_, flash_}, form_post);
    r.add(Method::get, "/upload", UploadFormRedirect{});
    r.add(Method::post, "/upload", UploadPost{*photos_, writes_, flash_},
          {.who = Who::member, .csrf = Csrf::form, .body = Body::upload, .body_limit = upload_limit});
    r.add(Method::post, "/photos/{id}/delete", DeletePost{*photos_, writes_, flash_}, {.who = Who::member, .csrf = Csrf::form, .body = Body::form});
    r.add(Method::post, "/photos/{id}/caption", CaptionPost{*photos_, writes_, flash_}, {.who = Who::member, .csrf = Csrf::form, .body = Body::form});
    const DownloadServices downloads{*db_, *blobs_, workers_, image_workers_, stream_workers_.get()};
    image::Limits full_size;
    full_size.max_pixels = config_.limits.max_pixels;
    full_size.jpeg_quality = static_cast<int>(config_.images.full_size_quality);
    r.add(Method::get, "/photos/{id}/original", OriginalDownload{downloads}, {.who = Who::visitor, .knobs = false});
    r.add(Method::get, "/photos/{id}/full", FullSizeDownload{downloads, full_size, config_.images.full_size_download == "everyone"},
          {.who = Who::visitor, .knobs = false});

    // The JSON API (docs/API.md).
    r.add(Method::post, "/api/v1/users", api::CreateUser{*accounts_}, {.body = Body::json, .quota = accounts});
    r.add(Method::post, "/api/v1/session", api::CreateSession{*accounts_, *sessions_}, {.body = Body::json});
    r.add(Method::get, "/api/v1/session", api::CurrentSession{}, {.who = Who::member});
    r.add(Method::del, "/api/v1/session", api::DeleteSession{*sessions_}, {.who = Who::member, .csrf = Csrf::header});
    r.add(Method::get, "/api/v1/photos",
          api::ListPhotos{*feed_, writes_, *media_urls_, page_size, static_cast<int>(config_.feed.max_page_size)});
    r.add(Method::post, "/api/v1/photos", api::UploadPhotos{*photos_, writes_, *media_urls_},
          {.who = Who::member, .csrf = Csrf::header, .body = Body::upload, .body_limit = upload_limit});
    r.add(Method::get, "/api/v1/photos/{id}", api::GetPhoto{*db_, *media_urls_, config_.images.full_size_download == "everyone"},
          {.who = Who::visitor});
    r.add(Method::del, "/api/v1/photos/{id}", api::DeletePhoto{*photos_, writes_}, {.who = Who::member, .csrf = Csrf::header});
    r.add(Method::patch, "/api/v1/photos/{id}", api::UpdatePhoto{*photos_, writes_, *media_urls_},
          {.who = Who::member, .csrf = Csrf::header, .body = Body::json});
    r.add(Method::get, "/api/v1/users/{name}/photos",
          api::ListUserPhotos{*db_, *media_urls_, page_size, static_cast<int>(config_.feed.max_page_size)});

    // Files: the knobs do not apply.
    const Access file{.knobs = false};
    r.add(Method::get, "/static/{path...}", StaticAsset{views_, ""}, file);
    r.add(Method::get, "/favicon.ico", StaticAsset{views_, "favicon.svg"}, file);
    r.add(Method::get, "/robots.txt", StaticAsset{views_, "robots.txt"}, file);
    r.add(Method::get, "/media/{key}", MediaFile{*blobs_, *media_urls_, media_cache_.get(), stream_workers_.get(), cache_control_of_media(config_)}, file);

    // Operations.
    const Access ops{.knobs = false};
    // Wrong admin tokens from one address are throttled like failed logins.
    const Access admin{.who = Who::admin, .knobs = false, .failures = admin_failures_.get()};
    r.add(Method::get, "/healthz", Healthz{}, ops);
    r.add(Method::get, "/readyz", Readyz{*readiness_, admin_token_}, ops);
    r.add(Method::get, "/metrics", MetricsPage{metrics_, server_, knobs_, draining_, near_copies_}, ops);
    r.add(Method::get, "/admin/knobs", GetKnobs{knobs_, info_}, admin);
    r.add(Method::put, "/admin/knobs", SetKnobs{knobs_, info_}, admin);
    r.add(Method::post, "/admin/knobs", SetKnobs{knobs_, info_}, admin);
}

void Site::attach(const http::Server& s, const std::string& bound_address) {
    server_ = &s;
    info_ = ServerInfo::make(config_.server_name(), bound_address);
    build_common_headers();
}

std::string Site::describe() const {
    return fmt::format("database {}, media {}, sessions {}, cache {}", repo_->describe(), blobs_->describe(),
                       config_.sessions.url == "database" ? "in the database" : config::redact_url(config_.sessions.url),
                       config::redact_url(config_.cache.url));
}

void Site::build_common_headers() {
    // Every response carries these; they are serialized once.
    common_headers_ = fmt::format(
        "X-Served-By: {}\r\n"
        "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:{}; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "X-Frame-Options: DENY\r\n"
        "Referrer-Policy: same-origin\r\n"
        "Cross-Origin-Opener-Policy: same-origin\r\n",
        info_.header, media_urls_->image_origin().empty() ? std::string() : " " + media_urls_->image_origin());
}

http::ServerOptions Site::server_options() const {
    http::ServerOptions o;
    auto [host, port] = config_.listen_endpoint();
    o.host = host;
    o.port = port;
    o.io_threads = config_.server.io_threads;
    o.max_header_bytes = config_.limits.max_header_bytes;
    o.max_body_bytes = config_.limits.max_body_bytes;
    o.header_timeout = config_.limits.header_timeout;
    o.body_timeout = config_.limits.body_timeout;
    o.body_min_rate = config_.limits.body_min_rate;
    o.idle_timeout = config_.limits.idle_timeout;
    o.write_timeout = config_.limits.write_timeout;
    o.max_connections = config_.limits.max_connections;
    o.max_connections_per_address = config_.limits.max_connections_per_address;
    o.shutdown_delay = config_.server.shutdown_delay;
    o.shutdown_timeout = config_.server.shutdown_timeout;
    o.trusted_proxies = config_.server.trusted_proxies;
    o.gzip_min_bytes = config_.server.gzip_min_bytes;
    return o;
}

namespace {
// How an error is answered: JSON for the API and admin endpoints, plain text for the probes,
// an HTML page for everything else.
enum class ErrorFormat { json, text, page };
ErrorFormat error_format(const http::Request& req) {
    if (is_api(req) || req.path.starts_with("/admin/")) return ErrorFormat::json;
    if (req.path == "/healthz" || req.path == "/readyz" || req.path == "/metrics") return ErrorFormat::text;
    return ErrorFormat::page;
}
}  // namespace

// An error of a routed request. As an HTML page it keeps the visitor's navigation (logged
// in, their name, the logout form): their session is looked up again, as the error may have
// come before the route looked it up (or from a route that does not). A session store that
// cannot answer, or an error about the session itself, gives the logged-out page.
asio::awaitable<http::Response> Site::error_page(const http::Request& req, int status, const std::string& code,
                                                 const std::string& message) {
    if (error_format(req) != ErrorFormat::page || code == "sessions_unavailable") co_return error_response(req, status, code, message);
    PageFrame frame;
    try {
        auto found = co_await sessions_->load(req);
        if (found.session) {
            frame.csrf_token = found.session->csrf_token;
            frame.session = std::move(found.session);
        }
    } catch (const std::exception& e) {
        spdlog::debug("error page for {} without the visitor's session: {}", req.path, e.what());
    }
    co_return html_response(status, layout_.error_page(req, status, message, frame));
}

http::Response Site::error_response(const http::Request& req, int status, const std::string& code, const std::string& message) {
    switch (error_format(req)) {
        case ErrorFormat::json: return json_error(status, code, message);
        case ErrorFormat::text: return http::Response(status, "text/plain; charset=utf-8", message + "\n");
        case ErrorFormat::page: break;
    }
    return html_response(status, layout_.error_page(req, status, message));
}

http::ServerHooks Site::hooks() {
    http::ServerHooks h;
    h.error_response = [this](const http::Request& req, int status, const std::string& code, const std::string& message) {
        return error_response(req, status, code, message);
    };
    h.error_page = [this](const http::Request& req, int status, const std::string& code, const std::string& message) {
        return error_page(req, status, code, message);
    };
    h.decorate = [this](const http::Request&, http::Response& res) { res.raw_headers = common_headers_; };
    h.completed = [this](const http::Completed& c) {
        observe_request(metrics_, c);
        if (access_log_) access_log_->write(c, info_.name);
    };
    h.draining = [this] { draining_ = true; };
    return h;
}

}  // namespace photoshare::app
