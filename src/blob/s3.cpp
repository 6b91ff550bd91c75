// The S3 store (see s3.hpp for the URL). Every request is signed with SigV4 (sigv4.cpp),
// sent by http_client.cpp, and retried here when that is safe: the operations used are all
// idempotent for this store (keys are unique, so a repeated PUT writes the same bytes), and
// a streaming read is retried only until its first byte has gone to the caller.
#include "blob/s3.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <span>
#include <stdexcept>
#include <thread>

#include "blob/http_client.hpp"
#include "blob/xml.hpp"
#include "codec/hex.hpp"
#include "codec/percent.hpp"
#include "codec/sha256.hpp"

namespace photoshare::blob::s3 {

namespace {

using Header = http::Header;

constexpr std::size_t min_part_size = 5u << 20;   // S3's minimum for all parts but the last
constexpr std::size_t max_parts = 10000;          // S3's maximum number of parts
constexpr auto max_presign_expiry = std::chrono::seconds(7 * 24 * 3600);
constexpr auto presign_step = std::chrono::seconds(15 * 60);  // see presigned_url()
constexpr std::size_t upload_pace = 128 * 1024;  // bytes a second that an upload's time limit allows for

// ---- digests ------------------------------------------------------------------------

std::string base64(std::span<const std::uint8_t> bytes) {
    const int variant = sodium_base64_VARIANT_ORIGINAL;
    std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
    sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), variant);
    out.resize(std::char_traits<char>::length(out.c_str()));
    return out;
}

// ---- URL parsing ----------------------------------------------------------------------

// %XX decoding; '+' is kept. `what` names the part for the message.
std::string percent_decode(std::string_view in, const std::string& what) {
    std::string out;
    if (const auto error = codec::percent_decode_to(out, in, false, true)) {
        throw std::invalid_argument(*error == codec::PercentError::bad_escape
                                        ? "s3:// URL: malformed %-escape in " + what
                                        : "s3:// URL: %00 in " + what);
    }
    return out;
}

bool is_true(const std::string& v, const std::string& name) {
    if (v == "true" || v == "1" || v == "yes") return true;
    if (v == "false" || v == "0" || v == "no") return false;
    throw std::invalid_argument("s3:// URL: " + name + " must be true or false");
}

std::chrono::milliseconds seconds_option(const std::string& v, const std::string& name) {
    char* end = nullptr;
    const double s = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || !(s > 0) || s > 3600) {
        throw std::invalid_argument("s3:// URL: " + name + " must be a number of seconds, more than 0 and at most 3600");
    }
    return std::chrono::milliseconds(static_cast<long long>(s * 1000));
}

std::size_t size_option(const std::string& v, const std::string& name) {
    std::size_t digits = 0;
    while (digits < v.size() && v[digits] >= '0' && v[digits] <= '9') ++digits;
    const std::string unit = v.substr(digits);
    std::size_t scale = 0;
    if (unit.empty() || unit == "B") scale = 1;
    else if (unit == "KiB" || unit == "K") scale = 1u << 10;
    else if (unit == "MiB" || unit == "M") scale = 1u << 20;
    else if (unit == "GiB" || unit == "G") scale = 1u << 30;
    if (digits == 0 || digits > 12 || scale == 0) {
        throw std::invalid_argument("s3:// URL: " + name + " must be a size such as 8MiB (B, KiB, MiB or GiB)");
    }
    return std::stoull(v.substr(0, digits)) * scale;
}

