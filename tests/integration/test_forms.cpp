// The site as a browser without JavaScript uses it: server-rendered pages and plain HTML
// forms, each protected by a CSRF token, with everything the user typed escaped.
#include "support/app.hpp"
#include "support/files.hpp"
#include "support/http_client.hpp"
#include "support/images.hpp"
#include "support/photoshare_server.hpp"

#include <map>
#include <regex>
#include <set>

using namespace pstest;

namespace {

const fs::path kCamera = testdata("images/edge/exif-samples/DSCN0010.jpg");

// The value of the first hidden csrf_token field of a page.
std::string csrf_field(const std::string& html) {
    std::smatch m;
    if (std::regex_search(html, m, std::regex(R"re(name="csrf_token"\s+value="([^"]+)")re"))) return m[1];
    if (std::regex_search(html, m, std::regex(R"re(value="([^"]+)"\s+name="csrf_token")re"))) return m[1];
    return {};
}

std::string set_cookie_for(const Response& res, const std::string& name) {
    for (const auto& v : res.all("Set-Cookie"))
        if (v.starts_with(name + "=")) return v;
    return {};
}

bool is_html(const Response& res) { return res.header("Content-Type").starts_with("text/html"); }

// A browser that has loaded the front page (and so holds its CSRF cookie and token).
struct Browser {
    HttpClient http;
    std::string csrf;
    explicit Browser(const ServerProcess& s) : http(s.base_url()) { reload(); }
    std::string reload() {
        auto res = http.get("/");
        EXPECT_EQ(res.status, 200) << res.describe();
        csrf = csrf_field(res.body);
        EXPECT_FALSE(csrf.empty()) << "no csrf_token field on the front page";
        return res.body;
    }
};

std::vector<std::string> newest_ids(const ServerProcess& s, const std::string& username) {
    HttpClient c(s.base_url());
    std::vector<std::string> ids;
    auto v = c.get("/api/v1/photos?limit=100").json();
    for (const auto& p : v.at("photos").as_array())
        if (p.at("uploaded_by").as_string() == username) ids.emplace_back(p.at("id").as_string());
    return ids;
}

Browser registered_browser(const ServerProcess& s, std::string& username) {
    Browser b(s);
    username = unique_username("form");
    auto res = b.http.post_form("/register", {{"csrf_token", b.csrf}, {"username", username}, {"password", kPassword}});
    EXPECT_EQ(res.status, 303) << res.describe();
    b.reload();
    return b;
}

}  // namespace

PSTEST_SHARED_SERVER_FIXTURE(Forms, .name = "itest-forms");

TEST_F(Forms, RegisterUploadViewDeleteLogoutLoginWithoutJavaScript) {
    HttpClient b(server().base_url());

    // A visitor sees the photos and the login and register forms, with a CSRF token that is
    // also set as a cookie.
    auto home = b.get("/");
    ASSERT_EQ(home.status, 200) << home.describe();
    EXPECT_TRUE(is_html(home));
    EXPECT_TRUE(contains(home.body, "action=\"/login\""));
    EXPECT_TRUE(contains(home.body, "action=\"/register\""));
    EXPECT_FALSE(contains(home.body, "action=\"/upload\""));
    const auto token = csrf_field(home.body);
    ASSERT_GE(token.size(), 22u) << home.body;
    const auto csrf_cookie = set_cookie_for(home, "ps_csrf");
    ASSERT_FALSE(csrf_cookie.empty()) << home.describe();
    // Signed double submit: the cookie holds the visitor id, the form a MAC of it.
    EXPECT_FALSE(b.cookie("ps_csrf").value_or("").empty());
    EXPECT_NE(b.cookie("ps_csrf").value_or(""), token);

    // Register: 303 to the front page, logged in.
    const auto name = unique_username("Flow");
    auto reg = b.post_form("/register", {{"csrf_token", token}, {"username", name}, {"password", kPassword}});
    ASSERT_EQ(reg.status, 303) << reg.describe();
    EXPECT_EQ(reg.header("Location"), "/");
    EXPECT_FALSE(set_cookie_for(reg, "ps_session").empty()) << reg.describe();

    // Logged in: the upload form and the user's name.
    auto mine = b.get("/");
    ASSERT_EQ(mine.status, 200);
    EXPECT_TRUE(contains(mine.body, name)) << "the page shows who is logged in";
    EXPECT_TRUE(contains(mine.body, "action=\"/upload\""));
    EXPECT_TRUE(contains(mine.body, "multipart/form-data"));
    EXPECT_TRUE(contains(mine.body, "name=\"photo\""));
    EXPECT_TRUE(contains(mine.body, "action=\"/logout\""));
    EXPECT_FALSE(contains(mine.body, "action=\"/register\""));
    const auto session_token = csrf_field(mine.body);
    ASSERT_FALSE(session_token.empty());

    // Upload through the form: the token travels as a form field.
    auto up = b.upload("/upload", {Part::field("csrf_token", session_token), Part::file(kCamera, "beach.jpg", "image/jpeg")});
    ASSERT_EQ(up.status, 303) << up.describe();
    EXPECT_EQ(up.header("Location"), "/");
    auto ids = newest_ids(server(), name);
    ASSERT_EQ(ids.size(), 1u);
    const auto id = ids[0];

    // Everybody sees it on the front page, with its uploader.
    HttpClient anon(server().base_url());
    for (HttpClient* c : {&b, &anon}) {
        auto page = c->get("/");
        EXPECT_TRUE(contains(page.body, "/media/" + id)) << "thumbnail URL of the new photo";
        EXPECT_TRUE(contains(page.body, "/photos/" + id));
        EXPECT_TRUE(contains(page.body, name));
        EXPECT_TRUE(contains(page.body, "<time")) << "upload time";
    }

    // Its page; only the owner gets the delete button.
    auto photo = b.get("/photos/" + id);
    ASSERT_EQ(photo.status, 200) << photo.describe();
    EXPECT_TRUE(is_html(photo));
    EXPECT_TRUE(contains(photo.body, "/media/" + id));
    EXPECT_TRUE(contains(photo.body, name));
    EXPECT_TRUE(contains(photo.body, "action=\"/photos/" + id + "/delete\""));
    auto seen_by_anon = anon.get("/photos/" + id);
    EXPECT_EQ(seen_by_anon.status, 200);
    EXPECT_FALSE(contains(seen_by_anon.body, "/delete\""));

    // Delete through the form.
    auto del = b.post_form("/photos/" + id + "/delete", {{"csrf_token", session_token}});
    ASSERT_EQ(del.status, 303) << del.describe();
    EXPECT_TRUE(newest_ids(server(), name).empty());
    EXPECT_EQ(anon.get("/photos/" + id).status, 404);
    EXPECT_FALSE(contains(anon.get("/").body, "/photos/" + id));

    // Log out: back to the visitor's page.
    auto out = b.post_form("/logout", {{"csrf_token", session_token}});
    ASSERT_EQ(out.status, 303) << out.describe();
    EXPECT_FALSE(set_cookie_for(out, "ps_session").empty()) << "the session cookie is cleared";
    auto after = b.get("/");
    EXPECT_TRUE(contains(after.body, "action=\"/login\""));
    EXPECT_FALSE(contains(after.body, "action=\"/upload\""));

    // And log in again through the login form.
    const auto visitor_token = csrf_field(after.body);
    auto login = b.post_form("/login", {{"csrf_token", visitor_token}, {"username", name}, {"password", kPassword}});
    ASSERT_EQ(login.status, 303) << login.describe();
    EXPECT_FALSE(set_cookie_for(login, "ps_session").empty());
    EXPECT_TRUE(contains(b.get("/").body, "action=\"/upload\""));
}

// The front page is rendered once per feed page with markers where each member's values go
// (src/app/pages.cpp): every member must get exactly their own name, token and session, and
// no marker may be left in the page.
TEST_F(Forms, EachMembersFrontPageCarriesTheirOwnNameTokenAndSession) {
    User a = register_user(server(), unique_username("pa"));
    User b = register_user(server(), unique_username("pb"));
    std::set<std::string> fingerprints;
    for (User* u : {&a, &b}) {
        SCOPED_TRACE(u->username);
        auto home = u->http().get("/");
        ASSERT_EQ(home.status, 200) << home.describe();
        const User& other = u == &a ? b : a;
        EXPECT_NE(home.body.find("Signed in as </span><strong>" + u->username + "</strong>"), std::string::npos);
        EXPECT_EQ(home.body.find(other.username), std::string::npos) << "another member's name";
        EXPECT_EQ(home.body.find('\x1f'), std::string::npos) << "a marker left in the page";
        // Every form's token is this member's (the logout form, the upload form).
        std::regex field(R"re(name="csrf_token" value="([^"]*)")re");
        int fields = 0;
        for (auto it = std::sregex_iterator(home.body.begin(), home.body.end(), field); it != std::sregex_iterator(); ++it, ++fields)
            EXPECT_EQ((*it)[1].str(), u->csrf);
        EXPECT_GE(fields, 2);
        EXPECT_NE(home.body.find("data-csrf=\"" + u->csrf + "\""), std::string::npos);
        std::smatch m;
        ASSERT_TRUE(std::regex_search(home.body, m, std::regex(R"( · session ([0-9a-f]+))")));
        fingerprints.insert(m[1].str());
        EXPECT_NE(home.body.find(" · feed from "), std::string::npos);
        EXPECT_TRUE(std::regex_search(home.body, std::regex(R"( · request [0-9a-f]+)")));
    }
    EXPECT_EQ(fingerprints.size(), 2u) << "two members, one session fingerprint";
}

TEST_F(Forms, LoginAndRegisterPagesWork) {
    HttpClient b(server().base_url());
    for (const char* path : {"/login", "/register"}) {
        auto res = b.get(path);
        EXPECT_EQ(res.status, 200) << path << res.describe();
        EXPECT_TRUE(is_html(res));
        EXPECT_FALSE(csrf_field(res.body).empty()) << path;
    }
}

TEST_F(Forms, EveryFormNeedsTheCsrfToken) {
    // Visitor forms.
    Browser v(server());
    const auto name = unique_username("csrf");
    for (const char* path : {"/register", "/login"}) {
        SCOPED_TRACE(path);
        auto none = v.http.post_form(path, {{"username", name}, {"password", kPassword}});
        EXPECT_EQ(none.status, 403) << none.describe();
        EXPECT_TRUE(is_html(none));
        auto wrong = v.http.post_form(path, {{"csrf_token", "forged-forged-forged-forged"}, {"username", name}, {"password", kPassword}});
        EXPECT_EQ(wrong.status, 403) << wrong.describe();
        auto empty = v.http.post_form(path, {{"csrf_token", ""}, {"username", name}, {"password", kPassword}});
        EXPECT_EQ(empty.status, 403) << empty.describe();
    }
    // The token is bound to the visitor's cookie: copied into another browser it is worthless.
    HttpClient other(server().base_url());
    EXPECT_EQ(other.post_form("/register", {{"csrf_token", v.csrf}, {"username", name}, {"password", kPassword}}).status, 403);
    HttpClient api(server().base_url());
    EXPECT_EQ(api.post_json("/api/v1/session", boost::json::serialize(boost::json::object{{"username", name}, {"password", kPassword}}))
                  .status,
              401)
        << "no account was made by a refused form";

    // Member forms.
    std::string member;
    auto b = registered_browser(server(), member);
    ASSERT_EQ(b.http.upload("/upload", {Part::field("csrf_token", b.csrf), Part::file(kCamera)}).status, 303);
    const auto id = newest_ids(server(), member).at(0);
    const auto files_before = list_files(server().data_dir() / "media");

    auto up_none = b.http.upload("/upload", {Part::file(kCamera)});
    EXPECT_EQ(up_none.status, 403) << up_none.describe();
    auto up_wrong = b.http.upload("/upload", {Part::field("csrf_token", v.csrf), Part::file(kCamera)});
    EXPECT_EQ(up_wrong.status, 403) << up_wrong.describe();
    EXPECT_EQ(newest_ids(server(), member).size(), 1u) << "refused uploads store nothing";
    EXPECT_TRUE(eventually([&] { return list_files(server().data_dir() / "media") == files_before; }, 5s));
    EXPECT_TRUE(eventually([&] { return list_files(server().data_dir() / "tmp").empty(); }, 5s));

    EXPECT_EQ(b.http.post_form("/photos/" + id + "/delete", {}).status, 403);
    EXPECT_EQ(b.http.post_form("/photos/" + id + "/delete", {{"csrf_token", v.csrf}}).status, 403);
    EXPECT_EQ(newest_ids(server(), member).size(), 1u) << "refused delete deleted nothing";

    EXPECT_EQ(b.http.post_form("/logout", {}).status, 403);
    EXPECT_EQ(b.http.post_form("/logout", {{"csrf_token", "forged-forged-forged"}}).status, 403);
    EXPECT_TRUE(contains(b.http.get("/").body, "action=\"/upload\"")) << "still logged in";
}

TEST_F(Forms, DeletingSomeoneElsesPhotoThroughTheFormIs403) {
    std::string alice_name, bob_name;
    auto alice = registered_browser(server(), alice_name);
    auto bob = registered_browser(server(), bob_name);
    ASSERT_EQ(alice.http.upload("/upload", {Part::field("csrf_token", alice.csrf), Part::file(kCamera)}).status, 303);
    const auto id = newest_ids(server(), alice_name).at(0);
    auto res = bob.http.post_form("/photos/" + id + "/delete", {{"csrf_token", bob.csrf}});
    EXPECT_EQ(res.status, 403) << res.describe();
    EXPECT_TRUE(is_html(res));
    EXPECT_EQ(newest_ids(server(), alice_name).size(), 1u);
}

TEST_F(Forms, GetUploadLeadsToTheUploadFormInsteadOf405) {
    // A bookmark, or a reload of the address a refused form post left in the location bar.
    HttpClient b(server().base_url());
    auto res = b.get("/upload");
    EXPECT_EQ(res.status, 303) << res.describe();
    EXPECT_EQ(res.header("Location"), "/#upload") << res.describe();
}

TEST_F(Forms, UploadFormWhenLoggedOutIs401) {
    Browser v(server());
    auto res = v.http.upload("/upload", {Part::field("csrf_token", v.csrf), Part::file(kCamera)});
    EXPECT_TRUE(res.status == 401 || (res.status == 303 && res.header("Location").starts_with("/login"))) << res.describe();
    EXPECT_TRUE(list_files(server().data_dir() / "tmp").empty() || eventually([&] { return list_files(server().data_dir() / "tmp").empty(); }));
}

TEST_F(Forms, RefusedFormUploadShowsAnHtmlError) {
    std::string name;
    auto b = registered_browser(server(), name);
    auto res = b.http.upload("/upload", {Part::field("csrf_token", b.csrf), Part::bytes("plain text", "notes.txt", "text/plain")});
    EXPECT_EQ(res.status, 415) << res.describe();
    EXPECT_TRUE(is_html(res)) << res.describe();
    EXPECT_TRUE(newest_ids(server(), name).empty());
}

TEST_F(Forms, TypedUsernameIsEscapedWhenShownAgain) {
    Browser v(server());
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"<script>x</script>", "&lt;script&gt;x&lt;/script&gt;"},
        {"\"><img src=x onerror=alert(1)>", "&gt;&lt;img src=x onerror=alert(1)&gt;"},
    };
    for (const auto& [typed, escaped] : cases) {
        for (const char* path : {"/login", "/register"}) {
            SCOPED_TRACE(std::string(path) + " " + typed);
            auto res = v.http.post_form(path, {{"csrf_token", v.csrf}, {"username", typed}, {"password", "whatever password"}});
            EXPECT_TRUE(res.status == 401 || res.status == 422) << res.describe();
            EXPECT_TRUE(is_html(res));
            EXPECT_TRUE(contains(res.body, escaped)) << "the typed username is shown again, escaped:\n" << res.body;
            EXPECT_FALSE(contains(res.body, "<script>x")) << res.body;
            EXPECT_FALSE(contains(res.body, "<img src=x")) << res.body;
        }
    }
}

TEST_F(Forms, InvalidUsernamesAreRefusedWith422) {
    Browser v(server());
    for (const std::string& name : {std::string("\xff\xfe" "abc"), std::string("ab\x07" "cd"), std::string("a b c"), std::string("ab")}) {
        SCOPED_TRACE(url_encode(name));
        auto res = v.http.post_form("/register", {{"csrf_token", v.csrf}, {"username", name}, {"password", kPassword}});
        EXPECT_EQ(res.status, 422) << res.describe();
        EXPECT_TRUE(is_html(res));
        EXPECT_TRUE(set_cookie_for(res, "ps_session").empty());
    }
    auto short_pw = v.http.post_form("/register", {{"csrf_token", v.csrf}, {"username", unique_username()}, {"password", "short"}});
    EXPECT_EQ(short_pw.status, 422) << short_pw.describe();
    std::string taken;
    registered_browser(server(), taken);
    auto dup = v.http.post_form("/register", {{"csrf_token", v.csrf}, {"username", taken}, {"password", kPassword}});
    EXPECT_EQ(dup.status, 409) << dup.describe();
}

TEST_F(Forms, WrongPasswordAndUnknownUserShowTheSameMessage) {
    std::string name;
    registered_browser(server(), name);
    Browser v(server());
    auto wrong = v.http.post_form("/login", {{"csrf_token", v.csrf}, {"username", name}, {"password", "not the password"}});
    auto unknown = v.http.post_form("/login", {{"csrf_token", v.csrf}, {"username", unique_username("ghost")}, {"password", kPassword}});
    EXPECT_EQ(wrong.status, 401) << wrong.describe();
    EXPECT_EQ(unknown.status, 401) << unknown.describe();
    const std::regex flash(R"re(role="alert">([^<]*)<)re");
    std::smatch a, b;
    ASSERT_TRUE(std::regex_search(wrong.body, a, flash)) << wrong.body;
    ASSERT_TRUE(std::regex_search(unknown.body, b, flash)) << unknown.body;
    EXPECT_EQ(a[1].str(), b[1].str());
    EXPECT_TRUE(set_cookie_for(wrong, "ps_session").empty());
}

TEST_F(Forms, FormsAcceptOnlyUrlEncodedBodies) {
    Browser v(server());
    auto res = v.http.post_raw("/login", "{\"username\":\"x\"}", "application/json");
    EXPECT_TRUE(res.status == 415 || res.status == 403) << res.describe();
}

TEST_F(Forms, UnknownPagesAreHtml404) {
    HttpClient c(server().base_url());
    for (const char* path : {"/photos/NoSuchPhoto", "/no/such/page", "/photos/"}) {
        SCOPED_TRACE(path);
        auto res = c.get(path);
        EXPECT_EQ(res.status, 404) << res.describe();
        EXPECT_TRUE(is_html(res));
    }
}

namespace {

std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
    return n;
}

std::vector<std::string> img_tags(const std::string& html) {
    std::vector<std::string> tags;
    const std::regex img("<img [^>]*>");
    for (auto it = std::sregex_iterator(html.begin(), html.end(), img); it != std::sregex_iterator(); ++it) tags.push_back(it->str());
    return tags;
}

}  // namespace

// What search engines, screen readers and page-speed audits look for: one h1 on every page,
// a description, photos described by who took them and when, and the first row of the feed
// loaded at once (the largest image of the page is among them) with the very first asked for
// first; the rest of the feed lazily.
TEST_F(Forms, PagesHaveOneHeadingADescriptionAndTheFirstRowLoadsAtOnce) {
    auto u = register_user(server(), unique_username("row"));
    std::vector<Part> parts;
    for (int i = 0; i < 6; ++i) parts.push_back(Part::bytes(make_png(64, 48, true, i), "p" + std::to_string(i) + ".png", "image/png"));
    auto up = upload_photos(u, parts);
    ASSERT_EQ(up.status, 201) << up.describe();
    HttpClient c(server().base_url());
    auto home = c.get("/");
    ASSERT_EQ(home.status, 200);
    const auto imgs = img_tags(home.body);
    ASSERT_GE(imgs.size(), 6U);
    for (std::size_t i = 0; i < imgs.size(); ++i) {
        SCOPED_TRACE(imgs[i]);
        EXPECT_EQ(contains(imgs[i], "loading=\"lazy\""), i >= 5);
        EXPECT_EQ(contains(imgs[i], "fetchpriority=\"high\""), i == 0);
        EXPECT_TRUE(std::regex_search(imgs[i], std::regex(R"(alt="Photo by [^"]+, [0-9]{2} [A-Z][a-z]{2} [0-9]{4}, [0-9:]{5} UTC")")));
        EXPECT_TRUE(std::regex_search(imgs[i], std::regex(R"( width="[0-9]+" height="[0-9]+")")));
    }
    const auto id = newest_ids(server(), u.username).at(0);
    for (const std::string& path : std::vector<std::string>{"/", "/photos/" + id, "/u/" + u.username, "/login", "/register", "/no/such/page"}) {
        SCOPED_TRACE(path);
        auto page = c.get(path);
        EXPECT_EQ(count_of(page.body, "<h1"), 1U) << page.body.substr(0, 3000);
        EXPECT_TRUE(contains(page.body, "<meta name=\"description\" content=\"")) << page.body.substr(0, 600);
    }
    auto photo = c.get("/photos/" + id);
    EXPECT_TRUE(contains(photo.body, "<h1>Photo by <a href=\"/u/" + u.username + "\">" + u.username + "</a></h1>"));
    const auto big = img_tags(photo.body);
    ASSERT_EQ(big.size(), 1U);
    EXPECT_TRUE(contains(big[0], "fetchpriority=\"high\"")) << big[0];
    EXPECT_FALSE(contains(big[0], "loading=\"lazy\"")) << big[0];

    auto robots = c.get("/robots.txt");
    EXPECT_EQ(robots.status, 200);
    EXPECT_TRUE(robots.header("Content-Type").starts_with("text/plain")) << robots.describe();
    EXPECT_TRUE(contains(robots.body, "User-agent: *"));
    EXPECT_TRUE(contains(robots.body, "Disallow: /api/"));
}

// One form per action on a page (a screen reader lists forms; two that do the same confuse),
// for a visitor and for the owner of a photo, on every page and an error page.
TEST_F(Forms, NoPageHasTwoFormsForTheSameAction) {
    auto u = register_user(server(), unique_username("forms"));
    auto up = upload_photos(u, {Part::bytes(make_png(64, 48, true, 1), "p.png", "image/png")});
    ASSERT_EQ(up.status, 201) << up.describe();
    const auto id = newest_ids(server(), u.username).at(0);
    HttpClient anon(server().base_url());
    for (HttpClient* client : {&anon, &u.http()}) {
        for (const std::string& path : std::vector<std::string>{"/", "/photos/" + id, "/u/" + u.username, "/login", "/register", "/no/such/page"}) {
            SCOPED_TRACE(path);
            const auto page = client->get(path).body;
            std::map<std::string, int> actions;
            const std::regex form("<form [^>]*action=\"([^\"]*)\"");
            for (auto it = std::sregex_iterator(page.begin(), page.end(), form); it != std::sregex_iterator(); ++it) ++actions[(*it)[1].str()];
            for (const auto& [action, n] : actions) EXPECT_EQ(n, 1) << action << " on " << path;
        }
    }
}

// Error pages keep the visitor's navigation: a member who meets a 403, 404, 405, 413, 415 or
// 422 still sees their name and the logout form (not the login links), whether the error
// comes from the server (no such address, a body over the limit before it is read) or from
// a route; a visitor still sees the logged-out navigation.
TEST_F(Forms, ErrorPagesShowTheMembersOwnNavigation) {
    std::string name, other;
    auto b = registered_browser(server(), name);
    auto o = registered_browser(server(), other);
    auto up = o.http.upload("/upload", {Part::field("csrf_token", o.csrf), Part::file(kCamera, "o.jpg", "image/jpeg")});
    ASSERT_EQ(up.status, 303) << up.describe();
    const auto theirs = newest_ids(server(), other).at(0);

    auto expect_member_page = [&](const Response& res, long status) {
        SCOPED_TRACE(std::to_string(status));
        EXPECT_EQ(res.status, status) << res.describe();
        EXPECT_TRUE(is_html(res)) << res.describe();
        EXPECT_TRUE(contains(res.body, "<strong>" + name + "</strong>")) << res.body;
        EXPECT_TRUE(contains(res.body, "action=\"/logout\"")) << res.body;
        EXPECT_EQ(csrf_field(res.body), b.csrf) << "the logout form carries the member's own token";
        EXPECT_FALSE(contains(res.body, "href=\"/login\"")) << res.body;
    };
    expect_member_page(b.http.get("/no/such/page"), 404);
    expect_member_page(b.http.get("/photos/no-such-photo"), 404);
    expect_member_page(b.http.get("/logout"), 405);
    expect_member_page(b.http.post_form("/photos/" + theirs + "/delete", {{"csrf_token", b.csrf}}), 403);
    expect_member_page(b.http.upload("/upload", {Part::field("csrf_token", b.csrf), Part::bytes("not an image", "notes.txt", "text/plain")}), 415);
    expect_member_page(b.http.upload("/upload", {Part::field("csrf_token", b.csrf)}), 422);
    // A photo over limits.max_file_bytes (25 MiB), in an upload under limits.max_upload_bytes.
    auto big = b.http.upload("/upload", {Part::field("csrf_token", b.csrf), Part::bytes(std::string((25u << 20) + 1, 'x'), "IMG_2041.HEIC", "image/heic")});
    expect_member_page(big, 413);
    EXPECT_TRUE(contains(big.body, "&#39;IMG_2041.HEIC&#39; is 26214401 bytes; the limit per photo is 26214400 bytes.")) << big.body;
    // Over limits.max_upload_bytes (100 MiB): refused from its Content-Length, body unread.
    expect_member_page(b.http.post_raw("/upload", std::string((100u << 20) + 1, 'x'), "multipart/form-data; boundary=x"), 413);

    HttpClient visitor(server().base_url());
    const auto anon = visitor.get("/no/such/page");
    EXPECT_EQ(anon.status, 404);
    EXPECT_TRUE(contains(anon.body, "href=\"/login\"")) << anon.body;
    EXPECT_FALSE(contains(anon.body, "action=\"/logout\"")) << anon.body;
}

// After a form, the next page says what happened, once, without JavaScript; the cookie that
// carries it names one of the server's own messages, so nothing a client sets is shown.
TEST_F(Forms, AFlashMessageFollowsEachFormOnceOnTheNextPage) {
    const auto flash_of = [](const Response& res) {
        std::smatch m;
        return std::regex_search(res.body, m, std::regex(R"re(<p class="flash ok" role="alert">([^<]*)</p>)re")) ? m[1].str()
                                                                                                                 : std::string();
    };
    Browser b(server());
    const auto name = unique_username("flash");
    auto res = b.http.post_form("/register", {{"csrf_token", b.csrf}, {"username", name}, {"password", kPassword}});
    ASSERT_EQ(res.status, 303) << res.describe();
    EXPECT_EQ(b.http.get("/api/v1/photos").status, 200) << "the API does not take it";
    auto page = b.http.get("/");
    EXPECT_EQ(flash_of(page), "Welcome to photoshare! Your account is ready.");
    EXPECT_TRUE(contains(page.body, "<strong>" + name + "</strong>")) << "the member's page, rendered for this request";
    EXPECT_EQ(flash_of(b.http.get("/")), "") << "shown once";

    const auto csrf = csrf_field(page.body);
    res = b.http.upload("/upload", {Part::field("csrf_token", csrf), Part::bytes(make_png(30, 20), "a.png", "image/png"),
                                    Part::bytes(make_png(20, 30), "b.png", "image/png")});
    ASSERT_EQ(res.status, 303) << res.describe();
    page = b.http.get("/");
    EXPECT_EQ(flash_of(page), "2 photos uploaded.");
    const auto id = newest_ids(server(), name).at(0);
    res = b.http.post_form("/photos/" + id + "/caption", {{"csrf_token", csrf}, {"caption", "x"}});
    ASSERT_EQ(res.status, 303) << res.describe();
    EXPECT_EQ(flash_of(b.http.get("/photos/" + id)), "Caption saved.");
    res = b.http.post_form("/photos/" + id + "/delete", {{"csrf_token", csrf}});
    ASSERT_EQ(res.status, 303) << res.describe();
    EXPECT_EQ(flash_of(b.http.get("/")), "Photo deleted.");
    res = b.http.post_form("/logout", {{"csrf_token", csrf}});
    ASSERT_EQ(res.status, 303) << res.describe();
    page = b.http.get("/");
    EXPECT_EQ(flash_of(page), "Logged out.");
    res = b.http.post_form("/login", {{"csrf_token", csrf_field(page.body)}, {"username", name}, {"password", kPassword}});
    ASSERT_EQ(res.status, 303) << res.describe();
    EXPECT_EQ(flash_of(b.http.get("/")), "Logged in. Welcome back!");

    // A cookie of the visitor's own making shows nothing.
    for (const char* forged : {"%3Cscript%3E", "uploaded.0", "uploaded.99999", "logout.3", "deleted.", ""}) {
        HttpClient c(server().base_url());
        c.set_cookie("ps_flash", forged);
        EXPECT_EQ(flash_of(c.get("/")), "") << forged;
    }
}
