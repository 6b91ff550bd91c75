// What every response must carry (which server answered, the security headers), the page
// footer, cookies under server.secure_cookies, and paths that try to leave their directory.
#include "support/app.hpp"
#include "support/files.hpp"
#include "support/http_client.hpp"
#include "support/photoshare_server.hpp"

#include <regex>

using namespace pstest;

namespace {

const fs::path kCamera = testdata("images/edge/exif-samples/DSCN0010.jpg");

template <class R>
void expect_security_headers(const R& res, const ServerProcess& s, const std::string& what) {
    SCOPED_TRACE(what + " -> HTTP " + std::to_string(res.status));
    const auto served_by = res.header("X-Served-By");
    EXPECT_TRUE(contains(served_by, s.name())) << "X-Served-By: '" << served_by << "'";
    EXPECT_TRUE(contains(served_by, s.address())) << "X-Served-By: '" << served_by << "'";
    EXPECT_TRUE(std::regex_search(served_by, std::regex("(^|[^0-9])" + std::to_string(s.pid()) + "($|[^0-9])")))
        << "X-Served-By must carry the pid " << s.pid() << ": '" << served_by << "'";
    const auto csp = res.header("Content-Security-Policy");
    EXPECT_FALSE(csp.empty()) << "Content-Security-Policy missing";
    EXPECT_FALSE(contains(csp, "unsafe-inline")) << csp;
    EXPECT_FALSE(contains(csp, "unsafe-eval")) << csp;
    EXPECT_TRUE(contains(csp, "script-src") || contains(csp, "default-src")) << csp;
    EXPECT_TRUE(std::regex_search(res.header("X-Content-Type-Options"), std::regex("^nosniff$", std::regex::icase)))
        << "X-Content-Type-Options: '" << res.header("X-Content-Type-Options") << "'";
    EXPECT_FALSE(res.header("Referrer-Policy").empty()) << "Referrer-Policy missing";
    EXPECT_TRUE(std::regex_search(res.header("X-Frame-Options"), std::regex("^deny$", std::regex::icase)))
        << "X-Frame-Options: '" << res.header("X-Frame-Options") << "'";
}

std::string raw_request(const ServerProcess& s, const std::string& request, RawResponse* out = nullptr) {
    RawConnection c(s.port());
    c.send(request);
    auto r = c.read_response(10s);
    EXPECT_TRUE(r.has_value()) << "no response to:\n" << request.substr(0, 300);
    if (r && out) *out = *r;
    return r ? r->body : std::string();
}

void expect_footer(const std::string& html, const ServerProcess& s, const std::string& what) {
    SCOPED_TRACE(what);
    const auto footer_start = html.find("<footer");
    ASSERT_NE(footer_start, std::string::npos) << html;
    const auto footer = html.substr(footer_start);
    EXPECT_TRUE(contains(footer, s.name())) << footer;
    EXPECT_TRUE(contains(footer, s.address())) << footer;
    EXPECT_TRUE(std::regex_search(footer, std::regex("pid\\D{0,3}" + std::to_string(s.pid()) + "\\b"))) << footer;
}

}  // namespace

PSTEST_SHARED_SERVER_FIXTURE(Security, .args = {"--set", "limits.max_upload_bytes=512KiB"}, .name = "itest-sec-name");

