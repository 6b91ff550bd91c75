// The JSON API of docs/API.md: accounts, sessions, the photo list and deleting photos,
// each call with its error cases.
#include "support/app.hpp"
#include "support/files.hpp"
#include "support/http_client.hpp"
#include "support/images.hpp"
#include "support/photoshare_server.hpp"

#include <regex>

using namespace pstest;

namespace {

std::string creds(const std::string& username, const std::string& password) {
    return boost::json::serialize(boost::json::object{{"username", username}, {"password", password}});
}

// The Set-Cookie header that sets name, or empty.
std::string set_cookie_for(const Response& res, const std::string& name) {
    for (const auto& v : res.all("Set-Cookie"))
        if (v.starts_with(name + "=")) return v;
    return {};
}

std::string cookie_value(const std::string& set_cookie) {
    auto eq = set_cookie.find('=');
    auto semi = set_cookie.find(';');
    return set_cookie.substr(eq + 1, semi == std::string::npos ? std::string::npos : semi - eq - 1);
}

// Attributes of a Set-Cookie header, lower-cased, without their values ("httponly",
// "samesite=lax" keeps its value).
std::vector<std::string> cookie_attributes(const std::string& set_cookie) {
    std::vector<std::string> out;
    std::size_t pos = set_cookie.find(';');
    while (pos != std::string::npos) {
        auto next = set_cookie.find(';', pos + 1);
        std::string a = set_cookie.substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
        while (!a.empty() && a.front() == ' ') a.erase(0, 1);
        for (auto& c : a) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out.push_back(a);
        pos = next;
    }
    return out;
}

bool has_attribute(const std::string& set_cookie, const std::string& attr) {
    for (const auto& a : cookie_attributes(set_cookie))
        if (a == attr) return true;
    return false;
}

Response upload_one(User& u, int seed = 0) {
    return upload_photos(u, {Part::bytes(make_png(24, 16, true, seed), "p.png", "image/png")});
}

std::string first_photo_id(const Response& upload) {
    auto v = upload.json();
    if (!v.is_object() || !v.as_object().contains("photos") || v.at("photos").as_array().empty()) return {};
    return std::string(v.at("photos").as_array().at(0).at("id").as_string());
}

std::string next_cursor(const boost::json::value& page) {
    const auto& n = page.at("next");
    if (n.is_string()) return std::string(n.as_string());
    if (n.is_int64()) return std::to_string(n.as_int64());
    return {};
}

std::vector<std::string> ids_of(const boost::json::value& page) {
    std::vector<std::string> ids;
    for (const auto& p : page.at("photos").as_array()) ids.emplace_back(p.at("id").as_string());
    return ids;
}

}  // namespace

PSTEST_SHARED_SERVER_FIXTURE(Api, .name = "itest-api");

// ---- POST /api/v1/users ---------------------------------------------------------------------

TEST_F(Api, RegisterReturns201AndTheUserCanLogIn) {
    HttpClient c(server().base_url());
    const auto name = unique_username("Reg");
    auto res = c.post_json("/api/v1/users", creds(name, kPassword));
    ASSERT_EQ(res.status, 201) << res.describe();
    EXPECT_TRUE(res.header("Content-Type").starts_with("application/json")) << res.describe();
    auto v = res.json();
    ASSERT_TRUE(v.is_object());
    EXPECT_EQ(v.at("username").as_string(), name);
    auto u = login(server(), name, kPassword);
    EXPECT_FALSE(u.csrf.empty());
}