bool dns_bucket(const std::string& b) {
    if (b.size() < 3 || b.size() > 63 || b.find("..") != std::string::npos || b.front() == '.' || b.front() == '-' ||
        b.back() == '.' || b.back() == '-') {
        return false;
    }
    return std::all_of(b.begin(), b.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'; });
}

void parse_endpoint(const std::string& value, Options& o) {
    std::string rest;
    if (value.starts_with("https://")) {
        o.scheme = "https";
        rest = value.substr(8);
    } else if (value.starts_with("http://")) {
        o.scheme = "http";
        rest = value.substr(7);
    } else {
        throw std::invalid_argument("s3:// URL: endpoint must start with https:// or http://");
    }
    while (!rest.empty() && rest.back() == '/') rest.pop_back();
    const bool ok = !rest.empty() && std::all_of(rest.begin(), rest.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
               c == ':' || c == '[' || c == ']';
    });
    if (!ok) {
        throw std::invalid_argument("s3:// URL: endpoint must be scheme://host[:port], without a path or user");
    }
    // The default port is left out of the Host header, as clients (and signers) do.
    if (o.scheme == "https" && rest.ends_with(":443")) rest.resize(rest.size() - 4);
    if (o.scheme == "http" && rest.ends_with(":80")) rest.resize(rest.size() - 3);
    o.endpoint_host = rest;
    o.endpoint_given = true;
}

// ---- the store ------------------------------------------------------------------------

bool retryable_status(long status) { return status == 500 || status == 502 || status == 503 || status == 504 || status == 429; }

std::string error_code(const http::Response& res) {
    if (auto code = xml::first(res.body, "Code")) return *code;
    return res.header("x-amz-error-code");
}

std::string error_message(const http::Response& res) {
    if (auto m = xml::first(res.body, "Message")) return *m;
    return res.header("x-amz-error-message");
}

// " (HTTP 503 SlowDown: Please reduce your request rate.)" and the like.
std::string status_text(const http::Response& res) {
    std::string out = std::to_string(res.status);
    const std::string code = error_code(res);
    if (!code.empty()) out += " " + code;
    const std::string message = error_message(res);
    if (!message.empty()) out += ": " + message;
    return out;
}

struct Call {
    const char* op = "";        // "put", "get"... for messages
    std::string method = "GET";
    std::string object;         // key under the prefix, for messages ("" for bucket operations)
    std::string path;           // decoded request path
    std::vector<Header> query;
    std::vector<Header> headers;
    std::string_view body;
    bool send_body = false;
    std::string payload_hash;   // "" for an empty body
    bool streaming = false;
    const bool* body_started = nullptr;  // streaming: a chunk went to the caller; no more retries
    bool error_in_200 = false;  // CompleteMultipartUpload: a 200 may carry an <Error>
    bool quick = false;         // a health check: one attempt with a short timeout
};

class S3Store final : public Store {
public:
    S3Store(Options o, std::shared_ptr<credentials::Provider> provider)
        : o_(std::move(o)), provider_(std::move(provider)), scope_{.region = o_.region, .service = "s3"} {
        host_ = o_.path_style ? o_.endpoint_host : o_.bucket + "." + o_.endpoint_host;
        where_ = "s3://" + o_.bucket + (o_.prefix.empty() ? "" : "/" + o_.prefix);
        if (o_.endpoint_given) where_ += " at " + o_.scheme + "://" + o_.endpoint_host;
    }

    void put(const std::string& key, std::string_view data, const ObjectInfo& info) override {
        if (!valid_key(key)) {
            throw std::invalid_argument("blob put: invalid key");
        }
        if (data.size() > o_.multipart_threshold) {
            put_multipart(key, data, info);
            return;
        }
        Call c = object_call("put", "PUT", key);
        add_info(c, info);
        // The signed payload hash makes S3 check the bytes; the checksum is kept with the
        // object, so anyone can check it later.
        const codec::Sha256 digest = codec::sha256(data);
        c.headers.emplace_back("x-amz-checksum-sha256", base64(digest));
        c.body = data;
        c.send_body = true;
        c.payload_hash = codec::to_hex(digest);
        const auto res = send(c);
        if (res.status != 200) fail(c, res);
    }

    std::optional<std::string> get(const std::string& key) override {
        if (!valid_key(key)) return std::nullopt;
        Call c = object_call("get", "GET", key);
        auto res = send(c);
        if (res.status == 404 && error_code(res) != "NoSuchBucket") return std::nullopt;
        if (res.status != 200) fail(c, res);
        return std::move(res.body);
    }

