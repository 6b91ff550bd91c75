// Level 2 through HAProxy: three photoshare servers (PostgreSQL + memcached) whose photos live in
// S3 — s3rver, started by `scripts/stack --storage s3`. Two stacks: one with presigned URLs
// (storage.serve = auto), one streaming the objects through photoshare (--serve proxy). Also a
// single server whose bucket does not exist, or whose credentials S3 refuses.
//
// s3rver does not check signatures (it does check the access key, and the expiry of presigned
// URLs): the signing itself is proven by the SigV4 unit tests. Here: the shape of what the
// servers write and link to, from every server, and what happens when S3 goes away.
#include "support/app.hpp"
#include "support/files.hpp"
#include "support/http_client.hpp"
#include "support/images.hpp"
#include "support/process.hpp"
#include "support/stack.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

namespace {

using namespace std::chrono_literals;
using pstest::Clock;
using pstest::Stack;
using pstest::StackOptions;
using pstest::contains;
using pstest::eventually;
using pstest::HttpClient;
using pstest::Part;
using pstest::Headers;
using pstest::Response;

constexpr const char* kBucket = "photoshare";
// storage.cache_max_age's default, 1 day: how long a deleted photo may stay in caches.
constexpr const char* kImmutable = "public, max-age=86400, immutable";

// 640x480 from a camera, EXIF with GPS (the served variants must carry none of it).
std::filesystem::path camera_jpeg() { return pstest::testdata("images/edge/exif-samples/DSCN0010.jpg"); }

// ---- accounts and photos -----------------------------------------------------------------

// A user registered and logged in through base_url, with a client that keeps its cookies.
using Account = pstest::User;
Account sign_up(const std::string& base_url) { return pstest::register_user_at(base_url, pstest::unique_username("s3")); }

struct Photo {
    std::string id, url, thumbnail_url, page_url;
};

Photo photo_from(const boost::json::value& v) {
    Photo p;
    if (!v.is_object()) return p;
    const auto& o = v.as_object();
    auto text = [&](const char* name) { return o.contains(name) && o.at(name).is_string() ? std::string(o.at(name).as_string()) : std::string(); };
    p.id = text("id");
    p.url = text("url");
    p.thumbnail_url = text("thumbnail_url");
    p.page_url = text("page_url");
    return p;
}

Response upload(Account& a, const Part& part) { return a.client->upload("/api/v1/photos", {part}, {{"X-CSRF-Token", a.csrf}}); }

// The one photo of a 201 answer to an upload.
Photo uploaded(const Response& res) {
    auto v = res.json();
    if (!v.is_object() || !v.as_object().contains("photos") || v.at("photos").as_array().empty()) return {};
    return photo_from(v.at("photos").as_array()[0]);
}

Part png_part(int seed) { return Part::bytes(pstest::make_png(320, 240, true, seed), "p.png", "image/png"); }

std::vector<std::string> ids_in(const Response& res) {
    std::vector<std::string> ids;
    auto v = res.json();
    if (!v.is_object() || !v.as_object().contains("photos")) return ids;
    for (const auto& p : v.at("photos").as_array()) ids.emplace_back(p.at("id").as_string());
    return ids;
}

// ---- URLs, objects, bytes ---------------------------------------------------------------

// The query parameters of a URL, percent-decoding left alone.
std::map<std::string, std::string> query_of(const std::string& url) {
    std::map<std::string, std::string> out;
    const auto q = url.find('?');
    if (q == std::string::npos) return out;
    std::string rest = url.substr(q + 1);
    std::size_t start = 0;
    while (start <= rest.size()) {
        auto end = rest.find('&', start);
        if (end == std::string::npos) end = rest.size();
        const std::string pair = rest.substr(start, end - start);
        const auto eq = pair.find('=');
        if (!pair.empty()) out[pair.substr(0, eq)] = eq == std::string::npos ? "" : pair.substr(eq + 1);
        start = end + 1;
    }
    return out;
}

// The object key in a presigned URL (ORIGIN/photoshare/KEY?...) or a /media/KEY address.
std::string key_of(const std::string& url) {
    std::string path = url.substr(0, url.find('?'));
    return path.substr(path.rfind('/') + 1);
}

// GET of an absolute URL, with a client of its own (no cookies: as a browser's <img> to
// another origin).
Response fetch(const std::string& url) {
    HttpClient c("");
    c.set_timeout(20s);
    return c.get(url);
}

std::vector<unsigned> jpeg_markers(std::string_view d) {
    std::vector<unsigned> out;
    std::size_t pos = 2;
    while (pos + 4 <= d.size() && static_cast<unsigned char>(d[pos]) == 0xFF) {
        const unsigned marker = static_cast<unsigned char>(d[pos + 1]);
        out.push_back(marker);
        if (marker == 0xDA) break;  // start of scan: the entropy-coded data follows
        const std::size_t len = (static_cast<unsigned char>(d[pos + 2]) << 8) | static_cast<unsigned char>(d[pos + 3]);
        pos += 2 + len;
    }
    return out;
}

// EXIF (or XMP) left in a JPEG: an APP1 segment, or the camera's words.
std::string metadata_left(const std::string& jpeg) {
    for (unsigned m : jpeg_markers(jpeg))
        if (m == 0xE1) return "an APP1 (EXIF/XMP) segment";
    for (const char* word : {"Exif", "GPS", "NIKON"})
        if (contains(jpeg, word)) return std::string("the bytes '") + word + "'";
    return {};
}

std::string sha256_hex(const std::string& bytes) {
    pstest::TempDir tmp("ps-s3-sha");
    const auto file = tmp.path() / "bytes";
    std::ofstream(file, std::ios::binary) << bytes;
    auto r = pstest::run({"sha256sum", file.string()}, 10s);
    return r.ok() ? r.output.substr(0, r.output.find(' ')) : "sha256sum failed: " + r.output;
}

// An object read with the AWS SDK for JavaScript (tests/s3rver/readback.mjs).
struct ReadBack {
    std::string error;  // empty when it was read
    std::uint64_t size = 0;
    std::string sha256, content_type, cache_control;
};

ReadBack read_back(const std::string& key, const std::string& endpoint) {
    ReadBack out;
    auto r = pstest::run({"node", pstest::source_dir() + "/tests/s3rver/readback.mjs", kBucket, key, endpoint}, 60s);
    if (!r.ok()) {
        out.error = "readback.mjs (exit " + std::to_string(r.exit_code()) + "): " + r.output;
        return out;
    }
    // The JSON line is the last line of the output.
    std::string line = r.output;
    while (!line.empty() && line.back() == '\n') line.pop_back();
    line = line.substr(line.rfind('\n') == std::string::npos ? 0 : line.rfind('\n') + 1);
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) {
        out.error = "readback.mjs printed no JSON: " + r.output;
        return out;
    }
    const auto& o = v.as_object();
    auto text = [&](const char* name) { return o.contains(name) && o.at(name).is_string() ? std::string(o.at(name).as_string()) : std::string(); };
    out.size = o.contains("size") && o.at("size").is_int64() ? static_cast<std::uint64_t>(o.at("size").as_int64()) : 0;
    out.sha256 = text("sha256");
    out.content_type = text("contentType");
    out.cache_control = text("cacheControl");
    return out;
}