TEST_F(Security, EveryResponseSaysWhoAnsweredAndCarriesTheSecurityHeaders) {
    auto u = register_user(server());
    auto up = upload_photos(u, {Part::file(kCamera)});
    ASSERT_EQ(up.status, 201) << up.describe();
    auto photo = up.json().at("photos").at(0);
    const std::string id(photo.at("id").as_string());
    const std::string media(photo.at("url").as_string());

    HttpClient c(server().base_url());
    auto home = c.get("/");
    std::smatch css;
    ASSERT_TRUE(std::regex_search(home.body, css, std::regex(R"re(href="(/static/[^"]+\.css[^"]*)")re"))) << home.body;
    std::string stylesheet = css[1];
    for (std::string::size_type p; (p = stylesheet.find("&amp;")) != std::string::npos;) stylesheet.replace(p, 5, "&");

    struct Check {
        std::string what;
        Response res;
    };
    std::vector<Check> checks;
    checks.push_back({"GET / (page)", home});
    checks.push_back({"GET /login", c.get("/login")});
    checks.push_back({"GET /photos/{id}", c.get("/photos/" + id)});
    checks.push_back({"GET / logged in", u.http().get("/")});
    checks.push_back({"GET /api/v1/photos", c.get("/api/v1/photos")});
    checks.push_back({"GET /api/v1/photos/{id}", c.get("/api/v1/photos/" + id)});
    checks.push_back({"GET static css", c.get(stylesheet)});
    checks.push_back({"GET /favicon.ico", c.get("/favicon.ico")});
    checks.push_back({"GET media", c.get(media)});
    checks.push_back({"GET media 304", c.get(media, {{"If-None-Match", c.get(media).header("ETag")}})});
    checks.push_back({"GET unknown page (404)", c.get("/no/such/page")});
    checks.push_back({"GET unknown media (404)", c.get("/media/NoSuchKey_t.jpg")});
    checks.push_back({"GET unknown API (404)", c.get("/api/v1/nope")});
    checks.push_back({"DELETE / (405)", c.del("/")});
    checks.push_back({"POST /api/v1/photos logged out (401)", c.upload("/api/v1/photos", {Part::file(kCamera)})});
    checks.push_back({"POST /login without token (403)", c.post_form("/login", {{"username", "x"}})});
    checks.push_back({"POST /api/v1/users text/plain (415)", c.post_raw("/api/v1/users", "x", "text/plain")});
    checks.push_back({"POST /api/v1/users bad (422)", c.post_json("/api/v1/users", "{\"username\":\"a\",\"password\":\"b\"}")});
    checks.push_back({"POST /api/v1/users too large (413)", c.post_json("/api/v1/users", std::string(100 * 1024, ' ') + "{}")});
    checks.push_back({"GET /healthz", c.get("/healthz")});
    checks.push_back({"GET /readyz", c.get("/readyz")});
    checks.push_back({"GET /metrics", c.get("/metrics")});
    checks.push_back({"GET /admin/knobs without token (401)", c.get("/admin/knobs")});
    checks.push_back({"431", c.get("/", {{"X-Huge", std::string(40 * 1024, 'h')}})});
    for (const auto& check : checks) {
        EXPECT_NE(check.res.status, 0) << check.what << ": " << check.res.error;
        expect_security_headers(check.res, server(), check.what);
    }
    EXPECT_EQ(checks.back().res.status, 431);

    // Responses made before any route runs: 413 refused from the headers, malformed requests.
    RawResponse r;
    raw_request(server(),
                "POST /api/v1/photos HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                "Content-Length: 600000\r\n\r\n",
                &r);
    EXPECT_EQ(r.status, 413);
    expect_security_headers(r, server(), "413 from Content-Length");
    raw_request(server(), "GARBAGE\r\n\r\n", &r);
    EXPECT_EQ(r.status, 400);
    expect_security_headers(r, server(), "400 malformed request");
}

TEST_F(Security, EveryPageShowsServerNameAddressAndPidInItsFooter) {
    auto u = register_user(server());
    auto up = upload_photos(u, {Part::file(kCamera)});
    ASSERT_EQ(up.status, 201);
    const std::string id(up.json().at("photos").at(0).at("id").as_string());
    HttpClient c(server().base_url());
    expect_footer(c.get("/").body, server(), "front page");
    expect_footer(u.http().get("/").body, server(), "front page logged in");
    expect_footer(c.get("/login").body, server(), "login page");
    expect_footer(c.get("/register").body, server(), "register page");
    expect_footer(c.get("/photos/" + id).body, server(), "photo page");
    expect_footer(c.get("/no/such/page").body, server(), "404 page");
    expect_footer(c.post_form("/login", {{"username", "x"}}).body, server(), "403 page");
}