    void remove(const std::string& key) override {
        if (!valid_key(key)) {
            throw std::invalid_argument("blob remove: invalid key");
        }
        Call c = object_call("remove", "DELETE", key);
        const auto res = send(c);
        // S3 answers 204 whether or not the key existed; other stores may say 404.
        if (res.status == 404 && error_code(res) != "NoSuchBucket") return;
        if (res.status != 204 && res.status != 200) fail(c, res);
    }

    bool exists(const std::string& key) override {
        if (!valid_key(key)) return false;
        Call c = object_call("exists", "HEAD", key);
        const auto res = send(c);
        if (res.status == 200) return true;
        if (res.status == 404) return false;
        fail(c, res);
    }

    std::vector<std::string> list() override {
        std::vector<std::string> keys;
        const std::string prefix = o_.prefix.empty() ? "" : o_.prefix + "/";
        std::string token;
        for (;;) {
            Call c = bucket_call("list");
            c.query = {{"list-type", "2"}, {"max-keys", std::to_string(o_.list_page_size)}};
            if (!prefix.empty()) c.query.emplace_back("prefix", prefix);
            if (!token.empty()) c.query.emplace_back("continuation-token", token);
            const auto res = send(c);
            if (res.status != 200) fail(c, res);
            for (auto& full : xml::all(res.body, "Key")) {
                if (!full.starts_with(prefix)) continue;
                std::string name = full.substr(prefix.size());
                // Only what put() could have made: a valid key right under the prefix.
                if (valid_key(name)) keys.push_back(std::move(name));
            }
            const auto truncated = xml::first(res.body, "IsTruncated");
            const auto next = xml::first(res.body, "NextContinuationToken");
            if (!truncated || *truncated != "true") break;
            if (!next || next->empty() || *next == token) {
                throw Unavailable(where_ + ": list: a truncated listing without a continuation token");
            }
            token = *next;
        }
        std::sort(keys.begin(), keys.end());
        keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
        return keys;
    }

    std::optional<std::filesystem::path> local_path(const std::string&) const override { return std::nullopt; }

    void check() override {
        // Readiness is asked every second: a store that hangs must be reported hung in a
        // couple of seconds, not after the retries an upload deserves.
        Call c = bucket_call("check");
        c.quick = true;
        c.query = {{"list-type", "2"}, {"max-keys", "1"}};
        if (!o_.prefix.empty()) c.query.emplace_back("prefix", o_.prefix + "/");
        const auto res = send(c);
        if (res.status != 200) fail(c, res);
    }

    std::string describe() const override {
        std::string out = "s3://" + o_.bucket + (o_.prefix.empty() ? "" : "/" + o_.prefix) + " (region " + o_.region;
        if (o_.endpoint_given) out += ", endpoint " + o_.scheme + "://" + o_.endpoint_host;
        if (o_.path_style) out += ", path style";
        return out + ", credentials from " + provider_->source() + ")";
    }

    std::string url_origin() const override { return o_.scheme + "://" + host_; }

    std::optional<std::string> presigned_url(const std::string& key, std::chrono::seconds expires) override {
        if (!valid_key(key)) return std::nullopt;
        if (expires < std::chrono::seconds(1) || expires > max_presign_expiry) {
            throw std::invalid_argument("presigned URL expiry must be between 1 second and 7 days");
        }
        const auto credentials = current_credentials();
        sigv4::Request req{.method = "GET", .path = object_path(key), .query = {}, .headers = {{"host", host_}},
                           .payload_hash = "UNSIGNED-PAYLOAD"};
        // Signed at a rounded-down time, so a key's URL stays the same for a while and
        // browsers (and cached pages) keep hitting their caches: valid for at least 3/4 of
        // `expires` from now.
        auto signed_at = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
        const auto step = std::min<std::chrono::seconds>(expires / 4, presign_step);
        if (step >= std::chrono::seconds(1)) {
            signed_at -= signed_at.time_since_epoch() % step;
        }
        return sigv4::presign(req, credentials, scope_, signed_at, expires, o_.scheme);
    }

