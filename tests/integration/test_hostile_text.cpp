// Hostile text (issue 7): invalid UTF-8 and control characters in usernames (422) and in
// every other text field; XSS payloads in everything that is shown back (the login form's
// echo, error pages, the 415 message with its file name, the photo page, the footer);
// SQL injection strings in every field (username, password, photo ids in URLs, before and
// limit, Idempotency-Key, cookies). Raw payloads never appear unescaped in HTML, JSON stays
// valid JSON (and valid UTF-8), SQL is plain data, and the server keeps serving.
#include "support/app.hpp"
#include "support/files.hpp"
#include "support/http_client.hpp"
#include "support/images.hpp"
#include "support/photoshare_server.hpp"

#include <regex>

using namespace pstest;

namespace {

const fs::path kCamera = testdata("images/edge/exif-samples/DSCN0010.jpg");

// U+202E RIGHT-TO-LEFT OVERRIDE (UTF-8 E2 80 AE), the file-name spoofing character. Spelled as
// chars: misc-misleading-bidirectional reads a string literal's bytes, and takes the escaped
// override for one that reorders the source text.
const std::string kRightToLeftOverride{'\xe2', '\x80', '\xae'};

std::string creds(const std::string& username, const std::string& password) {
    return boost::json::serialize(boost::json::object{{"username", username}, {"password", password}});
}

// JSON with raw bytes inside a string, as given (boost::json would escape or refuse them).
std::string raw_creds(const std::string& username_json_text, const std::string& password_json_text) {
    return "{\"username\":\"" + username_json_text + "\",\"password\":\"" + password_json_text + "\"}";
}

std::string csrf_field(const std::string& html) {
    std::smatch m;
    if (std::regex_search(html, m, std::regex(R"re(name="csrf_token"\s+value="([^"]+)")re"))) return m[1];
    return {};
}

// What an HTML page shows for `text`: the five characters that matter escaped. The server
// may escape more (a backtick as &#96;); unescape that before comparing.
std::string escaped(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string normalise_extra_escapes(std::string html) {
    for (const auto& [from, to] : {std::pair<std::string, std::string>{"&#96;", "`"}, {"&#x27;", "&#39;"}, {"&#34;", "&quot;"}}) {
        for (std::size_t p; (p = html.find(from)) != std::string::npos;) html.replace(p, from.size(), to);
    }
    return html;
}

bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        if (n == 2 && c < 0xC2) return false;  // overlong
        for (std::size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
        i += n;
    }
    return true;
}

// The JSON error's message, after checking that the body is valid UTF-8 and valid JSON.
std::string json_message(const Response& r) {
    EXPECT_TRUE(valid_utf8(r.body)) << "the JSON body is not valid UTF-8: " << r.body.substr(0, 300);
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    EXPECT_FALSE(ec) << "not valid JSON (" << ec.message() << "): " << r.body.substr(0, 300);
    if (ec || !v.is_object() || !v.as_object().contains("error")) return {};
    return std::string(v.at("error").at("message").as_string());
}

// Nothing that looks like a database's own error message reaches a client.
void expect_no_sql_leak(const Response& r) {
    for (const char* word : {"SQL", "sqlite", "syntax error", "SQLITE_", "near \"", "constraint"})
        EXPECT_FALSE(contains(r.body, word)) << "a database error leaked: " << r.body.substr(0, 300);
}

const std::vector<std::string> kXss = {
    "<script>alert(1)</script>",
    "\"><script>alert(2)</script>",
    "'><svg onload=alert(3)>",
    "<img src=x onerror=alert(4)>",
    "`-alert(5)-`",
    "</textarea><script>alert(6)</script>",
    "javascript:alert(7)",
    "&lt;script&gt;alert(8)&lt;/script&gt;",  // must be escaped again, not decoded
    "{{user}}{{{content}}}",                   // template syntax stays text
};

}  // namespace

// Many failed logins on purpose: the brute-force limits are tested in test_hostile_auth.cpp.
PSTEST_SHARED_SERVER_FIXTURE(HostileText,
                            .args = {"--set", "auth.max_failures_per_user=100000", "--set", "auth.max_failures_per_address=100000"},
                            .name = "itest-hostile-text");

// ---- invalid UTF-8 and control characters ---------------------------------------------------

TEST_F(HostileText, UsernamesWithControlCharactersOrInvalidUtf8Are422) {
    HttpClient c(server().base_url());
    HealthProbe probe(server());
    // As JSON escapes (valid JSON, invalid usernames): exactly 422 invalid_username.
    for (const std::string& escape : {std::string("\\u007f"), std::string("\\u001b[31m"), std::string("\\u0085"), std::string("\\u202e"),
                                      std::string("\\u200b"), std::string("\\uff21"), std::string("\\u0000"), std::string("\\r"),
                                      std::string("\\u2028"), std::string("\\ufeff")}) {
        SCOPED_TRACE("username with " + escape);
        auto res = c.post_json("/api/v1/users", raw_creds("abc" + escape + "def", kPassword));
        EXPECT_JSON_ERROR(res, 422, "invalid_username");
        EXPECT_FALSE(json_message(res).empty());
    }
    // Raw bytes that are not UTF-8 (lone continuation, overlong slash, truncated sequence,
    // surrogate, beyond U+10FFFF): not JSON, 400 (or 422); never an account.
    for (const std::string& bytes : {std::string("\x80"), std::string("\xc0\xaf"), std::string("\xe6\x97"), std::string("\xed\xa0\x80"),
                                     std::string("\xf4\x90\x80\x80"), std::string("\xfe\xff")}) {
        SCOPED_TRACE("username with raw bytes " + url_encode(bytes));
        auto res = c.post_json("/api/v1/users", raw_creds("abc" + bytes + "def", kPassword));
        EXPECT_TRUE(res.status == 400 || res.status == 422) << res.describe();
        json_message(res);
    }
    // The same through the register form: every one of them 422, as HTML.
    auto page = c.get("/register");
    const auto token = csrf_field(page.body);
    ASSERT_FALSE(token.empty());
    for (const std::string& bytes :
         {std::string("\x7f"), std::string("\x1b[31m"), std::string("\xc2\x85"), kRightToLeftOverride, std::string("\xe2\x80\x8b"),
          std::string("\xef\xbc\xa1"), std::string("\x80"), std::string("\xc0\xaf"), std::string("\xe6\x97"), std::string("\xed\xa0\x80"),
          std::string(1, '\0'), std::string("\r\n"), std::string("\x01")}) {
        SCOPED_TRACE("form username with " + url_encode(bytes));
        auto res = c.post_form("/register", {{"csrf_token", token}, {"username", "abc" + bytes + "def"}, {"password", kPassword}});
        if (bytes == std::string(1, '\0')) {
            // %00 is refused by the form decoder for the whole body: 400 is as clear.
            EXPECT_TRUE(res.status == 400 || res.status == 422) << res.describe();
        } else {
            EXPECT_EQ(res.status, 422) << res.describe();
            EXPECT_TRUE(contains(res.body, "username")) << "the message says what is wrong";
        }
        EXPECT_TRUE(res.header("Content-Type").starts_with("text/html"));
        EXPECT_FALSE(res.has_header("Set-Cookie") && contains(res.header("Set-Cookie"), "ps_session=")) << "no session for a refused name";
    }
    // Logging in with such names is a plain failed login, not a crash.
    for (const std::string& bytes : {std::string("\\u0000"), std::string("\\u001b"), std::string("\\u202e")}) {
        EXPECT_JSON_ERROR(c.post_json("/api/v1/session", raw_creds("abc" + bytes, kPassword)), 401, "wrong_credentials");
    }
    probe.stop();
    EXPECT_TRUE(probe.ok()) << probe.describe();
}

TEST_F(HostileText, PasswordsAreOpaqueDataButNul) {
    HttpClient c(server().base_url());
    const auto name = unique_username("pw");
    const std::string password = "p\x01\x1b[31m\x7f\xc2\x85" + kRightToLeftOverride + "\xf0\x9f\x94\x91 \"'\\";
    ASSERT_EQ(c.post_json("/api/v1/users", creds(name, password)).status, 201);
    EXPECT_EQ(c.post_json("/api/v1/session", creds(name, password)).status, 200);
    EXPECT_EQ(c.post_json("/api/v1/session", creds(name, password.substr(0, password.size() - 1))).status, 401);
    EXPECT_JSON_ERROR(c.post_json("/api/v1/users", raw_creds(unique_username("pw"), "abcdefgh\\u0000ijk")), 422, "invalid_password");
    // Through the form: the same bytes log in.
    HttpClient b(server().base_url());
    auto page = b.get("/login");
    auto res = b.post_form("/login", {{"csrf_token", csrf_field(page.body)}, {"username", name}, {"password", password}});
    EXPECT_EQ(res.status, 303) << res.describe();
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileText, ControlCharactersAndInvalidUtf8InOtherFieldsAreRefusedOrHarmless) {
    auto u = register_user(server());
    HealthProbe probe(server());
    // CSRF tokens (form field and header): 403.
    HttpClient v(server().base_url());
    auto page = v.get("/login");
    for (const std::string& bad : {std::string("\x01"), std::string("\xff\xfe"), std::string(1, '\0'), csrf_field(page.body) + "\x7f"}) {
        auto res = v.post_form("/login", {{"csrf_token", bad}, {"username", u.username}, {"password", kPassword}});
        // %00 makes the whole form malformed (400); anything else is a wrong token (403).
        EXPECT_TRUE(res.status == 403 || (res.status == 400 && bad.find('\0') != std::string::npos)) << url_encode(bad) << "\n"
                                                                                                  << res.describe();
    }
    for (const std::string& bad : {std::string("\xff\xfe"), u.csrf + "\xc2\x85", kRightToLeftOverride + u.csrf}) {
        auto res = u.http().del("/api/v1/session", {{"X-CSRF-Token", bad}});
        EXPECT_JSON_ERROR(res, 403, "bad_csrf_token");
    }
    // Idempotency-Key: visible ASCII only.
    for (const std::string& key : {std::string("caf\xc3\xa9"), std::string("\xff"), std::string("a b"), std::string("a\tb"),
                                   kRightToLeftOverride + "abc"}) {
        SCOPED_TRACE("Idempotency-Key " + url_encode(key));
        Headers h = u.csrf_header();
        h.emplace_back("Idempotency-Key", key);
        auto res = u.http().upload("/api/v1/photos", {Part::file(kCamera, "a.jpg", "image/jpeg")}, h);
        EXPECT_JSON_ERROR(res, 400, "bad_idempotency_key");
    }
    for (const std::string& key : {std::string("a\x01" "b"), std::string("a\x7f" "b")}) {
        SCOPED_TRACE("Idempotency-Key " + url_encode(key));
        Headers h = u.csrf_header();
        h.emplace_back("Idempotency-Key", key);
        auto res = u.http().upload("/api/v1/photos", {Part::file(kCamera, "a.jpg", "image/jpeg")}, h);
        EXPECT_EQ(res.status, 400) << res.describe();  // refused by the HTTP parser or by the API
    }
    // Query parameters.
    HttpClient c(server().base_url());
    for (const char* q : {"before=%01", "before=%ff", "before=1%00", "limit=%e2%80%ae5", "limit=5%0a", "before=%c0%b1"}) {
        SCOPED_TRACE(q);
        auto res = c.get(std::string("/api/v1/photos?") + q);
        EXPECT_JSON_ERROR(res, 400);
        json_message(res);
    }
    // Cookies with junk are no session (401), not an error.
    for (const std::string& cookie : {std::string("ps_session=\xff\xfe\xfd"), "ps_session=" + kRightToLeftOverride + std::string(40, 'a'),
                                      std::string("ps_session=") + std::string(40, 'a') + "; ps_session=\xc0\xaf"}) {
        HttpClient jar(server().base_url());
        auto res = jar.get("/api/v1/session", {{"Cookie", cookie}});
        EXPECT_JSON_ERROR(res, 401);
    }
    {
        // A DEL in a header value is not HTTP: refused by the parser.
        HttpClient jar(server().base_url());
        auto res = jar.get("/api/v1/session", {{"Cookie", "ps_session=a\x7f" "b"}});
        EXPECT_TRUE(res.status == 400 || res.status == 401) << res.describe();
    }
    probe.stop();
    EXPECT_TRUE(probe.ok()) << probe.describe();
}

TEST_F(HostileText, FileNamesWithInvalidUtf8OrCutMidCharacterStillGiveValidJson) {
    // The 415 message quotes the file name: it must stay valid UTF-8 and valid JSON, also
    // when the name is not UTF-8 or when it is cut short in the middle of a character.
    auto u = register_user(server());
    struct Case {
        const char* what;
        std::string filename;
    };
    const std::vector<Case> cases = {
        {"bytes that are not UTF-8", "\xff\xfe<b>.jpg"},
        {"a lone continuation byte", "photo\x80.jpg"},
        {"79 ASCII characters and an e-acute (cut at 80 bytes)", std::string(79, 'a') + "\xc3\xa9.jpg"},
        {"Japanese, 90 bytes (cut at 80 bytes)", [] {
             std::string s;
             for (int i = 0; i < 10; ++i) s += "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e";
             return s + ".jpg";
         }()},
        {"an emoji at byte 78", std::string(78, 'b') + "\xf0\x9f\x93\xb7.jpg"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        MultipartBody m;
        m.file("this is not an image", c.filename, "photo", "image/jpeg").close();
        auto res = u.http().post_raw("/api/v1/photos", m.body, m.content_type(), u.csrf_header());
        EXPECT_EQ(res.status, 415) << res.describe();
        EXPECT_FALSE(json_message(res).empty());
        // And the HTML form's error page is valid UTF-8 as well.
        MultipartBody f;
        f.field("csrf_token", u.csrf).file("this is not an image", c.filename, "photo", "image/jpeg").close();
        auto html = u.http().post_raw("/upload", f.body, f.content_type());
        EXPECT_EQ(html.status, 415) << html.describe();
        EXPECT_TRUE(valid_utf8(html.body)) << "the error page is not valid UTF-8";
    }
    EXPECT_STILL_SERVING(server());
}

// ---- XSS ------------------------------------------------------------------------------------------

TEST_F(HostileText, TheLoginAndRegisterFormsEchoTheUsernameEscaped) {
    HttpClient b(server().base_url());
    auto page = b.get("/login");
    const auto token = csrf_field(page.body);
    ASSERT_FALSE(token.empty());
    for (const auto& payload : kXss) {
        for (const char* path : {"/login", "/register"}) {
            SCOPED_TRACE(std::string(path) + " username " + payload);
            auto res = b.post_form(path, {{"csrf_token", token}, {"username", payload}, {"password", "whatever password"}});
            EXPECT_TRUE(res.status == 401 || res.status == 422) << res.describe();
            EXPECT_TRUE(res.header("Content-Type").starts_with("text/html"));
            if (escaped(payload) != payload) EXPECT_FALSE(contains(res.body, payload)) << "the raw payload is in the page";
            const auto body = normalise_extra_escapes(res.body);
            EXPECT_TRUE(contains(body, escaped(payload))) << "the typed name is shown again, escaped:\n" << res.body.substr(0, 4000);
            // The echo stays inside its attribute: the input element ends where it should.
            std::smatch m;
            ASSERT_TRUE(std::regex_search(body, m, std::regex(R"re(<input name="username" value="([^"]*)")re"))) << body;
            EXPECT_EQ(m[1].str(), escaped(payload));
        }
    }
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileText, ErrorPagesDoNotEchoPathsOrQueriesRaw) {
    HttpClient c(server().base_url());
    const std::vector<std::string> targets = {
        "/%3Cscript%3Ealert(1)%3C/script%3E",
        "/photos/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/photos/%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E",
        "/static/%3Csvg%20onload=alert(1)%3E",
        "/media/%3Cscript%3Ealert(1)%3C%2Fscript%3E.jpg",
        "/?before=%3Cscript%3Ealert(1)%3C/script%3E",
        "/?before=1&x=%3Cscript%3Ealert(1)%3C/script%3E",
        "/api/v1/photos?limit=%3Cscript%3Ealert(1)%3C/script%3E",
        "/api/v1/photos/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/api/v1/%3Cscript%3Ealert(1)%3C/script%3E",
    };
    for (const auto& t : targets) {
        SCOPED_TRACE(t);
        auto res = c.get(t);
        EXPECT_GE(res.status, 200);
        for (const char* raw : {"<script>alert(1)", "<img src=x", "<svg onload", "onerror=alert(1)>"})
            EXPECT_FALSE(contains(res.body, raw)) << "echoed raw: " << res.body.substr(0, 400);
        if (t.starts_with("/api/")) json_message(res);
    }
    // Raw (unencoded) markup in the request line is refused outright.
    for (const std::string& t : {std::string("/<script>alert(1)</script>"), std::string("/?q=<script>alert(1)</script>"),
                                 std::string("/api/v1/photos?limit=\"><svg/onload=alert(1)>")}) {
        SCOPED_TRACE(t);
        auto r = raw_exchange(server().port(), "GET " + t + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        ASSERT_TRUE(r.has_value());
        EXPECT_GE(r->status, 400);
        EXPECT_FALSE(contains(r->body, "<script>alert(1)"));
        EXPECT_FALSE(contains(r->body, "<svg/onload"));
    }
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileText, FileNamesInThe415MessageAreDataInJsonAndEscapedInHtml) {
    auto u = register_user(server());
    // No '/' or '\\': the server keeps only what follows the last one.
    const std::vector<std::string> names = {"<img src=x onerror=alert(1)>.png", "\"><svg onload=alert(2)>.jpg",
                                            "'-alert(3)-'.gif", "&lt;b&gt;.png", kRightToLeftOverride + "gnp.exe"};
    for (const auto& name : names) {
        SCOPED_TRACE(name);
        MultipartBody api;
        api.file("<html><script>alert(9)</script></html>", name, "photo", "image/png").close();
        auto res = u.http().post_raw("/api/v1/photos", api.body, api.content_type(), u.csrf_header());
        EXPECT_JSON_ERROR(res, 415, "unsupported_image");
        EXPECT_EQ(res.header("X-Content-Type-Options"), "nosniff");
        EXPECT_TRUE(contains(json_message(res), name)) << "the message names the file, as data: " << res.body;
        EXPECT_FALSE(contains(res.body, "alert(9)")) << "the file's contents are not echoed";

        MultipartBody form;
        form.field("csrf_token", u.csrf).file("<html><script>alert(9)</script></html>", name, "photo", "image/png").close();
        auto html = u.http().post_raw("/upload", form.body, form.content_type());
        EXPECT_EQ(html.status, 415) << html.describe();
        EXPECT_TRUE(html.header("Content-Type").starts_with("text/html"));
        if (escaped(name) != name) EXPECT_FALSE(contains(html.body, name)) << "raw in the error page";
        EXPECT_TRUE(contains(normalise_extra_escapes(html.body), escaped(name))) << html.body.substr(0, 3000);
    }
    // The upload script shows server messages as text, never as markup.
    HttpClient c(server().base_url());
    auto js = c.get("/static/app.js");
    ASSERT_EQ(js.status, 200);
    EXPECT_TRUE(contains(js.body, "textContent"));
    for (const char* sink : {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("})
        EXPECT_FALSE(contains(js.body, sink)) << "app.js uses " << sink;
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileText, ThePhotoPageAndFeedShowOnlyEscapedData) {
    auto u = register_user(server());
    auto up = upload_photos(u, {Part::bytes(with_jpeg_comment(read_file(kCamera), kXss[0]), kXss[1] + ".jpg", "image/jpeg")});
    ASSERT_EQ(up.status, 201) << up.describe();
    const std::string id(up.json().at("photos").at(0).at("id").as_string());
    HttpClient c(server().base_url());
    for (const std::string& path : {"/photos/" + id, std::string("/"), "/api/v1/photos/" + id, std::string("/api/v1/photos")}) {
        SCOPED_TRACE(path);
        auto res = c.get(path);
        ASSERT_EQ(res.status, 200);
        for (const auto& payload : kXss)
            if (escaped(payload) != payload) EXPECT_FALSE(contains(res.body, payload)) << "payload in " << path;
        EXPECT_FALSE(contains(res.body, "alert(")) << path;
    }
    EXPECT_STILL_SERVING(server());
}

TEST(HostileTextProxy, AForwardedRequestIdIsEscapedInEveryPage) {
    // Behind a trusted proxy the X-Request-Id header is believed and shown in the footer of
    // every page; a proxy that passes a client's header on must not make that an XSS.
    ServerProcess s({.args = {"--set", "server.trusted_proxies=127.0.0.1"}});
    auto u = register_user(s);
    const std::string rid = "<script>alert(1)</script>";
    HttpClient anon(s.base_url());
    for (const std::string& path : {std::string("/"), std::string("/login"), std::string("/no/such/page"), std::string("/?before=1")}) {
        SCOPED_TRACE(path);
        auto res = anon.get(path, {{"X-Request-Id", rid}});
        EXPECT_FALSE(contains(res.body, rid)) << "the request id is in the page unescaped";
    }
    auto mine = u.http().get("/", {{"X-Request-Id", rid}});
    EXPECT_FALSE(contains(mine.body, rid));
    EXPECT_STILL_SERVING(s);
}

// ---- SQL injection ---------------------------------------------------------------------------------

TEST_F(HostileText, SqlInjectionInAccountFieldsIsPlainData) {
    HttpClient c(server().base_url());
    auto victim = register_user(server());
    const std::vector<std::string> sql = {
        "' OR '1'='1", "' OR 1=1--", "admin'--", "x'); DROP TABLE users;--", "\" OR \"\"=\"", "1; SELECT * FROM sessions",
        victim.username + "' --", victim.username + "'/*", "' UNION SELECT password_hash FROM users--",
    };
    for (const auto& s : sql) {
        SCOPED_TRACE(s);
        auto reg = c.post_json("/api/v1/users", creds(s, kPassword));
        EXPECT_JSON_ERROR(reg, 422, "invalid_username");
        expect_no_sql_leak(reg);
        auto login = c.post_json("/api/v1/session", creds(s, "anything at all"));
        EXPECT_JSON_ERROR(login, 401, "wrong_credentials");
        expect_no_sql_leak(login);
        auto pw = c.post_json("/api/v1/session", creds(victim.username, s));
        EXPECT_JSON_ERROR(pw, 401, "wrong_credentials");
        expect_no_sql_leak(pw);
    }
    // Through the login form as well.
    HttpClient b(server().base_url());
    const auto token = csrf_field(b.get("/login").body);
    auto form = b.post_form("/login", {{"csrf_token", token}, {"username", "' OR 1=1--"}, {"password", "' OR 1=1--"}});
    EXPECT_EQ(form.status, 401) << form.describe();
    // A password made of SQL is stored and checked as the bytes it is.
    const auto name = unique_username("sql");
    const std::string password = "'; DROP TABLE users; --";
    ASSERT_EQ(c.post_json("/api/v1/users", creds(name, password)).status, 201);
    EXPECT_EQ(c.post_json("/api/v1/session", creds(name, password)).status, 200);
    EXPECT_EQ(c.post_json("/api/v1/session", creds(name, "' OR '1'='1")).status, 401);
    // Everything is still there.
    EXPECT_EQ(login(server(), victim.username, kPassword).http().get("/api/v1/session").status, 200);
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileText, SqlInjectionInUrlsAndParametersIsPlainData) {
    auto u = register_user(server());
    auto up = upload_photos(u, {Part::file(kCamera, "a.jpg", "image/jpeg")});
    ASSERT_EQ(up.status, 201);
    const std::string id(up.json().at("photos").at(0).at("id").as_string());
    const auto feed_before = feed_ids(server());
    HttpClient c(server().base_url());
    const std::vector<std::string> ids = {
        id + "' OR '1'='1", "x' OR '1'='1", "1 OR 1=1", "' UNION SELECT * FROM users--", id + "';DELETE FROM photos;--",
        "%27%20OR%20%271%27%3D%271", "1%3BDROP%20TABLE%20photos",
    };
    for (const auto& raw : ids) {
        SCOPED_TRACE(raw);
        const std::string enc = raw.find('%') != std::string::npos ? raw : url_encode(raw);
        auto get = c.get("/api/v1/photos/" + enc);
        EXPECT_JSON_ERROR(get, 404);
        expect_no_sql_leak(get);
        auto page = c.get("/photos/" + enc);
        EXPECT_EQ(page.status, 404);
        expect_no_sql_leak(page);
        auto del = u.http().del("/api/v1/photos/" + enc, u.csrf_header());
        EXPECT_JSON_ERROR(del, 404);
        auto form = u.http().post_form("/photos/" + enc + "/delete", {{"csrf_token", u.csrf}});
        EXPECT_EQ(form.status, 404) << form.describe();
    }
    for (const char* q : {"before=1%20OR%201%3D1", "before=1%3BDROP%20TABLE%20photos", "limit=1%20UNION%20SELECT%201",
                          "limit=10%27%20OR%20%271", "before=%27", "limit=1--"}) {
        SCOPED_TRACE(q);
        auto res = c.get(std::string("/api/v1/photos?") + q);
        EXPECT_JSON_ERROR(res, 400);
        expect_no_sql_leak(res);
        auto page = c.get(std::string("/?") + q);
        EXPECT_TRUE(page.status == 400 || page.status == 200) << page.describe();
    }
    // Cookies.
    for (const std::string& cookie : {std::string("' OR '1'='1"), std::string("x' OR 1=1--"), std::string("abc%27%20OR%201%3D1")}) {
        HttpClient jar(server().base_url());
        EXPECT_JSON_ERROR(jar.get("/api/v1/session", {{"Cookie", "ps_session=" + cookie}}), 401);
    }
    EXPECT_EQ(feed_ids(server()), feed_before) << "nothing was deleted";
    HttpClient anon(server().base_url());
    EXPECT_EQ(anon.get("/api/v1/photos/" + id).status, 200);
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileText, SqlInjectionInTheIdempotencyKeyIsPlainData) {
    auto alice = register_user(server());
    auto bob = register_user(server());
    const std::vector<Part> parts{Part::file(kCamera, "a.jpg", "image/jpeg")};
    auto with_key = [](User& u, const std::string& key) {
        Headers h = u.csrf_header();
        h.emplace_back("Idempotency-Key", key);
        return h;
    };
    const std::string key = "'OR'1'='1';--";
    auto first = alice.http().upload("/api/v1/photos", parts, with_key(alice, key));
    ASSERT_EQ(first.status, 201) << first.describe();
    auto again = alice.http().upload("/api/v1/photos", parts, with_key(alice, key));
    ASSERT_EQ(again.status, 201);
    EXPECT_EQ(again.header("Idempotency-Replayed"), "true");
    EXPECT_EQ(again.json().at("photos"), first.json().at("photos"));
    // Bob's same key is his own; a key that would match every row in SQL matches nothing.
    auto bobs = bob.http().upload("/api/v1/photos", parts, with_key(bob, key));
    ASSERT_EQ(bobs.status, 201);
    EXPECT_TRUE(bobs.header("Idempotency-Replayed").empty());
    auto wildcard = alice.http().upload("/api/v1/photos", parts, with_key(alice, "x'OR'1'='1"));
    ASSERT_EQ(wildcard.status, 201);
    EXPECT_TRUE(wildcard.header("Idempotency-Replayed").empty()) << "a key is compared as data";
    auto like = alice.http().upload("/api/v1/photos", parts, with_key(alice, "%"));
    ASSERT_EQ(like.status, 201);
    EXPECT_TRUE(like.header("Idempotency-Replayed").empty()) << "no LIKE pattern";
    auto drop = alice.http().upload("/api/v1/photos", parts, with_key(alice, "x');DELETE/**/FROM/**/photos;--"));
    ASSERT_EQ(drop.status, 201);
    const std::string first_id(first.json().at("photos").at(0).at("id").as_string());
    HttpClient anon(server().base_url());
    EXPECT_EQ(anon.get("/api/v1/photos/" + first_id).status, 200) << "nothing was deleted";
    EXPECT_STILL_SERVING(server());
}