// Every key in the stack's bucket, from s3rver's ListObjectsV2 (it answers unsigned requests).
std::optional<std::set<std::string>> bucket_keys(const Stack& stack) {
    auto res = fetch(stack.s3_url() + "/" + kBucket + "?list-type=2&max-keys=1000");
    if (res.status != 200) return std::nullopt;
    std::set<std::string> keys;
    static const std::regex re("<Key>([^<]*)</Key>");
    for (auto it = std::sregex_iterator(res.body.begin(), res.body.end(), re); it != std::sregex_iterator(); ++it) keys.insert((*it)[1].str());
    return keys;
}

std::string html_unescape(std::string s) {
    for (auto [from, to] : {std::pair{"&amp;", "&"}, std::pair{"&quot;", "\""}, std::pair{"&#39;", "'"}}) {
        for (std::size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += std::string_view(to).size())
            s.replace(at, std::string_view(from).size(), to);
    }
    return s;
}

// The src of the first <img> in html whose address contains `needle`.
std::string img_src_with(const std::string& html, const std::string& needle) {
    static const std::regex re(R"re(<img[^>]*\ssrc="([^"]*)")re");
    for (auto it = std::sregex_iterator(html.begin(), html.end(), re); it != std::sregex_iterator(); ++it) {
        const auto src = html_unescape((*it)[1].str());
        if (contains(src, needle)) return src;
    }
    return {};
}

// The Content-Security-Policy of a server with its photos on disk (the level-0 default), once.
const std::string& file_storage_csp() {
    static const std::string csp = [] {
        pstest::ServerProcess server;
        HttpClient c(server.base_url());
        return c.get("/").header("Content-Security-Policy");
    }();
    return csp;
}

// That policy with `origin` added to img-src, and nothing else changed.
std::string csp_with_image_origin(const std::string& origin) {
    std::string csp = file_storage_csp();
    const std::string img = "img-src 'self' data: blob:";
    const auto at = csp.find(img);
    if (at == std::string::npos) return "(no \"" + img + "\" in the file-storage policy: " + csp + ")";
    csp.insert(at + img.size(), " " + origin);
    return csp;
}

std::string readyz_storage(const boost::json::value& v) {
    if (!v.is_object() || !v.as_object().contains("checks")) return {};
    const auto& checks = v.at("checks").as_object();
    return checks.contains("storage") && checks.at("storage").is_string() ? std::string(checks.at("storage").as_string()) : std::string();
}

// ---- the stacks ---------------------------------------------------------------------------

struct Presigned {
    static constexpr const char* serve = "auto";  // presigned, for s3://
};
struct Proxied {
    static constexpr const char* serve = "proxy";
};

template <class Mode>
class S3StackTest : public ::testing::Test {
protected:
    static inline std::unique_ptr<Stack> stack_;
    static inline std::string start_error_;

    static void SetUpTestSuite() {
        const auto started = Clock::now();
        try {
            stack_ = std::make_unique<Stack>(
                StackOptions{.level = 4, .servers = 3, .db = "postgres", .cache = "memcached", .storage = "s3", .serve = Mode::serve});
            stack_->up();
            std::cerr << "[cluster] postgres + memcached + s3 (serve " << Mode::serve << ") stack up in "
                      << std::chrono::duration<double>(Clock::now() - started).count() << " s at " << stack_->url() << " (" << stack_->dir()
                      << ")\n";
        } catch (const std::exception& e) {
            start_error_ = e.what();
        }
    }
    static void TearDownTestSuite() {
        stack_.reset();
        start_error_.clear();
    }
    void SetUp() override {
        ASSERT_TRUE(stack_ && start_error_.empty()) << start_error_;
        auto res = stack_->stack({"start", "s3"});  // an earlier test may have failed with it stopped
        ASSERT_TRUE(res.ok()) << res.output;
        stack_->ensure_all_servers_up();
    }
    void TearDown() override {
        if (HasFailure() && stack_) std::cerr << stack_->logs();
    }
    Stack& stack() { return *stack_; }
    int servers() const { return stack_->options().servers; }
    std::vector<std::string> every_base_url() const {
        std::vector<std::string> urls;
        for (int n = 1; n <= servers(); ++n) urls.push_back(stack_->server_url(n));
        urls.push_back(stack_->url());
        return urls;
    }
    // The object prefix of presigned URLs: http://127.0.0.1:P+6/photoshare/
    std::string bucket_url() const { return stack_->s3_url() + "/" + kBucket + "/"; }
};

class S3PresignedStack : public S3StackTest<Presigned> {};
class S3ProxyStack : public S3StackTest<Proxied> {};

// ---- presigned URLs -----------------------------------------------------------------------

// An upload through HAProxy lands on one server; every server (directly and through HAProxy)
// gives presigned s3rver URLs for its files in the API and in its pages, and they work; and
// /media/KEY, the server's own address for a file, redirects to a presigned URL that works.
TEST_F(S3PresignedStack, EveryServerLinksToWorkingPresignedUrlsAndMediaRedirectsToOne) {
    auto& stack = this->stack();
    auto a = sign_up(stack.url());
    auto res = upload(a, png_part(101));
    ASSERT_EQ(res.status, 201) << res.describe();
    const Photo photo = uploaded(res);
    ASSERT_FALSE(photo.id.empty()) << res.describe();
    const std::string uploaded_on = pstest::served_by_name(res);

    std::map<std::string, std::string> bytes;  // key -> the bytes every server must agree on
    for (const auto& base : every_base_url()) {
        SCOPED_TRACE(base);
        HttpClient c(base);
        auto one = c.get("/api/v1/photos/" + photo.id);
        ASSERT_EQ(one.status, 200) << one.describe();
        const Photo p = photo_from(one.json());
        const std::string server = pstest::served_by_name(one);
        for (const auto& [url, suffix] : {std::pair{p.url, "_d.jpg"}, std::pair{p.thumbnail_url, "_t.jpg"}}) {
            SCOPED_TRACE(url);
            const std::string key = key_of(url);
            EXPECT_EQ(key, photo.id + suffix);
            EXPECT_TRUE(url.starts_with(bucket_url() + key + "?")) << server << " does not link to s3rver (" << bucket_url() << ")";
            const auto q = query_of(url);
            EXPECT_EQ(q.count("X-Amz-Algorithm") ? q.at("X-Amz-Algorithm") : "", "AWS4-HMAC-SHA256");
            EXPECT_FALSE(q.count("X-Amz-Signature") ? q.at("X-Amz-Signature").empty() : true) << "no X-Amz-Signature";
            EXPECT_TRUE(q.count("X-Amz-Credential") && q.at("X-Amz-Credential").starts_with("S3RVER%2F")) << "the access key of the stack";
            EXPECT_EQ(q.count("X-Amz-Expires") ? q.at("X-Amz-Expires") : "", "3600") << "storage.presign_expiry's default, 1h";

            auto img = fetch(url);
            ASSERT_EQ(img.status, 200) << img.describe();
            EXPECT_EQ(img.header("Content-Type"), "image/jpeg");
            EXPECT_TRUE(pstest::looks_like_jpeg(img.body)) << "not a JPEG from " << url;
            if (!bytes.count(key)) bytes[key] = img.body;
            EXPECT_EQ(img.body, bytes[key]) << "the object differs when " << server << " links to it";

            // The proxied route on a presigned stack: a redirect to a presigned URL.
            auto media = c.get("/media/" + key);
            ASSERT_EQ(media.status, 302) << media.describe();
            const std::string location = media.header("Location");
            EXPECT_TRUE(location.starts_with(bucket_url() + key + "?")) << location;
            EXPECT_TRUE(contains(location, "X-Amz-Signature=")) << location;
            EXPECT_EQ(media.header("Cache-Control"), "private, max-age=1800") << "half the URL's lifetime";
            auto via = fetch(location);
            ASSERT_EQ(via.status, 200) << via.describe();
            EXPECT_EQ(via.body, bytes[key]) << "the redirect of " << server << " leads to other bytes";
        }
        // The pages embed the same kind of URL: the front page's thumbnail, the photo page's image.
        auto home = c.get("/");
        ASSERT_EQ(home.status, 200);
        const auto thumb_src = img_src_with(home.body, photo.id + "_t.jpg");
        EXPECT_TRUE(thumb_src.starts_with(bucket_url())) << "front page of " << pstest::served_by_name(home) << ": <img src=\"" << thumb_src << "\">";
        if (!thumb_src.empty()) {
            auto t = fetch(thumb_src);
            EXPECT_EQ(t.status, 200) << t.describe();
            EXPECT_EQ(t.body, bytes[photo.id + "_t.jpg"]);
        }
        auto page = c.get(photo.page_url);
        ASSERT_EQ(page.status, 200) << page.describe();
        const auto display_src = img_src_with(page.body, photo.id + "_d.jpg");
        EXPECT_TRUE(display_src.starts_with(bucket_url())) << "photo page of " << pstest::served_by_name(page) << ": <img src=\"" << display_src << "\">";
        if (!display_src.empty()) {
            auto d = fetch(display_src);
            EXPECT_EQ(d.status, 200) << d.describe();
            EXPECT_EQ(d.body, bytes[photo.id + "_d.jpg"]);
        }
    }
    EXPECT_EQ(bytes.size(), 2u);
    std::cerr << "[cluster] uploaded on " << uploaded_on << "; presigned URLs and /media/ redirects work from every server\n";
}

// What the servers write is an ordinary S3 object to other clients: the AWS SDK reads it back
// with Content-Type image/jpeg and the immutable Cache-Control, the same bytes as the
// presigned URL gives, and no EXIF from the camera's original.
TEST_F(S3PresignedStack, ObjectsReadBackWithTheAwsSdkAsJpegsWithoutExif) {
    auto& stack = this->stack();
    ASSERT_TRUE(contains(pstest::read_file(camera_jpeg()), "Exif")) << "the test image lost its EXIF";
    auto a = sign_up(stack.server_url(2));
    auto res = upload(a, Part::file(camera_jpeg()));
    ASSERT_EQ(res.status, 201) << res.describe();
    const Photo photo = uploaded(res);
    ASSERT_FALSE(photo.id.empty());
    for (const auto& url : {photo.url, photo.thumbnail_url}) {
        const std::string key = key_of(url);
        SCOPED_TRACE(key);
        auto img = fetch(url);
        ASSERT_EQ(img.status, 200) << img.describe();
        const auto back = read_back(key, stack.s3_url());
        ASSERT_TRUE(back.error.empty()) << back.error;
        EXPECT_EQ(back.content_type, "image/jpeg");
        EXPECT_EQ(back.cache_control, kImmutable);
        EXPECT_EQ(back.size, img.body.size());
        EXPECT_EQ(back.sha256, sha256_hex(img.body)) << "the SDK reads other bytes than the presigned URL gives";
        EXPECT_TRUE(pstest::looks_like_jpeg(img.body));
        EXPECT_EQ(metadata_left(img.body), "") << "metadata left in the object";
        // s3rver's own answer to the presigned GET carries the object's metadata too.
        EXPECT_EQ(img.header("Cache-Control"), kImmutable);
    }
}

// The original as uploaded and the full-size JPEG made from it are objects of their own,
// private (no public caching, names with a secret no page shows), sent through the servers
// to the owner only, and removed with the photo.
TEST_F(S3PresignedStack, OriginalsAndFullSizeFilesStayPrivateAndGoWithTheirPhoto) {
    auto& stack = this->stack();
    pstest::TempDir tmp("ps-s3-full");
    const auto large = tmp.path() / "large.jpg";
    auto made = pstest::run({"vips", "resize", camera_jpeg().string(), large.string(), "5"}, 120s);
    ASSERT_TRUE(made.ok()) << made.output;
    auto a = sign_up(stack.server_url(1));
    auto res = upload(a, Part::file(large));
    ASSERT_EQ(res.status, 201) << res.describe();
    const Photo photo = uploaded(res);
    auto key_like = [&](const std::string& part) {
        const auto keys = bucket_keys(stack);
        std::string found;
        if (keys)
            for (const auto& k : *keys)
                if (contains(k, photo.id + part)) found = k;
        return found;
    };
    const auto original_key = key_like("_o-");
    ASSERT_FALSE(original_key.empty()) << "no original in the bucket";
    const auto back = read_back(original_key, stack.s3_url());
    ASSERT_TRUE(back.error.empty()) << back.error;
    EXPECT_EQ(back.cache_control, "private, no-store");
    EXPECT_EQ(back.sha256, sha256_hex(pstest::read_file(large)));

    // Another server than the one that stored it streams it to the owner.
    pstest::User owner = pstest::login_at(stack.server_url(2), a.username, a.password);
    auto original = owner.http().get("/photos/" + photo.id + "/original");
    ASSERT_EQ(original.status, 200) << original.describe();
    EXPECT_EQ(original.body, pstest::read_file(large));
    EXPECT_TRUE(contains(original.body, "Exif"));
    auto full = owner.http().get("/photos/" + photo.id + "/full");
    ASSERT_EQ(full.status, 200) << full.describe();
    EXPECT_EQ(pstest::jpeg_size(full.body), (std::pair<int, int>{3200, 2400}));
    // No metadata segment at all (a search for words would find them in 1.7 MB of scan data).
    for (unsigned m : jpeg_markers(full.body)) EXPECT_FALSE((m >= 0xE0 && m <= 0xEF) || m == 0xFE) << "metadata marker " << m;
    EXPECT_FALSE(contains(full.body, "Exif"));
    EXPECT_FALSE(key_like("_f-").empty()) << "the full-size JPEG was not kept in the bucket";
    HttpClient anon(stack.server_url(3));
    EXPECT_EQ(anon.get("/photos/" + photo.id + "/original").status, 403);
    EXPECT_EQ(anon.get("/photos/" + photo.id + "/full").status, 403);
    EXPECT_FALSE(contains(anon.get("/photos/" + photo.id).body, "_o-")) << "a page names the original";

    auto removed = owner.http().del("/api/v1/photos/" + photo.id, owner.csrf_header());
    ASSERT_EQ(removed.status, 204) << removed.describe();
    EXPECT_EQ(key_like("_"), "") << "an object of the deleted photo is left";
}

// The pages allow images from the s3rver origin (the presigned URLs point there), and the
// policy is otherwise exactly the one of a server with its photos on disk.
TEST_F(S3PresignedStack, ContentSecurityPolicyAllowsTheS3OriginForImagesAndNothingElseNew) {
    auto& stack = this->stack();
    const std::string expected = csp_with_image_origin(stack.s3_url());
    for (const auto& base : every_base_url()) {
        HttpClient c(base);
        for (const char* path : {"/", "/login", "/api/v1/photos"}) {
            auto res = c.get(path);
            EXPECT_EQ(res.header("Content-Security-Policy"), expected) << "GET " << path << " on " << pstest::served_by_name(res);
        }
    }
    std::cerr << "[cluster] CSP: " << expected << "\n";
}

// S3 stops: every server's /readyz turns "degraded" (200: pages need no S3), naming the store
// only to a request with the admin token; HAProxy keeps them all, and the front page and the
// API's feed are served through it all along. An upload gets 503 (not 500) and leaves no row
// (the feed, read from the database, is unchanged) and no object. S3 starts again: the same
// upload, retried, succeeds.
TEST_F(S3PresignedStack, S3DownLeavesPagesServedAndGivesUpload503WithNothingLeftAndTheRetrySucceeds) {
    auto& stack = this->stack();
    auto a = sign_up(stack.url());
    const Part part = png_part(202);
    int limit = 60;  // feed pages nobody has asked for: each comes from the database
    auto feed_now = [&](int n) {
        HttpClient c(stack.server_url(n));
        auto res = c.get("/api/v1/photos?limit=" + std::to_string(++limit));
        EXPECT_EQ(res.status, 200) << res.describe();
        return ids_in(res);
    };
    const auto feed_before = feed_now(1);
    const auto keys_before = bucket_keys(stack);
    ASSERT_TRUE(keys_before) << "cannot list the bucket";

    auto res = stack.stack({"stop", "s3"});
    ASSERT_TRUE(res.ok()) << res.output;
    auto status = stack.stack({"status"});
    EXPECT_TRUE(std::regex_search(status.output, std::regex(R"(\n  s3 +DOWN )"))) << status.output;

    const Headers admin{{"Authorization", "Bearer " + stack.admin_token()}};
    for (int n = 1; n <= servers(); ++n) {
        HttpClient c(stack.server_url(n));
        Response r;
        ASSERT_TRUE(eventually([&] { return contains((r = c.get("/readyz", admin)).body, "\"degraded\""); }, 15s))
            << stack.server_name(n) << " is not degraded with S3 stopped: " << r.describe();
        EXPECT_EQ(r.status, 200) << "an S3 outage must not take the server out of rotation: " << r.describe();
        const auto storage = readyz_storage(r.json());
        EXPECT_TRUE(contains(storage, "s3://photoshare")) << stack.server_name(n) << "'s /readyz does not name the store: " << r.body;
        auto anonymous = c.get("/readyz");
        EXPECT_EQ(anonymous.body, "{\"status\":\"degraded\"}") << "without the token /readyz says only how it is";
        if (n == 1) std::cerr << "[cluster] /readyz with S3 stopped: " << r.body << "\n";
    }
    std::this_thread::sleep_for(2500ms);  // longer than HAProxy needs to take a failing server out
    for (const auto& [name, state] : stack.haproxy_states())
        EXPECT_EQ(state, 2) << name << " was taken out of rotation while only S3 is down:\n" << stack.haproxy_api("show servers state photoshare");
    HttpClient lb(stack.url());
    for (int i = 0; i < 10; ++i) {
        auto page = lb.get("/");
        EXPECT_EQ(page.status, 200) << "the front page through HAProxy with S3 stopped: " << page.describe();
        EXPECT_EQ(lb.get("/api/v1/photos").status, 200);
    }

    for (int n = 1; n <= servers(); ++n) {
        a.client->set_base_url(stack.server_url(n));
        auto up = upload(a, part);
        EXPECT_EQ(up.status, 503) << "an upload to " << stack.server_name(n) << " with S3 stopped: " << up.describe();
        EXPECT_TRUE(up.header("Content-Type").starts_with("application/json")) << up.describe();
        EXPECT_TRUE(contains(up.body, "storage_unavailable")) << up.describe();
        EXPECT_LT(up.seconds, 15.0) << "the upload waited " << up.seconds << " s for the dead store";
        if (n == 1) std::cerr << "[cluster] upload with S3 stopped: " << up.status << " " << up.body << "\n";
    }
    a.client->set_base_url(stack.url());
    auto through_lb = upload(a, part);
    EXPECT_EQ(through_lb.status, 503) << "through HAProxy: " << through_lb.describe();
    EXPECT_TRUE(contains(through_lb.body, "storage_unavailable")) << "the server's own answer, not HAProxy's: " << through_lb.describe();
    for (int n = 1; n <= servers(); ++n)
        EXPECT_EQ(feed_now(n), feed_before) << "a failed upload left a row: the feed of " << stack.server_name(n) << " changed";

    res = stack.stack({"start", "s3"});
    ASSERT_TRUE(res.ok()) << res.output;
    const auto started_at = Clock::now();
    ASSERT_TRUE(eventually(
        [&] {
            for (int n = 1; n <= servers(); ++n)
                if (HttpClient(stack.server_url(n)).get("/readyz").body != "{\"status\":\"ready\"}") return false;
            return true;
        },
        20s))
        << "not every server is ready again";
    const double back = std::chrono::duration<double>(Clock::now() - started_at).count();
    EXPECT_EQ(bucket_keys(stack), keys_before) << "the failed uploads left objects";

    auto retried = upload(a, part);
    ASSERT_EQ(retried.status, 201) << "the same upload, retried once S3 is back: " << retried.describe();
    const Photo photo = uploaded(retried);
    ASSERT_FALSE(photo.id.empty());
    // Its two variants and its original (a name with a secret of its own: found by prefix).
    auto keys_now = bucket_keys(stack);
    ASSERT_TRUE(keys_now.has_value());
    std::string original;
    for (const auto& k : *keys_now)
        if (k.starts_with(photo.id + "_o-") && k.ends_with(".png")) original = k;
    EXPECT_FALSE(original.empty()) << "no original of the retried upload";
    auto keys_after = keys_before;
    keys_after->insert({photo.id + "_d.jpg", photo.id + "_t.jpg", original});
    EXPECT_EQ(keys_now, keys_after) << "the retry wrote something else than its three objects";
    for (int n = 1; n <= servers(); ++n) {
        auto ids = feed_now(n);
        EXPECT_FALSE(ids.empty());
        if (!ids.empty()) EXPECT_EQ(ids.front(), photo.id) << stack.server_name(n);
        EXPECT_EQ(ids.size(), std::min<std::size_t>(feed_before.size() + 1, static_cast<std::size_t>(limit)))
            << "exactly one photo more on " << stack.server_name(n);
    }
    auto img = fetch(photo.url);
    EXPECT_EQ(img.status, 200) << img.describe();
    std::cerr << "[cluster] S3 back: every server ready " << back << " s after s3rver started\n";
}

// A server whose bucket does not exist, or whose access key S3 does not know: /readyz 503 with
// a message that says which, and an upload gets 503.
TEST_F(S3PresignedStack, MissingBucketOrUnknownKeyMakesReadyzSayWhich) {
    auto& stack = this->stack();
    const std::string endpoint = "endpoint=" + stack.s3_url() + "&path_style=true&region=us-east-1";
    // s3rver checks the access key but not the signature: any secret does. This one must not
    // show up anywhere.
    const std::string secret = "not%2Bso%2Fsecret", secret_decoded = "not+so/secret";
    struct Case {
        std::string url, says;
    };
    for (const auto& c : {Case{"s3://no-such-bucket?" + endpoint + "&access_key_id=S3RVER&secret_access_key=" + secret, "bucket no-such-bucket does not exist"},
                          Case{"s3://photoshare?" + endpoint + "&access_key_id=NOBODY&secret_access_key=" + secret, "credentials rejected"}}) {
        SCOPED_TRACE(c.url);
        std::unique_ptr<pstest::ServerProcess> server;
        try {
            server = std::make_unique<pstest::ServerProcess>(
                pstest::ServerOptions{.args = {"--set", "storage.url=" + c.url}, .name = "s3-misconfigured"});
        } catch (const std::exception& e) {
            FAIL() << "the server did not start: " << e.what();
        }
        HttpClient http(server->base_url());
        auto ready = http.get("/readyz", {{"Authorization", "Bearer " + server->admin_token()}});
        EXPECT_EQ(ready.status, 503) << ready.describe();
        const auto storage = readyz_storage(ready.json());
        EXPECT_TRUE(contains(storage, c.says)) << "/readyz: " << ready.body;
        EXPECT_FALSE(contains(ready.body, secret_decoded) || contains(ready.body, secret)) << "the secret key in /readyz";
        std::cerr << "[cluster] /readyz: " << ready.body << "\n";

        auto u = pstest::register_user(*server);
        auto up = pstest::upload_photos(u, {png_part(303)});
        EXPECT_EQ(up.status, 503) << up.describe();
        EXPECT_TRUE(pstest::feed_ids(*server).empty()) << "a failed upload left a row";
        EXPECT_FALSE(contains(server->log(), secret_decoded) || contains(server->log(), secret)) << "the secret key in the log";
    }
}

// ---- proxied ----------------------------------------------------------------------------

// With storage.serve = proxy the API and the pages link to /media/KEY on the server itself,
// and every server streams the object from S3: the same bytes as the SDK reads, with the
// object's Content-Type and the immutable Cache-Control.
TEST_F(S3ProxyStack, EveryServerStreamsTheObjectFromS3) {
    auto& stack = this->stack();
    auto a = sign_up(stack.server_url(3));
    auto res = upload(a, Part::file(camera_jpeg()));
    ASSERT_EQ(res.status, 201) << res.describe();
    const Photo photo = uploaded(res);
    ASSERT_FALSE(photo.id.empty());
    EXPECT_EQ(photo.url, "/media/" + photo.id + "_d.jpg");
    EXPECT_EQ(photo.thumbnail_url, "/media/" + photo.id + "_t.jpg");

    std::map<std::string, ReadBack> objects;
    for (const auto& url : {photo.url, photo.thumbnail_url}) {
        auto back = read_back(key_of(url), stack.s3_url());
        ASSERT_TRUE(back.error.empty()) << back.error;
        EXPECT_EQ(back.content_type, "image/jpeg");
        EXPECT_EQ(back.cache_control, kImmutable);
        objects[url] = back;
    }
    for (const auto& base : every_base_url()) {
        SCOPED_TRACE(base);
        HttpClient c(base);
        auto one = c.get("/api/v1/photos/" + photo.id);
        ASSERT_EQ(one.status, 200) << one.describe();
        EXPECT_EQ(photo_from(one.json()).url, photo.url) << pstest::served_by_name(one) << " links elsewhere";
        for (const auto& url : {photo.url, photo.thumbnail_url}) {
            auto img = c.get(url);
            ASSERT_EQ(img.status, 200) << img.describe();
            const std::string server = pstest::served_by_name(img);
            EXPECT_EQ(img.header("Content-Type"), "image/jpeg") << server;
            EXPECT_EQ(img.header("Cache-Control"), kImmutable) << server;
            EXPECT_EQ(img.header("ETag"), "\"" + key_of(url) + "\"") << server;
            EXPECT_FALSE(img.has_header("Location")) << server;
            EXPECT_EQ(img.body.size(), objects[url].size) << server;
            EXPECT_EQ(sha256_hex(img.body), objects[url].sha256) << server << " streams other bytes than the SDK reads";
            EXPECT_EQ(metadata_left(img.body), "") << server;
            auto again = c.get(url, {{"If-None-Match", img.header("ETag")}});
            EXPECT_EQ(again.status, 304) << again.describe();
        }
        auto missing = c.get("/media/" + std::string(22, 'A') + "_d.jpg");  // the shape of a key, but none
        EXPECT_EQ(missing.status, 404) << missing.describe();
        auto home = c.get("/");
        ASSERT_EQ(home.status, 200);
        EXPECT_EQ(img_src_with(home.body, photo.id + "_t.jpg"), photo.thumbnail_url) << pstest::served_by_name(home);
        EXPECT_FALSE(contains(home.body, stack.s3_url())) << "the page links to s3rver";
    }
}

// A proxied photo is kept in the memory of the server that streamed it: it is served again
// with s3rver stopped (the same bytes, counted as a hit), while a server that never fetched it
// still needs S3; a delete forgets it on the deleting server at once.
TEST_F(S3ProxyStack, AProxiedPhotoIsServedFromMemoryUntilItIsDeleted) {
    auto& stack = this->stack();
    auto a = sign_up(stack.server_url(1));
    auto res = upload(a, Part::file(camera_jpeg()));
    ASSERT_EQ(res.status, 201) << res.describe();
    const Photo photo = uploaded(res);
    HttpClient one(stack.server_url(1));
    HttpClient two(stack.server_url(2));
    auto hits = [&] { return pstest::metric(one.get("/metrics").body, "photoshare_media_cache_requests_total", {"result=\"hit\""}); };

    auto first = one.get(photo.thumbnail_url);
    ASSERT_EQ(first.status, 200) << first.describe();
    const double hits_before = hits();

    auto stopped = stack.stack({"stop", "s3"});
    ASSERT_TRUE(stopped.ok()) << stopped.output;
    auto again = one.get(photo.thumbnail_url);
    EXPECT_EQ(again.status, 200) << again.describe();
    EXPECT_EQ(again.body, first.body);
    EXPECT_EQ(again.header("Content-Type"), "image/jpeg");
    EXPECT_EQ(again.header("Cache-Control"), kImmutable);
    EXPECT_EQ(again.header("ETag"), first.header("ETag"));
    EXPECT_EQ(hits(), hits_before + 1);
    two.set_timeout(30s);
    auto elsewhere = two.get(photo.thumbnail_url);
    EXPECT_NE(elsewhere.status, 200) << "server 2 never fetched it, yet served it without S3";

    auto started = stack.stack({"start", "s3"});
    ASSERT_TRUE(started.ok()) << started.output;
    auto removed = a.client->request("DELETE", "/api/v1/photos/" + photo.id, std::nullopt, {{"X-CSRF-Token", a.csrf}});
    ASSERT_EQ(removed.status, 204) << removed.describe();
    auto gone = one.get(photo.thumbnail_url);
    EXPECT_EQ(gone.status, 404) << "the deleting server still serves the photo from memory";
    // A browser or CDN that revalidates its copy is told it is gone, by a server that has
    // none in memory too (it asks S3).
    auto revalidated = two.get(photo.url, {{"If-None-Match", "\"" + photo.id + "_d.jpg\""}});
    EXPECT_EQ(revalidated.status, 404) << revalidated.describe();
}

// Proxied, the images come from the server itself: the policy is that of a server with its
// photos on disk, without the s3rver origin.
TEST_F(S3ProxyStack, ContentSecurityPolicyIsThatOfAServerWithItsPhotosOnDisk) {
    for (const auto& base : every_base_url()) {
        HttpClient c(base);
        auto res = c.get("/");
        EXPECT_EQ(res.header("Content-Security-Policy"), file_storage_csp()) << pstest::served_by_name(res);
    }
}

// S3 that hangs (accepts connections, never answers; here s3rver under SIGSTOP) must not
// stall pages that need only the database. It once did: /readyz ran the storage check on the
// worker pool the database uses, with the full request timeout and retries, so the checks
// HAProxy makes every second filled the pool. Now checks run one set at a time on threads
// of their own with a short timeout. Twelve abandoned /readyz stand in for a burst of checks.
TEST_F(S3ProxyStack, HungS3DoesNotStallPagesThatNeedOnlyTheDatabase) {
    auto& stack = this->stack();
    std::ifstream pid_file(stack.dir() / "s3rver" / "s3rver.pid");
    pid_t pid = -1;
    ASSERT_TRUE(pid_file >> pid && pstest::process_alive(pid));
    ASSERT_EQ(::kill(pid, SIGSTOP), 0);
    struct Resume {
        pid_t pid;
        ~Resume() { ::kill(pid, SIGCONT); }
    } resume{pid};
    std::vector<std::thread> checks;
    for (int i = 0; i < 12; ++i)
        checks.emplace_back([&] {
            HttpClient c(stack.server_url(1));
            c.set_timeout(2s);
            c.get("/readyz");
        });
    for (auto& t : checks) t.join();
    HttpClient c(stack.server_url(1));
    c.set_timeout(20s);
    auto feed = c.get("/api/v1/photos?limit=77");  // a page nobody asked for: from the database
    EXPECT_EQ(feed.status, 200) << feed.describe();
    EXPECT_LT(feed.seconds, 3.0) << "the feed waited for a hung S3";
}

}  // namespace