    void stream(const std::string& key, const std::function<bool(std::string_view)>& sink, ObjectMeta* meta) override {
        if (!valid_key(key)) throw NotFound(where_ + ": no object (invalid key)");
        Call c = object_call("stream", "GET", key);
        c.streaming = true;
        bool started = false;
        c.body_started = &started;
        ObjectMeta m;
        http::BodySink body = [&](const http::Response& r, std::string_view chunk) {
            if (!started) {
                m = meta_of(r);
                if (meta) *meta = m;
                started = true;
            }
            return sink(chunk);
        };
        const auto res = send(c, &body);
        if (res.stopped_by_sink) return;
        if (res.status == 404 && error_code(res) != "NoSuchBucket") throw NotFound(where_ + ": no object " + key);
        if (res.status != 200) fail(c, res);
        if (!started && meta) *meta = meta_of(res);  // an empty object: no chunk came
    }

private:
    // ---- requests ----

    std::string object_path(const std::string& key) const {
        const std::string full = o_.prefix.empty() ? key : o_.prefix + "/" + key;
        return o_.path_style ? "/" + o_.bucket + "/" + full : "/" + full;
    }

    Call object_call(const char* op, const char* method, const std::string& key) const {
        Call c;
        c.op = op;
        c.method = method;
        c.object = key;
        c.path = object_path(key);
        return c;
    }

    Call bucket_call(const char* op) const {
        Call c;
        c.op = op;
        c.path = o_.path_style ? "/" + o_.bucket : "/";
        return c;
    }

    static void add_info(Call& c, const ObjectInfo& info) {
        if (!info.content_type.empty()) c.headers.emplace_back("content-type", info.content_type);
        if (!info.cache_control.empty()) c.headers.emplace_back("cache-control", info.cache_control);
    }

    static ObjectMeta meta_of(const http::Response& r) {
        ObjectMeta m;
        const std::string length = r.header("content-length");
        if (!length.empty()) m.size = std::strtoull(length.c_str(), nullptr, 10);
        m.content_type = r.header("content-type");
        m.etag = r.header("etag");
        m.cache_control = r.header("cache-control");
        return m;
    }

    std::string url_of(const Call& c) const {
        std::string url = o_.scheme + "://" + host_ + sigv4::uri_encode(c.path, false);
        char sep = '?';
        for (const auto& [name, value] : c.query) {
            url += sep;
            url += sigv4::uri_encode(name, true) + "=" + sigv4::uri_encode(value, true);
            sep = '&';
        }
        return url;
    }

    sigv4::Credentials current_credentials() const {
        try {
            return provider_->get();
        } catch (const Unavailable& e) {
            throw Unavailable(where_ + ": " + e.what());
        }
    }

    std::string what_of(const Call& c) const {
        return where_ + ": " + c.op + (c.object.empty() ? std::string() : " " + c.object);
    }

    std::chrono::milliseconds backoff(int retry) const {
        thread_local std::mt19937_64 rng{std::random_device{}()};
        const auto full = std::min<long long>(o_.backoff_cap.count(), o_.backoff_base.count() << std::min(retry - 1, 20));
        std::uniform_int_distribution<long long> pick(full / 2, std::max<long long>(full / 2, full));
        return std::chrono::milliseconds(pick(rng));
    }