TEST_F(Security, StaticAndMediaPathsCannotLeaveTheirDirectories) {
    HttpClient c(server().base_url());
    const std::string token = server().admin_token();
    ASSERT_FALSE(token.empty());
    for (const char* path : {"/static/../../../../etc/passwd", "/static/..%2f..%2f..%2f..%2fetc%2fpasswd", "/static/%2e%2e/%2e%2e/etc/passwd",
                             "/media/..%2fadmin.token", "/media/..%2f..%2fdata%2fadmin.token", "/media/%2e%2e%2fphotoshare.db",
                             "/static/..%5c..%5cadmin.token", "/media/.tmp", "/static/%00"}) {
        SCOPED_TRACE(path);
        auto res = c.get(path);
        EXPECT_TRUE(res.status == 400 || res.status == 404) << res.describe();
        EXPECT_FALSE(contains(res.body, "root:")) << res.body.substr(0, 200);
        EXPECT_FALSE(contains(res.body, token));
        EXPECT_FALSE(contains(res.body, "SQLite format"));
    }
}

TEST_F(Security, NoCrossOriginAccessIsGranted) {
    HttpClient c(server().base_url());
    auto pre = c.request("OPTIONS", "/api/v1/photos", std::nullopt,
                         {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "POST"},
                          {"Access-Control-Request-Headers", "x-csrf-token"}});
    EXPECT_FALSE(pre.has_header("Access-Control-Allow-Origin")) << pre.describe();
    auto get = c.get("/api/v1/photos", {{"Origin", "https://evil.example"}});
    EXPECT_FALSE(get.has_header("Access-Control-Allow-Origin")) << get.describe();
    // A cross-site form cannot send JSON: the API refuses form-encoded logins.
    auto form = c.post_raw("/api/v1/session", "username=a&password=b", "application/x-www-form-urlencoded",
                           {{"Origin", "https://evil.example"}});
    EXPECT_EQ(form.status, 415) << form.describe();
}

TEST_F(Security, VisitorCsrfCookieIsStrict) {
    HttpClient c(server().base_url());
    auto res = c.get("/");
    std::string csrf_cookie;
    for (const auto& v : res.all("Set-Cookie"))
        if (v.starts_with("ps_csrf=")) csrf_cookie = v;
    ASSERT_FALSE(csrf_cookie.empty()) << res.describe();
    EXPECT_TRUE(std::regex_search(csrf_cookie, std::regex("SameSite=(Strict|Lax)", std::regex::icase))) << csrf_cookie;
    EXPECT_FALSE(contains(csrf_cookie, "Secure")) << csrf_cookie;
}

TEST(SecureCookies, SessionCookieIsSecureWithTheHostPrefix) {
    ServerProcess s({.args = {"--set", "server.secure_cookies=true"}});
    const auto name = unique_username();
    HttpClient c(s.base_url());
    const auto body = boost::json::serialize(boost::json::object{{"username", name}, {"password", kPassword}});
    ASSERT_EQ(c.post_json("/api/v1/users", body).status, 201);
    auto res = c.post_json("/api/v1/session", body);
    ASSERT_EQ(res.status, 200) << res.describe();
    std::string sc;
    for (const auto& v : res.all("Set-Cookie"))
        if (contains(v, "ps_session=")) sc = v;
    ASSERT_FALSE(sc.empty()) << res.describe();
    EXPECT_TRUE(sc.starts_with("__Host-ps_session=")) << sc;
    EXPECT_TRUE(std::regex_search(sc, std::regex(";\\s*Secure(;|$)", std::regex::icase))) << sc;
    EXPECT_TRUE(std::regex_search(sc, std::regex(";\\s*HttpOnly(;|$)", std::regex::icase))) << sc;
    EXPECT_TRUE(std::regex_search(sc, std::regex(";\\s*SameSite=Lax(;|$)", std::regex::icase))) << sc;
    EXPECT_TRUE(std::regex_search(sc, std::regex(";\\s*Path=/(;|$)"))) << sc;
    EXPECT_FALSE(std::regex_search(sc, std::regex(";\\s*Domain=", std::regex::icase))) << "__Host- forbids Domain: " << sc;

    // A browser sends it back over HTTPS (here: by hand).
    const auto value = sc.substr(sc.find('=') + 1, sc.find(';') - sc.find('=') - 1);
    HttpClient by_hand(s.base_url());
    EXPECT_EQ(by_hand.get("/api/v1/session", {{"Cookie", "__Host-ps_session=" + value}}).status, 200);
    // The unprefixed name is not the session cookie in this mode.
    EXPECT_EQ(by_hand.get("/api/v1/session", {{"Cookie", "ps_session=" + value}}).status, 401);
}

