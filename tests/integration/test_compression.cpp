// Compression (issue 15): HTML, JSON, CSS and JavaScript go out gzipped to clients that say
// they take it, with Vary: Accept-Encoding, and decode to exactly what an uncompressed
// client gets; photos are never compressed again; server.gzip_min_bytes=0 turns it off.
// The front page's gzip is spliced from pieces compressed once (codec::SplicedGzip), so
// it is compared with the plain page byte for byte.
#include "support/app.hpp"
#include "support/http_client.hpp"
#include "support/images.hpp"
#include "support/photoshare_server.hpp"

#include <regex>

using namespace pstest;

namespace {

// The page without its request id, the one value that differs between two requests.
std::string without_request_id(const std::string& page) { return std::regex_replace(page, std::regex("request [A-Za-z0-9_-]+"), "request ID"); }

std::string asset_url(const std::string& page, const std::string& name) {
    std::smatch m;
    if (std::regex_search(page, m, std::regex("\"(/static/" + name + "\\?v=[0-9a-f]+)\""))) return m[1];
    return {};
}

void upload_some(User& u, int n) {
    std::vector<Part> parts;
    for (int i = 0; i < n; ++i) parts.push_back(Part::bytes(make_png(40, 30, true, i), "p" + std::to_string(i) + ".png", "image/png"));
    ASSERT_EQ(upload_photos(u, parts).status, 201);
}

}  // namespace

TEST(Compression, PagesApiAndAssetsAreGzippedForBrowsersAndDecodeToThePlainBytes) {
    ServerProcess s;
    auto u = register_user(s);
    upload_some(u, 8);

    HttpClient visitor(s.base_url());
    ASSERT_EQ(visitor.get("/").status, 200);  // so that both pages below say "feed from cache"
    auto plain = visitor.get("/");
    ASSERT_EQ(plain.status, 200);
    EXPECT_TRUE(plain.header("Content-Encoding").empty());
    EXPECT_EQ(plain.header("Vary"), "Accept-Encoding");
    visitor.set_decode_gzip(true);
    auto zipped = visitor.get("/");
    ASSERT_EQ(zipped.status, 200);
    EXPECT_EQ(zipped.header("Content-Encoding"), "gzip");
    EXPECT_EQ(zipped.header("Vary"), "Accept-Encoding");
    EXPECT_LT(std::stoul(zipped.header("Content-Length")), zipped.body.size() / 2) << "sent compressed";
    EXPECT_EQ(without_request_id(zipped.body), without_request_id(plain.body)) << "the same page, for the same visitor";

    // A member's page (their name, token and session in it), the API, the photo page.
    HttpClient& member = u.http();
    member.set_decode_gzip(false);
    auto member_plain = member.get("/");
    member.set_decode_gzip(true);
    auto member_zipped = member.get("/");
    EXPECT_EQ(member_zipped.header("Content-Encoding"), "gzip");
    EXPECT_TRUE(contains(member_zipped.body, u.username));
    EXPECT_EQ(without_request_id(member_zipped.body), without_request_id(member_plain.body));
    for (const std::string& path : {std::string("/api/v1/photos"), "/photos/" + feed_ids(s).at(0), std::string("/login")}) {
        SCOPED_TRACE(path);
        HttpClient a(s.base_url()), b(s.base_url());
        b.set_decode_gzip(true);
        auto x = a.get(path), y = b.get(path);
        EXPECT_EQ(x.status, 200);
        EXPECT_EQ(y.header("Content-Encoding"), "gzip");
        EXPECT_EQ(y.header("Vary"), "Accept-Encoding");
        if (path.starts_with("/api")) EXPECT_EQ(y.json(), x.json());
        else EXPECT_GT(y.body.size(), 1000U);
    }

    // Assets: compressed once at start-up, with the same validators.
    for (const auto& name : {"style\\.css", "app\\.js"}) {
        const auto url = asset_url(plain.body, name);
        ASSERT_FALSE(url.empty()) << name;
        HttpClient a(s.base_url()), b(s.base_url());
        b.set_decode_gzip(true);
        auto x = a.get(url), y = b.get(url);
        EXPECT_TRUE(x.header("Content-Encoding").empty());
        EXPECT_EQ(y.header("Content-Encoding"), "gzip") << url;
        EXPECT_EQ(y.body, x.body);
        EXPECT_EQ(b.get(url, {{"If-None-Match", y.header("ETag")}}).status, 304);
        // Brotli, made at start-up too, for the browsers that take it: smaller than gzip.
        HttpClient br(s.base_url());
        br.set_decode("gzip, deflate, br");  // what Chromium sends (less zstd)
        auto z = br.get(url);
        EXPECT_EQ(z.header("Content-Encoding"), "br") << url;
        EXPECT_EQ(z.header("Vary"), "Accept-Encoding");
        EXPECT_EQ(z.body, x.body) << "brotli decodes to other bytes";
        EXPECT_LT(std::stoul(z.header("Content-Length")), std::stoul(y.header("Content-Length"))) << "no smaller than gzip";
        std::cerr << "[compression] " << url << ": " << x.body.size() << " B plain, " << y.header("Content-Length") << " gzip, "
                  << z.header("Content-Length") << " brotli\n";
    }
    // Pages made per request stay gzip for a client that takes both.
    {
        HttpClient both(s.base_url());
        both.set_decode("gzip, br");
        EXPECT_EQ(both.get("/login").header("Content-Encoding"), "gzip");
    }

    // Photos are JPEG: never compressed again.
    auto photos = visitor.get("/api/v1/photos").json();
    const std::string thumb(photos.at("photos").at(0).at("thumbnail_url").as_string());
    auto jpeg = visitor.get(thumb);
    EXPECT_EQ(jpeg.status, 200);
    EXPECT_TRUE(jpeg.header("Content-Encoding").empty()) << jpeg.describe();
}

TEST(Compression, ZeroMinimumSizeTurnsItOff) {
    ServerProcess s({.args = {"--set", "server.gzip_min_bytes=0"}});
    auto u = register_user(s);
    upload_some(u, 8);
    HttpClient c(s.base_url());
    c.set_decode_gzip(true);
    for (const char* path : {"/", "/api/v1/photos", "/login"}) {
        auto r = c.get(path);
        EXPECT_EQ(r.status, 200) << path;
        EXPECT_TRUE(r.header("Content-Encoding").empty()) << path;
    }
}