    // Sends the call, retrying what may be retried, and returns the last answer; throws
    // Unavailable when no answer came.
    http::Response send(const Call& c, const http::BodySink* sink = nullptr) const {
        bool refreshed_credentials = false;
        for (int attempt = 1;; ++attempt) {
            const bool may_retry = !c.quick && attempt <= o_.retries && !(c.body_started && *c.body_started);
            sigv4::Request req{.method = c.method, .path = c.path, .query = c.query, .headers = c.headers,
                               .payload_hash = c.payload_hash};
            req.headers.emplace_back("host", host_);
            sigv4::sign(req, current_credentials(), scope_, std::chrono::system_clock::now());

            http::Request h;
            h.method = c.method;
            h.url = url_of(c);
            h.headers = std::move(req.headers);
            h.body = c.body;
            h.send_body = c.send_body;
            h.connect_timeout = c.quick ? std::min(o_.connect_timeout, std::chrono::milliseconds(1000)) : o_.connect_timeout;
            if (c.quick) {
                h.timeout = std::min(o_.timeout, std::chrono::milliseconds(2000));
            } else if (c.streaming) {
                h.timeout = std::chrono::milliseconds(0);
                h.response_timeout = o_.timeout;
            } else {
                // Uploads get time for their bytes too, at a slow uplink's pace (128 KiB/s):
                // an 8 MiB part from a laptop must not time out where a HEAD should.
                h.timeout = o_.timeout + std::chrono::milliseconds(c.body.size() * 1000 / upload_pace);
            }
            http::Response res;
            try {
                res = http::perform(h, sink);
            } catch (const http::TransportError& e) {
                if (c.body_started && *c.body_started) {
                    throw Unavailable(what_of(c) + ": cut short: " + e.what());
                }
                if (may_retry) {
                    std::this_thread::sleep_for(backoff(attempt));
                    continue;
                }
                throw Unavailable(what_of(c) + ": " + e.what() + attempts_text(attempt));
            }
            if (c.error_in_200 && res.status == 200 && res.body.find("<Error>") != std::string::npos) {
                res.status = 500;  // treated like the server error it is
            }
            const std::string code = res.status >= 400 ? error_code(res) : std::string();
            const bool retry = retryable_status(res.status) || code == "RequestTimeout" || code == "SlowDown";
            if (retry && may_retry) {
                std::this_thread::sleep_for(backoff(attempt));
                continue;
            }
            if ((code == "ExpiredToken" || code == "TokenRefreshRequired") && !refreshed_credentials) {
                provider_->invalidate();  // temporary credentials ran out early: fetch anew
                refreshed_credentials = true;
                continue;
            }
            last_attempts_ = attempt;
            return res;
        }
    }

    static std::string attempts_text(int attempts) {
        return attempts > 1 ? " (gave up after " + std::to_string(attempts) + " attempts)" : "";
    }

    [[noreturn]] void fail(const Call& c, const http::Response& res) const {
        const int attempts = last_attempts_;
        const std::string code = error_code(res);
        if (res.status == 403) {
            throw Misconfigured(what_of(c) + ": credentials rejected (" + status_text(res) + ")");
        }
        if (res.status == 404 && (code == "NoSuchBucket" || (c.object.empty() && code.empty()))) {
            throw Misconfigured(what_of(c) + ": bucket " + o_.bucket + " does not exist (404)");
        }
        if (res.status == 301 || code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed") {
            throw Misconfigured(what_of(c) + ": wrong region or endpoint for bucket " + o_.bucket + " (" + status_text(res) +
                                ")");
        }
        throw Unavailable(what_of(c) + ": HTTP " + status_text(res) +
                          (retryable_status(res.status) ? attempts_text(attempts) : ""));
    }

    // ---- multipart upload ----