TEST_F(Security, HeadRequestsGetHeadersOnly) {
    HttpClient c(server().base_url());
    auto res = c.request("HEAD", "/", std::nullopt);
    EXPECT_TRUE(res.status == 200 || res.status == 405) << res.describe();
    EXPECT_TRUE(res.body.empty());
    expect_security_headers(res, server(), "HEAD /");
}

// Behind a trusted proxy, the client is the right-most X-Forwarded-For entry that is not a
// proxy, counting every header line: a client cannot put its own line first and be believed.
TEST(AdminToken, WrongTokensFromOneAddressWaitLikeFailedLogins) {
    ServerProcess s({.args = {"--set", "auth.max_admin_failures=3", "--set", "auth.first_delay=1m", "--set", "auth.lockout=1m", "--set",
                              "server.trusted_proxies=127.0.0.1"}});
    HttpClient c(s.base_url());
    const Headers right{{"Authorization", "Bearer " + s.admin_token()}};
    // Requests without a token are no guesses: they do not count.
    for (int i = 0; i < 5; ++i) EXPECT_JSON_ERROR(c.get("/admin/knobs"), 401);
    for (int i = 0; i < 3; ++i) EXPECT_JSON_ERROR(c.get("/admin/knobs", {{"Authorization", "Bearer guess-" + std::to_string(i)}}), 401);
    auto waiting = c.put_json("/admin/knobs", "{\"latency_ms\": 1}", {{"Authorization", "Bearer guess-3"}});
    EXPECT_JSON_ERROR(waiting, 429, "too_many_attempts");
    EXPECT_EQ(waiting.header("Retry-After"), "60") << waiting.describe();
    EXPECT_TRUE(contains(waiting.body, "Try again in 1 minute")) << waiting.body;
    // While the address waits, not even the right token is compared...
    EXPECT_JSON_ERROR(c.get("/admin/knobs", right), 429);
    // ...but other addresses are not affected.
    Headers elsewhere = right;
    elsewhere.emplace_back("X-Forwarded-For", "198.51.100.7");
    EXPECT_EQ(c.get("/admin/knobs", elsewhere).status, 200);
}

TEST(ForwardedFor, EveryHeaderLineCountsAndOnlyTrustedProxiesAreBelieved) {
    ServerProcess trusting({.args = {"--set", "server.trusted_proxies=127.0.0.1"}});
    HttpClient c(trusting.base_url());
    ASSERT_EQ(c.get("/healthz", {{"X-Forwarded-For", "6.6.6.6"}, {"X-Forwarded-For", "198.51.100.7"}}).status, 200);
    ASSERT_EQ(c.get("/readyz", {{"X-Forwarded-For", "6.6.6.6, 203.0.113.9"}}).status, 200);
    std::string log;
    for (int i = 0; i < 50 && (log = trusting.log()).find("/readyz") == std::string::npos; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the access log is written every 50 ms
    EXPECT_NE(log.find("/healthz 200"), std::string::npos) << log;
    EXPECT_NE(log.find("client=198.51.100.7"), std::string::npos) << log;
    EXPECT_NE(log.find("client=203.0.113.9"), std::string::npos) << log;
    EXPECT_EQ(log.find("client=6.6.6.6"), std::string::npos) << log;

    ServerProcess untrusting;  // no trusted proxies: the header is ignored
    HttpClient u(untrusting.base_url());
    ASSERT_EQ(u.get("/healthz", {{"X-Forwarded-For", "198.51.100.7"}}).status, 200);
    for (int i = 0; i < 50 && (log = untrusting.log()).find("/healthz") == std::string::npos; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_NE(log.find("client=127.0.0.1"), std::string::npos) << log;
}
