// The effective configuration: defaults, then a TOML file, then PHOTOSHARE_* environment
// variables, then command-line flags — each overriding the one before. Every key is
// declared once in config.cpp with its type, default, help text and whether it is secret.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace photoshare::config {

using Duration = std::chrono::milliseconds;

struct Config {
    struct Server {
        std::string name;  // empty: the host name
        std::string listen = "127.0.0.1:8080";
        std::string data_dir = "data";
        unsigned io_threads = 0;  // 0: one per core
        unsigned workers = 0;     // blocking pool; 0: 4 per core, at least 8
        bool secure_cookies = false;
        std::vector<std::string> trusted_proxies;
        Duration shutdown_delay{0};
        Duration shutdown_timeout{30'000};
        std::uint64_t gzip_min_bytes = 1024;  // text responses from this size are gzipped; 0: never
    } server;
    struct Limits {
        std::uint64_t max_header_bytes = 16 * 1024;
        std::uint64_t max_body_bytes = 64 * 1024;         // forms and JSON
        std::uint64_t max_upload_bytes = 100 * 1024 * 1024;  // one upload request, all its files
        std::uint64_t max_file_bytes = 25 * 1024 * 1024;     // each photo of an upload
        std::uint64_t max_files_per_upload = 20;
        std::uint64_t max_caption_chars = 500;  // characters (code points) of a photo's caption
        std::uint64_t max_pixels = 50'000'000;
        std::uint64_t max_connections = 10'000;
        std::uint64_t max_connections_per_address = 256;  // 0: no cap; trusted proxies are exempt
        Duration header_timeout{10'000};
        Duration body_timeout{10'000};    // what a body may take beyond body_min_rate's allowance
        std::uint64_t body_min_rate = 1024;  // bytes per second, averaged from the body's start
        Duration idle_timeout{60'000};
        Duration write_timeout{60'000};
    } limits;
    struct Database {
        std::string url;  // empty: sqlite in the data directory
        unsigned pool_size = 8;
        Duration acquire_timeout{5'000};
    } database;
    struct Storage {
        std::string url;  // empty: file:// in the data directory
        std::string serve = "auto";       // auto | proxy | presigned | public
        std::string public_url;           // base URL of the objects (a CDN), for serve = public
        Duration presign_expiry{3'600'000};
        // Photos proxied from an object store are kept in memory (0: off), each for at most
        // proxy_cache_ttl, which bounds how long a deleted photo stays reachable here.
        std::uint64_t proxy_cache_bytes = 32ULL * 1024 * 1024;
        Duration proxy_cache_ttl{600'000};
        // How long browsers and CDNs may keep a photo's file (Cache-Control max-age): a
        // deleted photo's files leave the store at once, and every cache within this.
        Duration cache_max_age{24LL * 3600 * 1000};
    } storage;
    struct Sessions {
        std::string url = "database";
        Duration ttl{14LL * 24 * 3600 * 1000};
        // Sessions in memcached or Redis are remembered by the server that read them; a
        // logout anywhere reaches every server's copy within max_staleness (0: read the store
        // on every request).
        Duration max_staleness{100};
        std::uint64_t cache_entries = 10'000;  // sessions a server remembers at once
    } sessions;
    struct Cache {
        std::string url = "memory://";
        Duration ttl{60'000};
        // How far a server's copy of the feed generation may lag the cache store's: an upload
        // shows on every server within this (at once to its uploader). 0: read the store on
        // every view.
        Duration max_staleness{100};
        // generation: the design above; delete: the seed's scheme (one key per page,
        // deleted on upload; kept to measure against); off: no feed cache at all.
        std::string invalidation = "generation";
    } cache;
    struct Feed {
        unsigned page_size = 10;
        unsigned max_page_size = 100;
    } feed;
    struct Images {
        unsigned display_size = 2048;
        unsigned thumbnail_size = 480;
        std::vector<unsigned> sizes{320, 640, 1024, 1600};
        std::vector<std::string> formats{"avif", "webp"};
        unsigned avif_quality = 55;
        unsigned avif_effort = 2;
        unsigned webp_quality = 80;
        bool run_jobs = true;
        Duration job_interval{2000};
        unsigned jpeg_quality = 82;
        bool keep_originals = true;               // each upload as sent, for its owner only
        std::string full_size_download = "owner";  // owner | everyone
        unsigned full_size_quality = 90;
    } images;
    struct Auth {
        unsigned argon2_memory_kib = 19 * 1024;
        unsigned argon2_iterations = 2;
        unsigned max_failures_per_user = 5;          // one username from one address
        unsigned max_failures_per_address = 20;      // one address, every username
        unsigned max_failures_per_user_total = 100;  // one username, every address
        unsigned max_admin_failures = 5;             // wrong admin tokens from one address
        unsigned max_registrations_per_address = 20;  // accounts made from one address per window
        Duration registration_window{3600 * 1000};
        Duration failure_window{15 * 60 * 1000};
        Duration first_delay{1000};
        Duration lockout{15 * 60 * 1000};
        Duration remember_address{30LL * 24 * 3600 * 1000};
    } auth;
    struct Log {
        std::string level = "info";
        std::string format = "plain";  // plain | json
        bool access = true;
    } log;
    struct Knobs {
        std::uint64_t latency_ms = 0;  // added to every page request
        std::uint64_t cpu_ms = 0;      // of real computation per page request
        std::uint64_t slots = 0;       // page requests served at once (0: unlimited)
    } knobs;
    struct Admin {
        std::string token;  // empty: admin endpoints only from loopback
    } admin;

    // Effective values of settings whose default depends on others.
    std::string database_url() const;
    std::string storage_url() const;
    std::string server_name() const;
    std::pair<std::string, unsigned short> listen_endpoint() const;  // validated
};

// An invalid setting; the message names the key and says what was expected.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Sources {
    std::string file;                                          // TOML file; empty: none
    std::vector<std::pair<std::string, std::string>> environment;  // name, value (all of it; PHOTOSHARE_* are read)
    std::vector<std::pair<std::string, std::string>> flags;        // key, value from the command line
};

// Reads sources in order and validates the result. Throws Error.
Config load(const Sources& sources);
// The current process environment, for Sources::environment.
std::vector<std::pair<std::string, std::string>> process_environment();

// TOML of every key with its effective value and where it came from; secrets redacted.
std::string describe(const Config& config, const Sources& sources);
// A URL with any password replaced by "***".
std::string redact_url(const std::string& url);

// "10s", "250ms", "5m", "2h", "14d" or an integer number of seconds.
Duration parse_duration(const std::string& text);
// "25MiB", "16KiB", "1GiB", "1000" bytes (also KB/MB/GB as powers of 1000).
std::uint64_t parse_size(const std::string& text);

struct KeyInfo {
    std::string key;
    std::string help;
    std::string default_value;
    bool secret;
};
std::vector<KeyInfo> keys();

}  // namespace photoshare::config