    void put_multipart(const std::string& key, std::string_view data, const ObjectInfo& info) {
        Call create = object_call("put (start multipart upload)", "POST", key);
        create.query = {{"uploads", ""}};
        add_info(create, info);
        create.send_body = true;
        auto res = send(create);
        if (res.status != 200) fail(create, res);
        const auto upload_id = xml::first(res.body, "UploadId");
        if (!upload_id || upload_id->empty()) {
            throw Unavailable(what_of(create) + ": the answer has no UploadId");
        }
        // S3 allows at most 10000 parts: grow the parts for huge objects.
        std::size_t part_size = std::max(o_.part_size, min_part_size);
        part_size = std::max(part_size, (data.size() + max_parts - 1) / max_parts);
        try {
            std::string parts_xml;
            int number = 0;
            for (std::size_t offset = 0; offset < data.size(); offset += part_size) {
                ++number;
                const std::string_view part = data.substr(offset, part_size);
                Call up = object_call("put (upload part)", "PUT", key);
                up.query = {{"partNumber", std::to_string(number)}, {"uploadId", *upload_id}};
                up.body = part;
                up.send_body = true;
                up.payload_hash = codec::sha256_hex(part);  // signed: S3 checks the part's bytes
                const auto r = send(up);
                if (r.status != 200) fail(up, r);
                const std::string etag = r.header("etag");
                if (etag.empty()) throw Unavailable(what_of(up) + ": the answer has no ETag");
                parts_xml += "<Part><PartNumber>" + std::to_string(number) + "</PartNumber><ETag>" + xml::escape(etag) +
                             "</ETag></Part>";
            }
            const std::string body = "<CompleteMultipartUpload>" + parts_xml + "</CompleteMultipartUpload>";
            Call done = object_call("put (complete multipart upload)", "POST", key);
            done.query = {{"uploadId", *upload_id}};
            done.headers.emplace_back("content-type", "application/xml");
            done.body = body;
            done.send_body = true;
            done.payload_hash = codec::sha256_hex(body);
            done.error_in_200 = true;
            const auto r = send(done);
            if (r.status == 200) return;
            // A retried completion whose first try succeeded (its answer lost) finds the
            // upload gone: the object is there.
            if (r.status == 404 && error_code(r) == "NoSuchUpload" && last_attempts_ > 1 && size_of(key) == data.size()) {
                return;
            }
            fail(done, r);
        } catch (...) {
            abort_multipart(key, *upload_id);
            throw;
        }
    }

    std::optional<std::uint64_t> size_of(const std::string& key) const {
        try {
            Call c = object_call("exists", "HEAD", key);
            const auto res = send(c);
            if (res.status != 200) return std::nullopt;
            return std::strtoull(res.header("content-length").c_str(), nullptr, 10);
        } catch (const Unavailable&) {
            return std::nullopt;
        }
    }

    // Best effort: parts left behind cost storage until a lifecycle rule removes them
    // (docs/DEPLOY.md: AbortIncompleteMultipartUpload).
    void abort_multipart(const std::string& key, const std::string& upload_id) const noexcept {
        try {
            Call c = object_call("put (abort multipart upload)", "DELETE", key);
            c.query = {{"uploadId", upload_id}};
            send(c);
        } catch (...) {
        }
    }

    Options o_;
    std::shared_ptr<credentials::Provider> provider_;
    sigv4::Scope scope_;
    std::string host_;   // Host header: bucket.endpoint or endpoint
    std::string where_;  // s3://bucket/prefix [at endpoint], for messages
    // The attempts of the last send() on this thread, for messages. Thread-local, as the
    // store is used by many threads at once.
    static thread_local int last_attempts_;
};

thread_local int S3Store::last_attempts_ = 1;

}  // namespace

