#include "config/config.hpp"

#include <toml++/toml.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <unistd.h>

extern char** environ;

namespace photoshare::config {

namespace {

std::string trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return std::string(s);
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::optional<std::uint64_t> parse_uint(std::string_view s) {
    std::uint64_t v = 0;
    if (s.empty()) return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
    return v;
}

// How a value is written and read as text (in the environment, on the command line, in
// `photoshare config` output); TOML values are turned into the same text first.
enum class Kind { text, count, size, boolean, duration, list };

struct Field {
    std::string key;
    std::string help;
    Kind kind;
    bool secret;
    std::function<void(Config&, const std::string&)> set;
    std::function<std::string(const Config&)> get;
};

std::string format_duration(Duration d) {
    auto ms = d.count();
    if (ms == 0) return "0s";
    if (ms % 86'400'000 == 0) return fmt::format("{}d", ms / 86'400'000);
    if (ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
    if (ms % 60'000 == 0) return fmt::format("{}m", ms / 60'000);
    if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
    return fmt::format("{}ms", ms);
}

std::string format_size(std::uint64_t n) {
    if (n != 0 && n % (1ULL << 30) == 0) return fmt::format("{}GiB", n >> 30);
    if (n != 0 && n % (1ULL << 20) == 0) return fmt::format("{}MiB", n >> 20);
    if (n != 0 && n % (1ULL << 10) == 0) return fmt::format("{}KiB", n >> 10);
    return std::to_string(n);
}

[[noreturn]] void invalid(const std::string& key, const std::string& expected, const std::string& got) {
    throw Error(fmt::format("invalid configuration: {}: expected {}, got '{}'", key, expected, got));
}

template <class T>
void assign(T& target, Kind kind, const std::string& key, const std::string& text) {
    if constexpr (std::is_same_v<T, std::string>) {
        target = text;
    } else if constexpr (std::is_same_v<T, bool>) {
        auto v = lower(trim(text));
        if (v == "true" || v == "1" || v == "yes" || v == "on") target = true;
        else if (v == "false" || v == "0" || v == "no" || v == "off") target = false;
        else invalid(key, "true or false", text);
    } else if constexpr (std::is_same_v<T, Duration>) {
        try {
            target = parse_duration(text);
        } catch (const std::invalid_argument&) {
            invalid(key, "a duration like 10s, 250ms, 5m or 14d", text);
        }
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
        target.clear();
        std::string_view rest = text;
        while (!rest.empty()) {
            auto comma = rest.find(',');
            auto item = trim(rest.substr(0, comma));
            if (!item.empty()) target.push_back(item);
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
        }
    } else if constexpr (std::is_same_v<T, std::vector<unsigned>>) {
        std::vector<std::string> items;
        assign(items, kind, key, text);
        target.clear();
        for (const auto& item : items) {
            auto parsed = parse_uint(item);
            if (!parsed || *parsed > std::numeric_limits<unsigned>::max()) invalid(key, "whole numbers separated by commas", text);
            target.push_back(static_cast<unsigned>(*parsed));
        }
    } else {
        std::uint64_t v = 0;
        if (kind == Kind::size) {
            try {
                v = parse_size(text);
            } catch (const std::invalid_argument&) {
                invalid(key, "a size like 25MiB, 16KiB or a number of bytes", text);
            }
        } else {
            auto parsed = parse_uint(trim(text));
            if (!parsed) invalid(key, "a whole number", text);
            v = *parsed;
        }
        if (v > std::numeric_limits<T>::max()) invalid(key, "a smaller number", text);
        target = static_cast<T>(v);
    }
}

template <class T>
std::string render(const T& value, Kind kind) {
    if constexpr (std::is_same_v<T, std::string>) return value;
    else if constexpr (std::is_same_v<T, bool>) return value ? "true" : "false";
    else if constexpr (std::is_same_v<T, Duration>) return format_duration(value);
    else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
        std::string out;
        for (const auto& v : value) out += (out.empty() ? "" : ",") + v;
        return out;
    } else if constexpr (std::is_same_v<T, std::vector<unsigned>>) {
        std::string out;
        for (const auto v : value) out += (out.empty() ? "" : ",") + std::to_string(v);
        return out;
    } else {
        return kind == Kind::size ? format_size(value) : std::to_string(value);
    }
}

template <class S, class T>
Field field(std::string key, Kind kind, S Config::*section, T S::*member, std::string help, bool secret = false) {
    Field f{key, std::move(help), kind, secret, {}, {}};
    f.set = [section, member, kind, key](Config& c, const std::string& text) { assign(c.*section.*member, kind, key, text); };
    f.get = [section, member, kind](const Config& c) { return render(c.*section.*member, kind); };
    return f;
}

const std::vector<Field>& fields() {
    using C = Config;
    static const std::vector<Field> all = {
        field("server.name", Kind::text, &C::server, &C::Server::name, "name shown in X-Served-By and on every page (default: host name)"),
        field("server.listen", Kind::text, &C::server, &C::Server::listen, "address and port to listen on"),
        field("server.data_dir", Kind::text, &C::server, &C::Server::data_dir, "directory for the embedded database and media"),
        field("server.io_threads", Kind::count, &C::server, &C::Server::io_threads, "I/O threads (0: one per core)"),
        field("server.workers", Kind::count, &C::server, &C::Server::workers, "threads for blocking work (0: 4 per core, at least 8)"),
        field("server.secure_cookies", Kind::boolean, &C::server, &C::Server::secure_cookies, "mark cookies Secure (serve over HTTPS)"),
        field("server.trusted_proxies", Kind::list, &C::server, &C::Server::trusted_proxies, "proxy addresses or CIDR ranges whose X-Forwarded-For is believed (comma-separated)"),
        field("server.shutdown_delay", Kind::duration, &C::server, &C::Server::shutdown_delay, "on SIGTERM, keep serving with readiness failing this long"),
        field("server.shutdown_timeout", Kind::duration, &C::server, &C::Server::shutdown_timeout, "then wait this long for requests in flight"),
        field("server.gzip_min_bytes", Kind::size, &C::server, &C::Server::gzip_min_bytes,
              "HTML, CSS, JavaScript and JSON responses from this size go out gzipped to clients that take it (0: never)"),
        field("limits.max_header_bytes", Kind::size, &C::limits, &C::Limits::max_header_bytes, "request line and headers"),
        field("limits.max_body_bytes", Kind::size, &C::limits, &C::Limits::max_body_bytes, "body of forms and JSON requests"),
        field("limits.max_upload_bytes", Kind::size, &C::limits, &C::Limits::max_upload_bytes, "body of one upload request, all its photos"),
        field("limits.max_file_bytes", Kind::size, &C::limits, &C::Limits::max_file_bytes, "each photo of an upload"),
        field("limits.max_files_per_upload", Kind::count, &C::limits, &C::Limits::max_files_per_upload, "photos in one upload request"),
        field("limits.max_caption_chars", Kind::count, &C::limits, &C::Limits::max_caption_chars,
              "characters of a photo's caption (at most 2000)"),
        field("limits.max_pixels", Kind::count, &C::limits, &C::Limits::max_pixels, "pixels of an uploaded image (decompression bombs)"),
        field("limits.max_connections", Kind::count, &C::limits, &C::Limits::max_connections, "open connections; more get 503"),
        field("limits.max_connections_per_address", Kind::count, &C::limits, &C::Limits::max_connections_per_address,
              "open connections from one client address; more get 429 (0: no cap; trusted proxies are exempt)"),
        field("limits.header_timeout", Kind::duration, &C::limits, &C::Limits::header_timeout, "time to receive the request headers"),
        field("limits.body_timeout", Kind::duration, &C::limits, &C::Limits::body_timeout,
              "time a request body may take beyond what limits.body_min_rate allows for its bytes"),
        field("limits.body_min_rate", Kind::size, &C::limits, &C::Limits::body_min_rate,
              "slowest average rate a request body may arrive at, per second (408 below)"),
        field("limits.idle_timeout", Kind::duration, &C::limits, &C::Limits::idle_timeout, "keep-alive wait for the next request"),
        field("limits.write_timeout", Kind::duration, &C::limits, &C::Limits::write_timeout, "time to send a response"),
        field("database.url", Kind::text, &C::database, &C::Database::url,
              "sqlite:///path.db, postgresql://user:pw@host:port/db or mysql://user:pw@host:port/db (default: sqlite in the data directory)", true),
        field("database.pool_size", Kind::count, &C::database, &C::Database::pool_size, "database connections"),
        field("database.acquire_timeout", Kind::duration, &C::database, &C::Database::acquire_timeout, "wait for a free connection before 503"),
        field("storage.url", Kind::text, &C::storage, &C::Storage::url,
              "file:///dir or s3://bucket/prefix?region=..&endpoint=..&path_style=true (default: media/ in the data directory)", true),
        field("storage.serve", Kind::text, &C::storage, &C::Storage::serve,
              "how pages point at photos: auto (the server for file://, presigned for s3://), proxy, presigned or public"),
        field("storage.public_url", Kind::text, &C::storage, &C::Storage::public_url, "base URL that serves the objects (a CDN), for serve = public"),
        field("storage.presign_expiry", Kind::duration, &C::storage, &C::Storage::presign_expiry, "lifetime of presigned URLs"),
        field("storage.proxy_cache_bytes", Kind::size, &C::storage, &C::Storage::proxy_cache_bytes,
              "memory for photos proxied from an object store (0: none); one photo takes at most 1/16"),
        field("storage.proxy_cache_ttl", Kind::duration, &C::storage, &C::Storage::proxy_cache_ttl,
              "how long a proxied photo is kept in memory (a deleted one stays reachable here as long)"),
        field("storage.cache_max_age", Kind::duration, &C::storage, &C::Storage::cache_max_age,
              "how long browsers and CDNs may keep a photo's file: a deleted photo is gone from every cache within this"),
        field("sessions.url", Kind::text, &C::sessions, &C::Sessions::url,
              "'database', memory://, memcached://host:port,host2:port2 or redis://[:pw@]host:port/db", true),
        field("sessions.ttl", Kind::duration, &C::sessions, &C::Sessions::ttl, "session lifetime"),
        field("sessions.max_staleness", Kind::duration, &C::sessions, &C::Sessions::max_staleness,
              "sessions in memcached/Redis: how soon a logout reaches every server's remembered copy (0: read the store on every request)"),
        field("sessions.cache_entries", Kind::count, &C::sessions, &C::Sessions::cache_entries,
              "sessions in memcached/Redis: how many one server remembers at once"),
        field("cache.url", Kind::text, &C::cache, &C::Cache::url,
              "front-page cache: memory://, memcached://host:port,... or redis://[:pw@]host:port/db", true),
        field("cache.ttl", Kind::duration, &C::cache, &C::Cache::ttl, "lifetime of a cached feed page"),
        field("cache.max_staleness", Kind::duration, &C::cache, &C::Cache::max_staleness,
              "how far a server's copy of the feed generation may lag the cache store: an upload shows everywhere within this (0: read it on every view)"),
        field("cache.invalidation", Kind::text, &C::cache, &C::Cache::invalidation,
              "generation (default), delete (the seed's delete-on-upload, for comparison) or off (no feed cache)"),
        field("feed.page_size", Kind::count, &C::feed, &C::Feed::page_size, "photos on the front page"),
        field("feed.max_page_size", Kind::count, &C::feed, &C::Feed::max_page_size, "largest ?limit= the API accepts"),
        field("images.display_size", Kind::count, &C::images, &C::Images::display_size, "longest edge of the display variant"),
        field("images.thumbnail_size", Kind::count, &C::images, &C::Images::thumbnail_size, "longest edge of the thumbnail"),
        field("images.sizes", Kind::list, &C::images, &C::Images::sizes, "longest edges of the further JPEG variants pages choose from with srcset (comma-separated; those at or above a photo's own size are not made)"),
        field("images.jpeg_quality", Kind::count, &C::images, &C::Images::jpeg_quality, "JPEG quality of the variants (1-100)"),
        field("images.formats", Kind::list, &C::images, &C::Images::formats, "further formats made for every width in the background (avif, webp; comma-separated; empty: JPEG only)"),
        field("images.avif_quality", Kind::count, &C::images, &C::Images::avif_quality, "AVIF quality (1-100)"),
        field("images.avif_effort", Kind::count, &C::images, &C::Images::avif_effort, "AVIF encoder effort, 0 (fastest) to 9 (smallest files)"),
        field("images.webp_quality", Kind::count, &C::images, &C::Images::webp_quality, "WebP quality (1-100)"),
        field("images.run_jobs", Kind::boolean, &C::images, &C::Images::run_jobs, "this server makes further formats from the queue (any server may; the queue is in the database)"),
        field("images.keep_originals", Kind::boolean, &C::images, &C::Images::keep_originals,
              "keep each upload as it was sent, privately, for its owner to download (metadata and all; never served to anyone else)"),
        field("images.full_size_download", Kind::text, &C::images, &C::Images::full_size_download,
              "who may download a photo at full resolution, without metadata: owner or everyone"),
        field("images.full_size_quality", Kind::count, &C::images, &C::Images::full_size_quality, "JPEG quality of full-size downloads (1-100)"),
        field("images.job_interval", Kind::duration, &C::images, &C::Images::job_interval, "how often this server looks for queued image jobs"),
        field("auth.argon2_memory_kib", Kind::count, &C::auth, &C::Auth::argon2_memory_kib, "argon2id memory per hash, KiB (at least 19456)"),
        field("auth.argon2_iterations", Kind::count, &C::auth, &C::Auth::argon2_iterations, "argon2id passes (at least 2)"),
        field("auth.max_failures_per_user", Kind::count, &C::auth, &C::Auth::max_failures_per_user,
              "failed logins for one username from one address before each further try waits"),
        field("auth.max_failures_per_address", Kind::count, &C::auth, &C::Auth::max_failures_per_address,
              "failed logins from one address, any username, before each further try waits (not for a user's known addresses)"),
        field("auth.max_failures_per_user_total", Kind::count, &C::auth, &C::Auth::max_failures_per_user_total,
              "failed logins for one username from all addresses before tries wait (not from its known addresses)"),
        field("auth.max_admin_failures", Kind::count, &C::auth, &C::Auth::max_admin_failures,
              "wrong admin tokens from one address before each further try waits"),
        field("auth.max_registrations_per_address", Kind::count, &C::auth, &C::Auth::max_registrations_per_address,
              "accounts made from one address in auth.registration_window before each further one waits"),
        field("auth.registration_window", Kind::duration, &C::auth, &C::Auth::registration_window, "window in which new accounts are counted"),
        field("auth.failure_window", Kind::duration, &C::auth, &C::Auth::failure_window, "window in which failures are counted"),
        field("auth.first_delay", Kind::duration, &C::auth, &C::Auth::first_delay, "the wait after the first failure over a limit; doubles with each further one"),
        field("auth.lockout", Kind::duration, &C::auth, &C::Auth::lockout, "the longest wait"),
        field("auth.remember_address", Kind::duration, &C::auth, &C::Auth::remember_address,
              "how long an address a user logged in from counts as known for that user"),
        field("log.level", Kind::text, &C::log, &C::Log::level, "trace, debug, info, warn, error or off"),
        field("log.format", Kind::text, &C::log, &C::Log::format, "plain or json"),
        field("log.access", Kind::boolean, &C::log, &C::Log::access, "one access log line per request"),
        field("knobs.latency_ms", Kind::count, &C::knobs, &C::Knobs::latency_ms, "delay added to every page request (changeable at run time)"),
        field("knobs.cpu_ms", Kind::count, &C::knobs, &C::Knobs::cpu_ms, "computation added to every page request (changeable at run time)"),
        field("knobs.slots", Kind::count, &C::knobs, &C::Knobs::slots,
              "page requests one server works on at once, like a pool of PHP workers (0: no limit; changeable at run time)"),
        field("admin.token", Kind::text, &C::admin, &C::Admin::token, "bearer token for /admin/ (empty: one is made and kept in DATA_DIR/admin.token)", true),
    };
    return all;
}

const Field* find_field(std::string_view key) {
    for (const auto& f : fields())
        if (f.key == key) return &f;
    return nullptr;
}

std::string env_name(const std::string& key) {
    std::string name = "PHOTOSHARE_";
    for (char c : key) name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return name;
}

// A string or a whole number that is not negative, as text; nullopt for other types.
std::optional<std::string> scalar_text(const std::string& key, const toml::node& node) {
    if (auto s = node.as_string()) return s->get();
    if (auto i = node.as_integer()) {
        if (i->get() < 0) invalid(key, "a value that is not negative", std::to_string(i->get()));
        return std::to_string(i->get());
    }
    return std::nullopt;
}

std::string toml_text(const std::string& key, const toml::node& node) {
    if (auto text = scalar_text(key, node)) return *text;
    if (auto b = node.as_boolean()) return b->get() ? "true" : "false";
    if (auto a = node.as_array()) {
        std::string out;
        for (const auto& item : *a) {
            auto text = scalar_text(key, item);
            if (!text) invalid(key, "a list of strings or numbers", "(mixed list)");
            out += (out.empty() ? "" : ",") + *text;
        }
        return out;
    }
    invalid(key, "a string, number, boolean or list", "(other TOML type)");
}

void validate(const Config& c) {
    (void)c.listen_endpoint();
    auto require = [](bool ok, const std::string& key, const std::string& expected, const std::string& got) {
        if (!ok) invalid(key, expected, got);
    };
    const auto& l = c.log;
    require(l.level == "trace" || l.level == "debug" || l.level == "info" || l.level == "warn" || l.level == "error" ||
                l.level == "off",
            "log.level", "trace, debug, info, warn, error or off", l.level);
    require(l.format == "plain" || l.format == "json", "log.format", "plain or json", l.format);
    require(!c.server.data_dir.empty(), "server.data_dir", "a directory", "");
    require(c.limits.max_header_bytes >= 1024, "limits.max_header_bytes", "at least 1KiB", render(c.limits.max_header_bytes, Kind::size));
    require(c.limits.max_body_bytes >= 1024, "limits.max_body_bytes", "at least 1KiB", render(c.limits.max_body_bytes, Kind::size));
    require(c.limits.max_upload_bytes >= 1024, "limits.max_upload_bytes", "at least 1KiB", render(c.limits.max_upload_bytes, Kind::size));
    require(c.limits.max_file_bytes >= 1024, "limits.max_file_bytes", "at least 1KiB", render(c.limits.max_file_bytes, Kind::size));
    require(c.limits.max_files_per_upload >= 1, "limits.max_files_per_upload", "at least 1", "0");
    require(c.limits.max_caption_chars >= 1 && c.limits.max_caption_chars <= 2000, "limits.max_caption_chars", "from 1 to 2000",
            std::to_string(c.limits.max_caption_chars));
    require(c.limits.max_pixels >= 1, "limits.max_pixels", "at least 1", "0");
    require(c.limits.max_connections >= 1, "limits.max_connections", "at least 1", "0");
    require(c.limits.body_min_rate >= 1, "limits.body_min_rate", "at least 1B", "0");
    for (auto [key, d] : {std::pair{"limits.header_timeout", c.limits.header_timeout}, {"limits.body_timeout", c.limits.body_timeout},
                          {"limits.idle_timeout", c.limits.idle_timeout}, {"limits.write_timeout", c.limits.write_timeout}})
        require(d.count() > 0, key, "a duration above zero", format_duration(d));
    require(c.database.pool_size >= 1, "database.pool_size", "at least 1", "0");
    require(c.sessions.ttl.count() >= 60'000, "sessions.ttl", "at least 1m", format_duration(c.sessions.ttl));
    // A bound is a promise to users (a logout, an upload seen everywhere): minutes would be a typo.
    require(c.sessions.max_staleness.count() <= 10'000, "sessions.max_staleness", "0 to 10s", format_duration(c.sessions.max_staleness));
    require(c.cache.max_staleness.count() <= 10'000, "cache.max_staleness", "0 to 10s", format_duration(c.cache.max_staleness));
    require(c.sessions.cache_entries >= 1, "sessions.cache_entries", "at least 1", "0");
    require(c.feed.page_size >= 1 && c.feed.page_size <= c.feed.max_page_size, "feed.page_size",
            fmt::format("1 to feed.max_page_size ({})", c.feed.max_page_size), std::to_string(c.feed.page_size));
    require(c.images.jpeg_quality >= 1 && c.images.jpeg_quality <= 100, "images.jpeg_quality", "1 to 100", std::to_string(c.images.jpeg_quality));
    require(c.images.display_size >= 16 && c.images.display_size <= 16384, "images.display_size", "16 to 16384", std::to_string(c.images.display_size));
    require(c.images.thumbnail_size >= 16 && c.images.thumbnail_size <= c.images.display_size, "images.thumbnail_size",
            "16 to images.display_size", std::to_string(c.images.thumbnail_size));
    for (const auto& format : c.images.formats)
        require(format == "avif" || format == "webp", "images.formats", "avif or webp", format);
    require(c.images.avif_quality >= 1 && c.images.avif_quality <= 100, "images.avif_quality", "1 to 100", std::to_string(c.images.avif_quality));
    require(c.images.avif_effort <= 9, "images.avif_effort", "0 to 9", std::to_string(c.images.avif_effort));
    require(c.images.webp_quality >= 1 && c.images.webp_quality <= 100, "images.webp_quality", "1 to 100", std::to_string(c.images.webp_quality));
    require(c.images.full_size_download == "owner" || c.images.full_size_download == "everyone", "images.full_size_download",
            "owner or everyone", c.images.full_size_download);
    require(c.images.full_size_quality >= 1 && c.images.full_size_quality <= 100, "images.full_size_quality", "1 to 100",
            std::to_string(c.images.full_size_quality));
    require(c.images.job_interval.count() >= 10, "images.job_interval", "at least 10ms", format_duration(c.images.job_interval));
    for (const unsigned size : c.images.sizes)
        require(size >= 16 && size <= 16384, "images.sizes", "sizes from 16 to 16384", std::to_string(size));
    require(c.images.sizes.size() <= 12, "images.sizes", "at most 12 sizes", std::to_string(c.images.sizes.size()));
    require(c.auth.argon2_memory_kib >= 19 * 1024, "auth.argon2_memory_kib", "at least 19456 (OWASP minimum)", std::to_string(c.auth.argon2_memory_kib));
    require(c.auth.argon2_iterations >= 2, "auth.argon2_iterations", "at least 2 (OWASP minimum)", std::to_string(c.auth.argon2_iterations));
    require(c.auth.max_failures_per_user >= 1, "auth.max_failures_per_user", "at least 1", "0");
    require(c.auth.max_failures_per_address >= 1, "auth.max_failures_per_address", "at least 1", "0");
    require(c.auth.max_failures_per_user_total >= 1, "auth.max_failures_per_user_total", "at least 1", "0");
    require(c.auth.max_admin_failures >= 1, "auth.max_admin_failures", "at least 1", "0");
    require(c.auth.max_registrations_per_address >= 1, "auth.max_registrations_per_address", "at least 1", "0");
    for (auto [key, d] : {std::pair{"auth.failure_window", c.auth.failure_window}, {"auth.first_delay", c.auth.first_delay},
                          {"auth.remember_address", c.auth.remember_address}, {"auth.registration_window", c.auth.registration_window}})
        require(d.count() >= 1000, key, "at least 1s", format_duration(d));
    require(c.auth.lockout >= c.auth.first_delay, "auth.lockout", "at least auth.first_delay", format_duration(c.auth.lockout));
    const auto& s = c.sessions.url;
    auto kv_url = [](const std::string& u) {
        return u.starts_with("memory://") || u.starts_with("memcached://") || u.starts_with("redis://");
    };
    require(s == "database" || kv_url(s), "sessions.url", "'database', memory://, memcached://host:port,... or redis://host:port/db",
            redact_url(s));
    const auto& inv = c.cache.invalidation;
    require(inv == "generation" || inv == "delete" || inv == "off", "cache.invalidation", "generation, delete or off", inv);
    require(kv_url(c.cache.url), "cache.url", "memory://, memcached://host:port,... or redis://host:port/db", redact_url(c.cache.url));
    const auto db = c.database_url();
    require(db.starts_with("sqlite://") || db.starts_with("postgresql://") || db.starts_with("postgres://") || db.starts_with("mysql://") ||
                db.starts_with("mariadb://"),
            "database.url", "a sqlite://, postgresql:// or mysql:// URL", redact_url(db));
    require(c.storage_url().starts_with("file://") || c.storage_url().starts_with("s3://"), "storage.url", "a file:// or s3:// URL",
            redact_url(c.storage_url()));
    const auto& serve = c.storage.serve;
    require(serve == "auto" || serve == "proxy" || serve == "presigned" || serve == "public", "storage.serve", "auto, proxy, presigned or public",
            serve);
    require(serve != "public" || !c.storage.public_url.empty(), "storage.public_url", "a base URL when storage.serve = public", "");
    require(serve != "presigned" || c.storage_url().starts_with("s3://"), "storage.serve", "presigned only with an s3:// storage.url", serve);
    require(c.storage.presign_expiry.count() >= 60'000 && c.storage.presign_expiry.count() <= 7LL * 24 * 3'600'000, "storage.presign_expiry",
            "1m to 7d", format_duration(c.storage.presign_expiry));
    require(c.storage.proxy_cache_ttl.count() >= 1'000 && c.storage.proxy_cache_ttl.count() <= 7LL * 24 * 3'600'000,
            "storage.proxy_cache_ttl", "1s to 7d", format_duration(c.storage.proxy_cache_ttl));
    require(c.storage.cache_max_age.count() >= 1'000 && c.storage.cache_max_age.count() <= 365LL * 24 * 3'600'000,
            "storage.cache_max_age", "1s to 365d", format_duration(c.storage.cache_max_age));
}

}  // namespace

Duration parse_duration(const std::string& text) {
    auto t = trim(text);
    std::size_t digits = 0;
    while (digits < t.size() && std::isdigit(static_cast<unsigned char>(t[digits]))) ++digits;
    auto number = parse_uint(std::string_view(t).substr(0, digits));
    if (!number) throw std::invalid_argument("not a duration: " + text);
    auto unit = lower(trim(std::string_view(t).substr(digits)));
    std::uint64_t factor = 0;
    if (unit.empty() || unit == "s") factor = 1000;
    else if (unit == "ms") factor = 1;
    else if (unit == "m" || unit == "min") factor = 60'000;
    else if (unit == "h") factor = 3'600'000;
    else if (unit == "d") factor = 86'400'000;
    else throw std::invalid_argument("not a duration: " + text);
    if (*number > std::numeric_limits<std::int64_t>::max() / factor) throw std::invalid_argument("duration too long: " + text);
    return Duration(static_cast<std::int64_t>(*number * factor));
}

std::uint64_t parse_size(const std::string& text) {
    auto t = trim(text);
    std::size_t digits = 0;
    while (digits < t.size() && std::isdigit(static_cast<unsigned char>(t[digits]))) ++digits;
    auto number = parse_uint(std::string_view(t).substr(0, digits));
    if (!number) throw std::invalid_argument("not a size: " + text);
    auto unit = lower(trim(std::string_view(t).substr(digits)));
    static const std::map<std::string, std::uint64_t> units = {
        {"", 1},           {"b", 1},           {"k", 1024},         {"kib", 1024},    {"m", 1 << 20},
        {"mib", 1 << 20},  {"g", 1ULL << 30},  {"gib", 1ULL << 30}, {"kb", 1000},     {"mb", 1'000'000},
        {"gb", 1'000'000'000}};
    auto it = units.find(unit);
    if (it == units.end()) throw std::invalid_argument("not a size: " + text);
    if (*number > std::numeric_limits<std::uint64_t>::max() / it->second) throw std::invalid_argument("size too large: " + text);
    return *number * it->second;
}

std::string redact_url(const std::string& url) {
    auto scheme_end = url.find("://");
    if (scheme_end == std::string::npos) return url;
    auto authority_start = scheme_end + 3;
    auto authority_end = url.find_first_of("/?#", authority_start);
    if (authority_end == std::string::npos) authority_end = url.size();
    auto at = url.rfind('@', authority_end);
    std::string out = url;
    if (at != std::string::npos && at >= authority_start) {
        auto colon = url.find(':', authority_start);
        if (colon != std::string::npos && colon < at) out = url.substr(0, colon + 1) + "***" + url.substr(at);
    }
    // Secrets passed as query parameters.
    static const char* secret_params[] = {"password", "secret", "secret_key", "secret_access_key", "token", "session_token"};
    for (const char* name : secret_params) {
        for (char sep : {'?', '&'}) {
            std::string needle = std::string(1, sep) + name + "=";
            auto pos = out.find(needle);
            if (pos == std::string::npos) continue;
            auto value_start = pos + needle.size();
            auto value_end = out.find_first_of("&#", value_start);
            if (value_end == std::string::npos) value_end = out.size();
            out.replace(value_start, value_end - value_start, "***");
        }
    }
    return out;
}

std::string Config::database_url() const {
    if (!database.url.empty()) return database.url;
    return "sqlite://" + server.data_dir + "/photoshare.db";
}

std::string Config::storage_url() const {
    if (!storage.url.empty()) return storage.url;
    return "file://" + server.data_dir + "/media";
}

std::string Config::server_name() const {
    if (!server.name.empty()) return server.name;
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0 || host[0] == 0) return "photoshare";
    return host;
}

std::pair<std::string, unsigned short> Config::listen_endpoint() const {
    const auto& l = server.listen;
    std::string host;
    std::string port;
    if (!l.empty() && l.front() == '[') {
        auto close = l.find(']');
        if (close == std::string::npos || close + 1 >= l.size() || l[close + 1] != ':') invalid("server.listen", "host:port", l);
        host = l.substr(1, close - 1);
        port = l.substr(close + 2);
    } else {
        auto colon = l.rfind(':');
        if (colon == std::string::npos) invalid("server.listen", "host:port, like 127.0.0.1:8080 or 0.0.0.0:8080", l);
        host = l.substr(0, colon);
        port = l.substr(colon + 1);
    }
    if (host == "localhost") host = "127.0.0.1";
    if (host.empty() || host == "*") host = "0.0.0.0";
    auto p = parse_uint(port);
    if (!p || *p > 65535) invalid("server.listen", "a port from 0 to 65535", l);
    return {host, static_cast<unsigned short>(*p)};
}

std::vector<std::pair<std::string, std::string>> process_environment() {
    std::vector<std::pair<std::string, std::string>> out;
    for (char** e = environ; e && *e; ++e) {
        std::string_view entry(*e);
        auto eq = entry.find('=');
        if (eq == std::string_view::npos || !entry.starts_with("PHOTOSHARE_")) continue;
        out.emplace_back(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
    }
    return out;
}

Config load(const Sources& sources) {
    Config config;
    if (!sources.file.empty()) {
        toml::table table;
        try {
            table = toml::parse_file(sources.file);
        } catch (const toml::parse_error& e) {
            const auto& where = e.source().begin;
            throw Error(fmt::format("invalid configuration file {} (line {}, column {}): {}", sources.file, where.line, where.column,
                                    e.description()));
        }
        for (const auto& [section, node] : table) {
            auto sub = node.as_table();
            if (!sub) throw Error(fmt::format("invalid configuration file {}: '{}' must be a [section]", sources.file, section.str()));
            for (const auto& [name, value] : *sub) {
                auto key = std::string(section.str()) + "." + std::string(name.str());
                const Field* f = find_field(key);
                if (!f) throw Error(fmt::format("invalid configuration file {}: unknown key '{}'", sources.file, key));
                f->set(config, toml_text(key, value));
            }
        }
    }
    for (const auto& f : fields()) {
        auto name = env_name(f.key);
        for (const auto& [env, value] : sources.environment)
            if (env == name) f.set(config, value);
    }
    for (const auto& [key, value] : sources.flags) {
        const Field* f = find_field(key);
        if (!f) throw Error(fmt::format("invalid configuration: unknown key '{}' (see `photoshare config --keys`)", key));
        f->set(config, value);
    }
    validate(config);
    return config;
}

std::string describe(const Config& config, const Sources& sources) {
    toml::table file_table;
    if (!sources.file.empty()) {
        try {
            file_table = toml::parse_file(sources.file);
        } catch (const std::exception&) {
        }
    }
    auto source_of = [&](const Field& f) -> std::string {
        for (const auto& [key, value] : sources.flags)
            if (key == f.key) return "flag";
        auto name = env_name(f.key);
        for (const auto& [env, value] : sources.environment)
            if (env == name) return "env " + name;
        if (file_table.at_path(f.key)) return "file " + sources.file;
        return "default";
    };
    std::string out = "# effective photoshare configuration (secrets redacted)\n";
    std::string section;
    for (const auto& f : fields()) {
        auto dot = f.key.find('.');
        auto sec = f.key.substr(0, dot);
        if (sec != section) {
            out += fmt::format("{}[{}]\n", section.empty() ? "" : "\n", sec);
            section = sec;
        }
        std::string value = f.get(config);
        if (f.key == "database.url") value = config.database_url();
        if (f.key == "storage.url") value = config.storage_url();
        if (f.key == "server.name") value = config.server_name();
        if (f.secret) value = f.kind == Kind::text && value.find("://") != std::string::npos ? redact_url(value) : (value.empty() ? "" : "<redacted>");
        std::string rendered;
        if (f.kind == Kind::count || f.kind == Kind::boolean) {
            rendered = value;
        } else if (f.kind == Kind::list) {
            rendered = "[";
            auto items = std::vector<std::string>{};
            assign(items, Kind::list, f.key, value);
            for (std::size_t i = 0; i < items.size(); ++i) rendered += fmt::format("{}\"{}\"", i ? ", " : "", items[i]);
            rendered += "]";
        } else {
            std::ostringstream quoted;
            quoted << toml::value<std::string>(value);
            rendered = quoted.str();
        }
        out += fmt::format("{} = {}  # {}\n", f.key.substr(dot + 1), rendered, source_of(f));
    }
    return out;
}

std::vector<KeyInfo> keys() {
    Config defaults;
    std::vector<KeyInfo> out;
    for (const auto& f : fields()) out.push_back({f.key, f.help, f.get(defaults), f.secret});
    return out;
}

}  // namespace photoshare::config