TEST_F(Api, RegisterTakenUsernameIs409AlsoWhenOnlyTheCaseDiffers) {
    HttpClient c(server().base_url());
    const auto name = unique_username("Taken");
    ASSERT_EQ(c.post_json("/api/v1/users", creds(name, kPassword)).status, 201);
    EXPECT_JSON_ERROR(c.post_json("/api/v1/users", creds(name, "another password")), 409, "username_taken");
    std::string upper = name, lower_name = name;
    for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    for (auto& ch : lower_name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    EXPECT_JSON_ERROR(c.post_json("/api/v1/users", creds(upper, "another password")), 409, "username_taken");
    EXPECT_JSON_ERROR(c.post_json("/api/v1/users", creds(lower_name, "another password")), 409, "username_taken");
    // The refused registrations changed nothing: the first password still works, theirs does not.
    HttpClient other(server().base_url());
    EXPECT_EQ(other.post_json("/api/v1/session", creds(name, "another password")).status, 401);
    EXPECT_EQ(other.post_json("/api/v1/session", creds(name, kPassword)).status, 200);
}

TEST_F(Api, RegisterInvalidUsernameIs422) {
    HttpClient c(server().base_url());
    const std::vector<std::string> bad = {
        "",
        "ab",                                  // too short
        std::string(33, 'a'),                  // too long
        "bad name",                            // space
        "semi;colon",
        "<script>",
        "quote\"name",
        "slash/name",
        "_leading",                            // must start with a letter or digit
        "\xc3\xbcml\xc3\xa4ut",                // valid UTF-8, not ASCII
        "bell\x07name",                        // control characters
        "tab\tname",
        "new\nline",
        std::string("nul\0name", 8),
    };
    for (const auto& name : bad) {
        SCOPED_TRACE("username: " + boost::json::serialize(boost::json::value(name)));
        EXPECT_JSON_ERROR(c.post_json("/api/v1/users", creds(name, kPassword)), 422, "invalid_username");
    }
    // Boundaries that are fine.
    EXPECT_EQ(c.post_json("/api/v1/users", creds("q7z", kPassword)).status, 201);
    std::string longest = unique_username("L");
    longest += std::string(32 - longest.size(), 'z');
    EXPECT_EQ(c.post_json("/api/v1/users", creds(longest, kPassword)).status, 201);
}

TEST_F(Api, RegisterInvalidUtf8IsRefused) {
    HttpClient c(server().base_url());
    // Raw bytes that are not UTF-8 inside a JSON string: not JSON at all (RFC 8259), so 400
    // is as right as 422; what matters is a clear JSON error and no account.
    const std::string raw = std::string("{\"username\":\"bad\xff\xfe") + "name\",\"password\":\"" + kPassword + "\"}";
    auto res = c.post_json("/api/v1/users", raw);
    EXPECT_TRUE(res.status == 400 || res.status == 422) << res.describe();
    EXPECT_JSON_ERROR(res, res.status);
    // A lone surrogate escape decodes to no valid character.
    auto surrogate = c.post_json("/api/v1/users", std::string("{\"username\":\"bad\\ud800name\",\"password\":\"") + kPassword + "\"}");
    EXPECT_TRUE(surrogate.status == 400 || surrogate.status == 422) << surrogate.describe();
    // Escaped non-ASCII is valid JSON and an invalid username: exactly 422.
    EXPECT_JSON_ERROR(c.post_json("/api/v1/users", std::string("{\"username\":\"bad\\u00ffname\",\"password\":\"") + kPassword + "\"}"),
                      422, "invalid_username");
}

TEST_F(Api, RegisterShortPasswordIs422) {
    HttpClient c(server().base_url());
    EXPECT_JSON_ERROR(c.post_json("/api/v1/users", creds(unique_username(), "")), 422, "invalid_password");
    EXPECT_JSON_ERROR(c.post_json("/api/v1/users", creds(unique_username(), "short")), 422, "invalid_password");
    EXPECT_JSON_ERROR(c.post_json("/api/v1/users", creds(unique_username(), "1234567")), 422, "invalid_password");
    EXPECT_EQ(c.post_json("/api/v1/users", creds(unique_username(), "12345678")).status, 201);
}

TEST_F(Api, RegisterWithoutJsonIs415AndBadJsonIs400) {
    HttpClient c(server().base_url());
    const auto body = creds(unique_username(), kPassword);
    EXPECT_JSON_ERROR(c.post_raw("/api/v1/users", body, "text/plain"), 415);
    EXPECT_JSON_ERROR(c.post_raw("/api/v1/users", body, "application/x-www-form-urlencoded"), 415);
    EXPECT_JSON_ERROR(c.post_raw("/api/v1/users", body, ""), 415);
    EXPECT_JSON_ERROR(c.post_json("/api/v1/users", "{\"username\": "), 400);
    EXPECT_JSON_ERROR(c.post_json("/api/v1/users", "[1,2]"), 400);
    EXPECT_JSON_ERROR(c.post_json("/api/v1/users", "{\"username\":\"" + unique_username() + "\"}"), 422);
    EXPECT_JSON_ERROR(c.post_json("/api/v1/users", "{\"username\":5,\"password\":\"12345678\"}"), 422);
}

// ---- POST /api/v1/session ----------------------------------------------------------------------

TEST_F(Api, LoginReturnsCsrfTokenAndAHttpOnlyLaxSessionCookie) {
    const auto name = unique_username();
    HttpClient c(server().base_url());
    ASSERT_EQ(c.post_json("/api/v1/users", creds(name, kPassword)).status, 201);
    auto res = c.post_json("/api/v1/session", creds(name, kPassword));
    ASSERT_EQ(res.status, 200) << res.describe();
    auto v = res.json();
    EXPECT_EQ(v.at("username").as_string(), name);
    const std::string csrf(v.at("csrf_token").as_string());
    EXPECT_GE(csrf.size(), 22u) << "a CSRF token of at least 128 bits";

    const auto sc = set_cookie_for(res, "ps_session");
    ASSERT_FALSE(sc.empty()) << res.describe();
    EXPECT_TRUE(has_attribute(sc, "httponly")) << sc;
    EXPECT_TRUE(has_attribute(sc, "samesite=lax")) << sc;
    EXPECT_TRUE(has_attribute(sc, "path=/")) << sc;
    EXPECT_FALSE(has_attribute(sc, "secure")) << "not Secure unless server.secure_cookies is set: " << sc;

    // At least 128 random bits: base64url (6 bits a character) or hex (4 bits).
    const auto value = cookie_value(sc);
    const bool b64 = std::regex_match(value, std::regex("[A-Za-z0-9_-]+"));
    const bool hex = std::regex_match(value, std::regex("[0-9a-fA-F]+"));
    ASSERT_TRUE(b64 || hex) << value;
    EXPECT_GE(value.size() * (hex ? 4 : 6), 128u) << value;
    EXPECT_EQ(c.cookie("ps_session").value_or(""), value);

    auto who = c.get("/api/v1/session");
    EXPECT_EQ(who.status, 200) << who.describe();

    // Every login makes a different id.
    HttpClient c2(server().base_url());
    auto res2 = c2.post_json("/api/v1/session", creds(name, kPassword));
    ASSERT_EQ(res2.status, 200);
    EXPECT_NE(cookie_value(set_cookie_for(res2, "ps_session")), value);
}

TEST_F(Api, SessionIdIsRotatedAtLogin) {
    auto u = register_user(server());
    const auto first = u.http().cookie("ps_session").value_or("");
    ASSERT_FALSE(first.empty());
    // Logging in again on the same client replaces the id; the old one is dead.
    auto res = u.http().post_json("/api/v1/session", creds(u.username, kPassword));
    ASSERT_EQ(res.status, 200) << res.describe();
    const auto second = u.http().cookie("ps_session").value_or("");
    EXPECT_NE(first, second);
    HttpClient replay(server().base_url());
    replay.set_cookie("ps_session", first);
    EXPECT_EQ(replay.get("/api/v1/session").status, 401);
    EXPECT_EQ(u.http().get("/api/v1/session").status, 200);

    // Session fixation: an id planted before login is not the one after it.
    const std::string planted = "AttackerChosenSessionId_0123456789abcdefXYZ";
    HttpClient victim(server().base_url());
    victim.set_cookie("ps_session", planted);
    auto login_res = victim.post_json("/api/v1/session", creds(u.username, kPassword));
    ASSERT_EQ(login_res.status, 200) << login_res.describe();
    EXPECT_NE(victim.cookie("ps_session").value_or(planted), planted);
    HttpClient attacker(server().base_url());
    attacker.set_cookie("ps_session", planted);
    EXPECT_EQ(attacker.get("/api/v1/session").status, 401);
    EXPECT_JSON_ERROR(attacker.upload("/api/v1/photos", {Part::bytes(make_png(8, 8), "a.png")}, {{"X-CSRF-Token", "x"}}), 401);
}

TEST_F(Api, WrongPasswordAndUnknownUserGetTheSame401) {
    const auto name = unique_username();
    HttpClient c(server().base_url());
    ASSERT_EQ(c.post_json("/api/v1/users", creds(name, kPassword)).status, 201);
    auto wrong = c.post_json("/api/v1/session", creds(name, "not the password"));
    auto unknown = c.post_json("/api/v1/session", creds(unique_username("nobody"), kPassword));
    EXPECT_JSON_ERROR(wrong, 401);
    EXPECT_JSON_ERROR(unknown, 401);
    EXPECT_EQ(wrong.body, unknown.body) << "the answers must not tell whether the user exists";
    EXPECT_TRUE(set_cookie_for(wrong, "ps_session").empty()) << wrong.describe();
    EXPECT_FALSE(c.cookie("ps_session").has_value());
}

TEST_F(Api, LoginWithoutJsonIs415AndMissingFieldsIs422) {
    HttpClient c(server().base_url());
    EXPECT_JSON_ERROR(c.post_raw("/api/v1/session", "username=a&password=b", "application/x-www-form-urlencoded"), 415);
    EXPECT_JSON_ERROR(c.post_raw("/api/v1/session", creds("abc", kPassword), "text/plain"), 415);
    EXPECT_JSON_ERROR(c.post_json("/api/v1/session", "{\"username\":\"abc\"}"), 422);
    EXPECT_JSON_ERROR(c.post_json("/api/v1/session", "nonsense"), 400);
}

TEST(ApiLoginRateLimit, RepeatedFailuresPerUserGet429WithRetryAfter) {
    ServerProcess s({.args = {"--set", "auth.max_failures_per_user=3", "--set", "auth.first_delay=1m"}});
    auto u = register_user(s);
    HttpClient c(s.base_url());
    for (int i = 0; i < 3; ++i) EXPECT_JSON_ERROR(c.post_json("/api/v1/session", creds(u.username, "wrong password " + std::to_string(i))), 401);
    auto limited = c.post_json("/api/v1/session", creds(u.username, "wrong password again"));
    EXPECT_JSON_ERROR(limited, 429);
    const auto retry = limited.header("Retry-After");
    ASSERT_TRUE(std::regex_match(retry, std::regex("[0-9]+"))) << limited.describe();
    EXPECT_GT(std::stol(retry), 0);
    EXPECT_LE(std::stol(retry), 60) << "the wait after the first failure over the limit is auth.first_delay";
    // Locked means locked: the right password waits too, and so does the same name in other case.
    EXPECT_JSON_ERROR(c.post_json("/api/v1/session", creds(u.username, kPassword)), 429);
    // Other users are not affected.
    auto other = register_user(s);
    EXPECT_FALSE(other.csrf.empty());
}

TEST(ApiLoginRateLimit, RepeatedFailuresPerAddressGet429) {
    ServerProcess s({.args = {"--set", "auth.max_failures_per_address=4", "--set", "auth.max_failures_per_user=100"}});
    HttpClient c(s.base_url());
    for (int i = 0; i < 4; ++i) EXPECT_JSON_ERROR(c.post_json("/api/v1/session", creds(unique_username("guess"), "wrong password")), 401);
    auto limited = c.post_json("/api/v1/session", creds(unique_username("guess"), "wrong password"));
    EXPECT_JSON_ERROR(limited, 429);
    EXPECT_FALSE(limited.header("Retry-After").empty()) << limited.describe();
}

// ---- DELETE /api/v1/session --------------------------------------------------------------------

TEST_F(Api, LogoutNeedsTheCsrfToken) {
    auto u = register_user(server());
    EXPECT_JSON_ERROR(u.http().del("/api/v1/session"), 403, "bad_csrf_token");
    EXPECT_JSON_ERROR(u.http().del("/api/v1/session", {{"X-CSRF-Token", "wrong-token-wrong-token-wrong"}}), 403, "bad_csrf_token");
    auto other = register_user(server());
    EXPECT_JSON_ERROR(u.http().del("/api/v1/session", other.csrf_header()), 403, "bad_csrf_token");
    EXPECT_EQ(u.http().get("/api/v1/session").status, 200) << "a refused logout leaves the session alone";

    const auto old_cookie = u.http().cookie("ps_session").value_or("");
    auto res = u.http().del("/api/v1/session", u.csrf_header());
    EXPECT_EQ(res.status, 204) << res.describe();
    EXPECT_TRUE(res.body.empty());
    const auto clear = set_cookie_for(res, "ps_session");
    EXPECT_FALSE(clear.empty()) << res.describe();
    EXPECT_TRUE(cookie_value(clear).empty() || contains(clear, "Max-Age=0")) << clear;
    EXPECT_EQ(u.http().get("/api/v1/session").status, 401);
    EXPECT_JSON_ERROR(u.http().del("/api/v1/session", u.csrf_header()), 401);

    // The old cookie, sent again, is useless: the session is destroyed on the server.
    u.http().set_cookie("ps_session", old_cookie);
    EXPECT_JSON_ERROR(upload_one(u), 401);
}

TEST_F(Api, StolenCookieIsUselessAfterLogout) {
    auto u = register_user(server());
    ASSERT_EQ(upload_one(u).status, 201);
    const auto photo = feed_ids(server()).at(0);
    HttpClient thief(server().base_url());
    thief.set_cookie("ps_session", u.http().cookie("ps_session").value_or(""));
    ASSERT_EQ(thief.get("/api/v1/session").status, 200) << "the replayed cookie works while the session lives";

    ASSERT_EQ(u.http().del("/api/v1/session", u.csrf_header()).status, 204);

    EXPECT_EQ(thief.get("/api/v1/session").status, 401);
    EXPECT_JSON_ERROR(thief.upload("/api/v1/photos", {Part::bytes(make_png(8, 8), "a.png", "image/png")}, u.csrf_header()), 401);
    EXPECT_JSON_ERROR(thief.del("/api/v1/photos/" + photo, u.csrf_header()), 401);
    EXPECT_JSON_ERROR(thief.del("/api/v1/session", u.csrf_header()), 401);
    EXPECT_EQ(feed_ids(server()).at(0), photo);
}

// ---- GET /api/v1/photos -----------------------------------------------------------------------

TEST(ApiPhotos, ListsNewestFirstAndPagesWithNext) {
    ServerProcess s;
    HttpClient c(s.base_url());
    auto empty = c.get("/api/v1/photos");
    ASSERT_EQ(empty.status, 200) << empty.describe();
    EXPECT_TRUE(empty.header("Content-Type").starts_with("application/json"));
    auto ev = empty.json();
    EXPECT_TRUE(ev.at("photos").as_array().empty());
    EXPECT_TRUE(ev.at("next").is_null()) << empty.body;

    auto u = register_user(s);
    std::vector<std::string> uploaded;  // oldest first
    for (int i = 0; i < 3; ++i) {
        auto res = upload_one(u, i);
        ASSERT_EQ(res.status, 201) << res.describe();
        uploaded.push_back(first_photo_id(res));
    }

    auto page1 = c.get("/api/v1/photos?limit=2");
    ASSERT_EQ(page1.status, 200) << page1.describe();
    auto p1 = page1.json();
    EXPECT_EQ(ids_of(p1), (std::vector<std::string>{uploaded[2], uploaded[1]}));
    const auto next = next_cursor(p1);
    ASSERT_FALSE(next.empty()) << page1.body;

    const auto& photo = p1.at("photos").as_array().at(0).as_object();
    for (const char* key : {"id", "url", "thumbnail_url", "width", "height", "uploaded_by", "uploaded_at"})
        EXPECT_TRUE(photo.contains(key)) << "missing " << key << " in " << page1.body;
    EXPECT_EQ(photo.at("uploaded_by").as_string(), u.username);
    EXPECT_EQ(photo.at("width").as_int64(), 24);
    EXPECT_EQ(photo.at("height").as_int64(), 16);
    EXPECT_TRUE(std::regex_match(std::string(photo.at("uploaded_at").as_string()),
                                 std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d))")))
        << page1.body;
    EXPECT_TRUE(std::string(photo.at("url").as_string()).starts_with("/")) << page1.body;

    auto page2 = c.get("/api/v1/photos?limit=2&before=" + url_encode(next));
    ASSERT_EQ(page2.status, 200) << page2.describe();
    auto p2 = page2.json();
    EXPECT_EQ(ids_of(p2), (std::vector<std::string>{uploaded[0]}));
    EXPECT_TRUE(p2.at("next").is_null()) << page2.body;

    // The default page is feed.page_size (10): 12 photos make two pages.
    std::vector<Part> nine;
    for (int i = 0; i < 9; ++i) nine.push_back(Part::bytes(make_png(8, 8, false, 10 + i), "p" + std::to_string(i) + ".png", "image/png"));
    auto many = upload_photos(u, nine);
    ASSERT_EQ(many.status, 201) << many.describe();
    EXPECT_EQ(many.json().at("photos").as_array().size(), 9u);
    auto full = c.get("/api/v1/photos");
    ASSERT_EQ(full.status, 200);
    auto fv = full.json();
    EXPECT_EQ(fv.at("photos").as_array().size(), 10u);
    EXPECT_EQ(ids_of(fv).at(9), uploaded[2]);
    auto rest = c.get("/api/v1/photos?before=" + url_encode(next_cursor(fv))).json();
    EXPECT_EQ(ids_of(rest), (std::vector<std::string>{uploaded[1], uploaded[0]}));
    EXPECT_TRUE(rest.at("next").is_null());
}

TEST_F(Api, ListLimitAndCursorAreValidated) {
    HttpClient c(server().base_url());
    for (const char* q : {"limit=0", "limit=101", "limit=abc", "limit=-1", "limit=1.5", "limit=10x", "limit=99999999999999999999"}) {
        SCOPED_TRACE(q);
        EXPECT_JSON_ERROR(c.get(std::string("/api/v1/photos?") + q), 400);
    }
    for (const char* q : {"before=abc", "before=-1", "before=0", "before=1e3", "before=99999999999999999999999"}) {
        SCOPED_TRACE(q);
        EXPECT_JSON_ERROR(c.get(std::string("/api/v1/photos?") + q), 400);
    }
    EXPECT_EQ(c.get("/api/v1/photos?limit=1").status, 200);
    EXPECT_EQ(c.get("/api/v1/photos?limit=100").status, 200);
    auto old = c.get("/api/v1/photos?before=1");
    ASSERT_EQ(old.status, 200);
    EXPECT_TRUE(old.json().at("photos").as_array().empty());
}

TEST_F(Api, MalformedQueryOnAnApiPathIsAJsonError) {
    // "Errors are JSON" holds for every /api/ URL, also when the URL itself is refused.
    HttpClient c(server().base_url());
    EXPECT_JSON_ERROR(c.get("/api/v1/photos?limit=%00"), 400);
    EXPECT_JSON_ERROR(c.get("/api/v1/photos?before=%zz"), 400);
}

// ---- DELETE /api/v1/photos/{id} ---------------------------------------------------------------

TEST_F(Api, DeletingOwnPhotoRemovesFilesRowAndFeedEntry) {
    auto u = register_user(server());
    auto up = upload_one(u, 7);
    ASSERT_EQ(up.status, 201) << up.describe();
    const auto photo = up.json().at("photos").as_array().at(0).as_object();
    const std::string id(photo.at("id").as_string());
    const std::string url(photo.at("url").as_string());
    const std::string thumb(photo.at("thumbnail_url").as_string());
    HttpClient anon(server().base_url());
    ASSERT_EQ(anon.get(url).status, 200);
    ASSERT_EQ(anon.get(thumb).status, 200);
    auto has_files = [&] {
        for (const auto& f : list_files(server().data_dir()))
            if (contains(f, id)) return true;
        return false;
    };
    ASSERT_TRUE(has_files()) << "the variants are named by the photo id";
    EXPECT_EQ(feed_ids(server()).at(0), id);

    auto res = u.http().del("/api/v1/photos/" + id, u.csrf_header());
    EXPECT_EQ(res.status, 204) << res.describe();
    EXPECT_EQ(anon.get(url).status, 404);
    EXPECT_EQ(anon.get(thumb).status, 404);
    EXPECT_JSON_ERROR(anon.get("/api/v1/photos/" + id), 404);
    auto ids = feed_ids(server());
    EXPECT_EQ(std::find(ids.begin(), ids.end(), id), ids.end()) << "the cached feed must forget it too";
    EXPECT_FALSE(has_files()) << "no file of a deleted photo stays on disk";
    EXPECT_JSON_ERROR(u.http().del("/api/v1/photos/" + id, u.csrf_header()), 404);
}

TEST_F(Api, DeletingSomeoneElsesPhotoIs403) {
    auto alice = register_user(server());
    auto bob = register_user(server());
    auto up = upload_one(alice, 3);
    ASSERT_EQ(up.status, 201);
    const auto id = first_photo_id(up);
    EXPECT_JSON_ERROR(bob.http().del("/api/v1/photos/" + id, bob.csrf_header()), 403, "not_yours");
    auto ids = feed_ids(server());
    EXPECT_NE(std::find(ids.begin(), ids.end(), id), ids.end());
    HttpClient anon(server().base_url());
    EXPECT_EQ(anon.get("/api/v1/photos/" + id).status, 200);
}

TEST_F(Api, DeletingAnUnknownPhotoIs404) {
    auto u = register_user(server());
    EXPECT_JSON_ERROR(u.http().del("/api/v1/photos/NoSuchPhotoId0000000", u.csrf_header()), 404);
    EXPECT_JSON_ERROR(u.http().del("/api/v1/photos/x", u.csrf_header()), 404);
}

TEST_F(Api, DeletingNeedsSessionAndCsrfToken) {
    auto alice = register_user(server());
    auto bob = register_user(server());
    auto up = upload_one(alice, 5);
    ASSERT_EQ(up.status, 201);
    const auto id = first_photo_id(up);
    HttpClient anon(server().base_url());
    EXPECT_JSON_ERROR(anon.del("/api/v1/photos/" + id), 401);
    EXPECT_JSON_ERROR(anon.del("/api/v1/photos/" + id, alice.csrf_header()), 401);
    EXPECT_JSON_ERROR(alice.http().del("/api/v1/photos/" + id), 403, "bad_csrf_token");
    EXPECT_JSON_ERROR(alice.http().del("/api/v1/photos/" + id, {{"X-CSRF-Token", "not-the-token-not-the-token"}}), 403, "bad_csrf_token");
    EXPECT_JSON_ERROR(alice.http().del("/api/v1/photos/" + id, bob.csrf_header()), 403, "bad_csrf_token");
    auto ids = feed_ids(server());
    EXPECT_NE(std::find(ids.begin(), ids.end(), id), ids.end()) << "nothing was deleted";
}

TEST_F(Api, UnknownApiPathIsJson404) {
    HttpClient c(server().base_url());
    EXPECT_JSON_ERROR(c.get("/api/v1/nothing-here"), 404);
    EXPECT_JSON_ERROR(c.get("/api/v1/photos/NoSuchPhoto"), 404);
    auto m = c.request("PATCH", "/api/v1/photos", std::string("{}"), {{"Content-Type", "application/json"}});
    EXPECT_EQ(m.status, 405) << m.describe();
}