Options parse_url(const std::string& url) {
    if (!url.starts_with("s3://")) {
        throw std::invalid_argument("s3:// URL expected");
    }
    std::string_view rest(url);
    rest.remove_prefix(5);
    if (rest.find('#') != std::string_view::npos) {
        throw std::invalid_argument("s3:// URL: no #fragment allowed");
    }
    const auto qmark = rest.find('?');
    const std::string_view location = rest.substr(0, qmark);
    const std::string_view query = qmark == std::string_view::npos ? std::string_view() : rest.substr(qmark + 1);
    if (location.find('@') != std::string_view::npos) {
        throw std::invalid_argument(
            "s3:// URL: credentials go in the query (access_key_id=...&secret_access_key=...), not before an @");
    }
    Options o;
    const auto slash = location.find('/');
    o.bucket = std::string(location.substr(0, slash));
    const bool bucket_ok = !o.bucket.empty() && o.bucket.size() <= 255 && std::all_of(o.bucket.begin(), o.bucket.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    });
    if (!bucket_ok) {
        throw std::invalid_argument("s3:// URL needs a bucket name (letters, digits, '.', '-'), e.g. s3://my-bucket/photos");
    }
    if (slash != std::string_view::npos) {
        std::string prefix = percent_decode(location.substr(slash + 1), "the prefix");
        while (!prefix.empty() && prefix.front() == '/') prefix.erase(0, 1);
        while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
        std::string segment;
        for (std::size_t i = 0; i <= prefix.size(); ++i) {
            if (i == prefix.size() || prefix[i] == '/') {
                if (segment.empty() || segment == "." || segment == "..") {
                    if (!prefix.empty()) throw std::invalid_argument("s3:// URL: the prefix has an empty, '.' or '..' segment");
                }
                segment.clear();
                continue;
            }
            if (static_cast<unsigned char>(prefix[i]) < 0x20 || prefix[i] == 0x7f) {
                throw std::invalid_argument("s3:// URL: the prefix has a control character");
            }
            segment += prefix[i];
        }
        o.prefix = prefix;
    }

    std::string endpoint;
    std::size_t pos = 0;
    while (pos <= query.size() && !query.empty()) {
        const auto amp = query.find('&', pos);
        const std::string_view item = query.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
        pos = amp == std::string_view::npos ? query.size() + 1 : amp + 1;
        if (item.empty()) continue;
        const auto eq = item.find('=');
        const std::string name = percent_decode(item.substr(0, eq), "an option name");
        const std::string value = eq == std::string_view::npos ? "" : percent_decode(item.substr(eq + 1), "option " + name);
        if (name == "region") {
            const bool ok = !value.empty() && value.size() <= 64 && std::all_of(value.begin(), value.end(), [](char c) {
                return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
            });
            if (!ok) throw std::invalid_argument("s3:// URL: region must look like eu-west-1");
            o.region = value;
        } else if (name == "endpoint") {
            endpoint = value;
        } else if (name == "path_style") {
            o.path_style = is_true(value, name);
        } else if (name == "access_key_id") {
            o.credentials.access_key_id = value;
        } else if (name == "secret_access_key") {
            o.credentials.secret_access_key = value;
        } else if (name == "session_token") {
            o.credentials.session_token = value;
        } else if (name == "timeout") {
            o.timeout = seconds_option(value, name);
        } else if (name == "connect_timeout") {
            o.connect_timeout = seconds_option(value, name);
        } else if (name == "retries") {
            if (value.empty() || value.size() > 2 || !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
                std::stoi(value) > 10) {
                throw std::invalid_argument("s3:// URL: retries must be a number from 0 to 10");
            }
            o.retries = std::stoi(value);
        } else if (name == "multipart_threshold") {
            o.multipart_threshold = size_option(value, name);
            if (o.multipart_threshold == 0) throw std::invalid_argument("s3:// URL: multipart_threshold must be more than 0");
        } else if (name == "part_size") {
            o.part_size = size_option(value, name);
            if (o.part_size < min_part_size || o.part_size > (std::size_t{5} << 30)) {
                throw std::invalid_argument("s3:// URL: part_size must be from 5MiB to 5GiB");
            }
        } else {
            // The name only: a mistyped secret's name may still be followed by the secret.
            throw std::invalid_argument(
                "s3:// URL: unknown option '" + name +
                "' (known: region, endpoint, path_style, access_key_id, secret_access_key, session_token, timeout, "
                "connect_timeout, retries, multipart_threshold, part_size)");
        }
    }
    if (endpoint.empty()) {
        o.endpoint_host = "s3." + o.region + ".amazonaws.com";
    } else {
        parse_endpoint(endpoint, o);
    }
    if (!o.path_style && !dns_bucket(o.bucket)) {
        throw std::invalid_argument("s3:// URL: bucket " + o.bucket +
                                    " cannot be a host name (virtual-host style); use path_style=true");
    }
    return o;
}

std::unique_ptr<Store> open(const Options& options, std::shared_ptr<credentials::Provider> provider) {
    if (!provider) provider = credentials::chain(options.credentials);
    return std::make_unique<S3Store>(options, std::move(provider));
}

}  // namespace photoshare::blob::s3
