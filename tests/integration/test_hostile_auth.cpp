// Hostile clients of the account machinery (issue 7): requests without or with a stale CSRF
// token (after logout and login, from another session, a visitor token from another
// browser), session fixation (a session id set before login is not the session after it,
// and is useless afterwards), a stolen cookie after logout, and password brute force (429
// with Retry-After and a wait that ends, per username and address, per address and per
// username everywhere, none of which lets a guesser lock the owner out).
#include "support/app.hpp"
#include "support/files.hpp"
#include "support/http_client.hpp"
#include "support/photoshare_server.hpp"

#include <future>
#include <regex>

using namespace pstest;

namespace {

const fs::path kCamera = testdata("images/edge/exif-samples/DSCN0010.jpg");

std::string creds(const std::string& username, const std::string& password) {
    return boost::json::serialize(boost::json::object{{"username", username}, {"password", password}});
}

std::string csrf_field(const std::string& html) {
    std::smatch m;
    if (std::regex_search(html, m, std::regex(R"re(name="csrf_token"\s+value="([^"]+)")re"))) return m[1];
    return {};
}

std::string error_message(const Response& r) {
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("error")) return {};
    return std::string(v.at("error").at("message").as_string());
}

std::string set_cookie_value(const Response& res, const std::string& name) {
    for (const auto& v : res.all("Set-Cookie"))
        if (v.starts_with(name + "=")) return v.substr(name.size() + 1, v.find(';') - name.size() - 1);
    return {};
}

// Logs in through the HTML form on an existing client; returns the session's CSRF token.
std::string form_login(HttpClient& b, const std::string& username, const std::string& password) {
    auto page = b.get("/login");
    EXPECT_EQ(page.status, 200);
    auto res = b.post_form("/login", {{"csrf_token", csrf_field(page.body)}, {"username", username}, {"password", password}});
    EXPECT_EQ(res.status, 303) << res.describe();
    return csrf_field(b.get("/").body);
}

struct Attempt {
    std::string what;
    Response res;
};

// Every state-changing request a logged-in client can make, with `token` as its CSRF token.
std::vector<Attempt> state_changes(HttpClient& c, const std::string& token, const std::string& photo_id) {
    const Headers h = token.empty() ? Headers{} : Headers{{"X-CSRF-Token", token}};
    std::vector<Attempt> out;
    out.push_back({"API upload", c.upload("/api/v1/photos", {Part::file(kCamera, "a.jpg", "image/jpeg")}, h)});
    out.push_back({"API delete photo", c.del("/api/v1/photos/" + photo_id, h)});
    out.push_back({"API logout", c.del("/api/v1/session", h)});
    std::vector<Part> form_parts;
    if (!token.empty()) form_parts.push_back(Part::field("csrf_token", token));
    form_parts.push_back(Part::file(kCamera, "a.jpg", "image/jpeg"));
    out.push_back({"form upload", c.upload("/upload", form_parts)});
    std::vector<std::pair<std::string, std::string>> fields;
    if (!token.empty()) fields.emplace_back("csrf_token", token);
    out.push_back({"form delete", c.post_form("/photos/" + photo_id + "/delete", fields)});
    out.push_back({"form logout", c.post_form("/logout", fields)});
    return out;
}

void expect_all_forbidden(const std::vector<Attempt>& attempts, const std::string& why) {
    for (const auto& a : attempts) {
        SCOPED_TRACE(a.what + " " + why);
        EXPECT_EQ(a.res.status, 403) << a.res.describe();
        if (a.what.starts_with("API")) {
            EXPECT_JSON_ERROR(a.res, 403, "bad_csrf_token");
            EXPECT_TRUE(contains(error_message(a.res), "Reload")) << "the message says what to do: " << error_message(a.res);
        } else {
            EXPECT_TRUE(a.res.header("Content-Type").starts_with("text/html"));
            EXPECT_TRUE(contains(a.res.body, "Reload the page")) << a.res.body.substr(0, 2000);
        }
    }
}

}  // namespace

PSTEST_SHARED_SERVER_FIXTURE(HostileAuth, .name = "itest-hostile-auth");

// ---- CSRF --------------------------------------------------------------------------------------

TEST_F(HostileAuth, StateChangesWithoutOrWithAStaleCsrfTokenAre403) {
    auto u = register_user(server());
    auto up = upload_photos(u, {Part::file(kCamera)});
    ASSERT_EQ(up.status, 201);
    const std::string photo(up.json().at("photos").at(0).at("id").as_string());
    const auto feed_before = feed_ids(server());
    const std::string stale = u.csrf;

    expect_all_forbidden(state_changes(u.http(), "", photo), "without a token");

    // Log out and in again (API): the old token is dead, the new one works.
    ASSERT_EQ(u.http().del("/api/v1/session", u.csrf_header()).status, 204);
    auto again = login(server(), u.username, u.password);
    ASSERT_NE(again.csrf, stale);
    expect_all_forbidden(state_changes(again.http(), stale, photo), "with the token of the previous session");

    // The same user's token from another live session (another browser) is not this one's.
    auto elsewhere = login(server(), u.username, u.password);
    expect_all_forbidden(state_changes(again.http(), elsewhere.csrf, photo), "with the token of another session of the same user");

    // Through the forms: log out and in with the HTML forms, then replay the page's old token.
    HttpClient b(server().base_url());
    const auto old_page_token = form_login(b, u.username, u.password);
    ASSERT_FALSE(old_page_token.empty());
    ASSERT_EQ(b.post_form("/logout", {{"csrf_token", old_page_token}}).status, 303);
    const auto new_page_token = form_login(b, u.username, u.password);
    ASSERT_NE(new_page_token, old_page_token);
    expect_all_forbidden(state_changes(b, old_page_token, photo), "with the form token of the previous session");

    EXPECT_EQ(feed_ids(server()), feed_before) << "nothing was stored or deleted";
    EXPECT_EQ(again.http().get("/api/v1/session").status, 200) << "refused logouts left the session alone";
    EXPECT_EQ(b.get("/api/v1/session").status, 200);
    // The current tokens still work.
    EXPECT_EQ(again.http().upload("/api/v1/photos", {Part::file(kCamera)}, again.csrf_header()).status, 201);
    EXPECT_EQ(b.post_form("/logout", {{"csrf_token", new_page_token}}).status, 303);
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileAuth, AVisitorTokenFromAnotherBrowserOrFromBeforeLoginFails) {
    auto u = register_user(server());
    HttpClient a(server().base_url()), b(server().base_url());
    const auto token_a = csrf_field(a.get("/login").body);
    const auto token_b = csrf_field(b.get("/login").body);
    ASSERT_FALSE(token_a.empty());
    ASSERT_NE(token_a, token_b);
    // B sends A's token along with its own cookie: refused, and so is a login with it.
    for (const char* path : {"/login", "/register"}) {
        auto res = b.post_form(path, {{"csrf_token", token_a}, {"username", u.username}, {"password", kPassword}});
        EXPECT_EQ(res.status, 403) << path << res.describe();
        EXPECT_TRUE(contains(res.body, "Reload the page"));
    }
    EXPECT_EQ(b.get("/api/v1/session").status, 401) << "not logged in by a refused form";
    // A visitor token is no longer good once logged in: members' forms want the session's.
    const auto visitor_token = token_b;
    const auto member_token = form_login(b, u.username, u.password);
    ASSERT_NE(member_token, visitor_token);
    const auto ids = feed_ids(server());
    auto photo = upload_photos(u, {Part::file(kCamera)});
    ASSERT_EQ(photo.status, 201);
    const std::string id(photo.json().at("photos").at(0).at("id").as_string());
    expect_all_forbidden(state_changes(b, visitor_token, id), "with the visitor token from before login");
    expect_all_forbidden(state_changes(b, token_a, id), "with another browser's visitor token");
    EXPECT_EQ(b.get("/api/v1/session").status, 200);
    EXPECT_STILL_SERVING(server());
}

// ---- session fixation --------------------------------------------------------------------------

TEST_F(HostileAuth, ASessionIdPlantedBeforeLoginIsNotTheSessionAfterIt) {
    auto victim = register_user(server());
    auto attacker = register_user(server());
    for (const bool form : {false, true}) {
        SCOPED_TRACE(form ? "HTML form login, a well-formed id planted" : "API login, a live session id planted");
        // Over the API, a live session of the attacker's; through the form (whose login page
        // sends a logged-in browser home) an id of the attacker's choosing.
        auto fresh = login(server(), attacker.username, attacker.password);
        const std::string planted_id = form ? "AttackerChosen_" + unique_username("fix") + "_0123456789abcdef"
                                            : fresh.http().cookie("ps_session").value_or("");
        HttpClient browser(server().base_url());
        browser.set_cookie("ps_session", planted_id);
        if (form) {
            ASSERT_FALSE(form_login(browser, victim.username, victim.password).empty());
        } else {
            ASSERT_EQ(browser.get("/api/v1/session").status, 200) << "the planted id is a live session";
            auto res = browser.post_json("/api/v1/session", creds(victim.username, victim.password));
            ASSERT_EQ(res.status, 200) << res.describe();
            EXPECT_FALSE(set_cookie_value(res, "ps_session").empty()) << "a new id is set at login";
        }
        const auto after = browser.cookie("ps_session").value_or("");
        EXPECT_NE(after, planted_id) << "the session id did not change at login";
        auto who = browser.get("/api/v1/session");
        ASSERT_EQ(who.status, 200);
        EXPECT_EQ(who.json().at("username").as_string(), victim.username);

        // The planted value is useless afterwards: not the victim, and not even its old self.
        HttpClient holder(server().base_url());
        holder.set_cookie("ps_session", planted_id);
        auto res = holder.get("/api/v1/session");
        EXPECT_JSON_ERROR(res, 401, "not_logged_in");
        EXPECT_FALSE(contains(res.body, victim.username));
        EXPECT_JSON_ERROR(holder.upload("/api/v1/photos", {Part::file(kCamera)}, {{"X-CSRF-Token", fresh.csrf}}), 401);
        EXPECT_FALSE(contains(holder.get("/").body, "action=\"/logout\"")) << "the front page treats the holder as a visitor";
    }
    // The attacker's other sessions are untouched: only the planted one was replaced.
    EXPECT_EQ(attacker.http().get("/api/v1/session").status, 200);
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileAuth, AVisitorCsrfCookiePlantedBeforeLoginIsUselessAfterIt) {
    auto victim = register_user(server());
    const std::string planted = "AttackerKnowsThisCsrfToken_0123456789abcdef";
    HttpClient browser(server().base_url());
    browser.set_cookie("ps_csrf", planted);
    // A cookie and a token chosen together by an attacker (a sibling subdomain can set the
    // cookie) do not match: the token must be the site's MAC of the cookie.
    auto forged = browser.post_form("/login", {{"csrf_token", planted}, {"username", victim.username}, {"password", kPassword}});
    EXPECT_EQ(forged.status, 403) << forged.describe();
    EXPECT_EQ(browser.get("/api/v1/session").status, 401);
    // The page's own token for that cookie works for the login form itself...
    auto page = browser.get("/login");
    const auto page_token = csrf_field(page.body);
    ASSERT_FALSE(page_token.empty());
    EXPECT_NE(page_token, planted);
    auto res = browser.post_form("/login", {{"csrf_token", page_token}, {"username", victim.username}, {"password", kPassword}});
    ASSERT_EQ(res.status, 303) << res.describe();
    // ...but once logged in, a forged form that carries it, or the cookie's value, changes nothing.
    EXPECT_EQ(browser.post_form("/logout", {{"csrf_token", page_token}}).status, 403);
    const auto feed_before = feed_ids(server());
    auto up = browser.upload("/upload", {Part::field("csrf_token", planted), Part::file(kCamera)});
    EXPECT_EQ(up.status, 403) << up.describe();
    EXPECT_EQ(browser.post_form("/logout", {{"csrf_token", planted}}).status, 403);
    EXPECT_JSON_ERROR(browser.del("/api/v1/session", {{"X-CSRF-Token", planted}}), 403, "bad_csrf_token");
    EXPECT_EQ(feed_ids(server()), feed_before);
    EXPECT_EQ(browser.get("/api/v1/session").status, 200);
    EXPECT_STILL_SERVING(server());
}

// ---- a stolen cookie after logout ----------------------------------------------------------------

TEST_F(HostileAuth, AStolenCookieIsUselessAfterAFormLogout) {
    auto u = register_user(server());
    HttpClient victim(server().base_url());
    const auto token = form_login(victim, u.username, u.password);
    const auto stolen = victim.cookie("ps_session").value_or("");
    ASSERT_FALSE(stolen.empty());
    auto up = victim.upload("/upload", {Part::field("csrf_token", token), Part::file(kCamera)});
    ASSERT_EQ(up.status, 303) << up.describe();
    const auto feed_before = feed_ids(server());
    ASSERT_FALSE(feed_before.empty());

    HttpClient thief(server().base_url());
    thief.set_cookie("ps_session", stolen);
    ASSERT_EQ(thief.get("/api/v1/session").status, 200) << "the stolen cookie works while the session lives";

    ASSERT_EQ(victim.post_form("/logout", {{"csrf_token", token}}).status, 303);

    auto who = thief.get("/api/v1/session");
    EXPECT_JSON_ERROR(who, 401, "not_logged_in");
    const auto front = thief.get("/").body;
    EXPECT_FALSE(contains(front, "Signed in as")) << "the front page treats the thief as a visitor";
    EXPECT_FALSE(contains(front, "action=\"/logout\""));
    auto form_upload = thief.upload("/upload", {Part::field("csrf_token", token), Part::file(kCamera)});
    EXPECT_TRUE(form_upload.status == 401 || (form_upload.status == 303 && form_upload.header("Location").starts_with("/login")))
        << form_upload.describe();
    EXPECT_EQ(thief.post_form("/photos/" + feed_before.front() + "/delete", {{"csrf_token", token}}).status, 401);
    EXPECT_JSON_ERROR(thief.upload("/api/v1/photos", {Part::file(kCamera)}, {{"X-CSRF-Token", token}}), 401);
    EXPECT_JSON_ERROR(thief.del("/api/v1/photos/" + feed_before.front(), {{"X-CSRF-Token", token}}), 401);
    EXPECT_EQ(feed_ids(server()), feed_before);

    // Still dead after the victim logs in again.
    form_login(victim, u.username, u.password);
    EXPECT_EQ(thief.get("/api/v1/session").status, 401);
    EXPECT_STILL_SERVING(server());
}

// ---- brute force -----------------------------------------------------------------------------------

TEST(HostileBruteForce, GuessesFromOneAddressWaitWith429AndRetryAfterButTheOwnerElsewhereGetsIn) {
    ServerProcess s({.args = {"--set", "auth.max_failures_per_user=3", "--set", "auth.max_failures_per_address=1000", "--set",
                              "auth.first_delay=2s", "--set", "auth.lockout=2s", "--set", "auth.failure_window=1m", "--set",
                              "server.trusted_proxies=127.0.0.1"}});
    auto u = register_user(s);
    auto bystander = register_user(s);
    HealthProbe probe(s);
    HttpClient c(s.base_url());
    const Headers home{{"X-Forwarded-For", "198.51.100.77"}};
    const Headers travelling{{"X-Forwarded-For", "192.0.2.10"}};
    ASSERT_EQ(c.post_json("/api/v1/session", creds(u.username, kPassword), home).status, 200) << "the owner has logged in from home before";

    for (int i = 0; i < 3; ++i) EXPECT_JSON_ERROR(c.post_json("/api/v1/session", creds(u.username, "guess " + std::to_string(i))), 401);
    const auto waiting_at = Clock::now();
    auto waiting = c.post_json("/api/v1/session", creds(u.username, "guess 3"));
    EXPECT_JSON_ERROR(waiting, 429, "too_many_attempts");
    EXPECT_TRUE(contains(error_message(waiting), "Try again in")) << error_message(waiting);
    const auto retry = waiting.header("Retry-After");
    ASSERT_TRUE(std::regex_match(retry, std::regex("[0-9]+"))) << waiting.describe();
    EXPECT_GE(std::stoi(retry), 1);
    EXPECT_LE(std::stoi(retry), 2) << "Retry-After is the wait's remaining time";

    // From the guessing address the user waits, whatever is tried: the right password,
    // another letter case, the HTML form.
    EXPECT_JSON_ERROR(c.post_json("/api/v1/session", creds(u.username, kPassword)), 429);
    std::string upper = u.username;
    for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    EXPECT_JSON_ERROR(c.post_json("/api/v1/session", creds(upper, kPassword)), 429);
    HttpClient b(s.base_url());
    const auto token = csrf_field(b.get("/login").body);
    auto form = b.post_form("/login", {{"csrf_token", token}, {"username", u.username}, {"password", kPassword}});
    EXPECT_EQ(form.status, 429) << form.describe();
    EXPECT_FALSE(form.header("Retry-After").empty()) << form.describe();
    EXPECT_TRUE(contains(form.body, "Too many failed logins")) << form.body.substr(0, 2000);

    // The guesser cannot lock the owner out: from home, and from an address never seen
    // before, the owner logs in at once; others are not affected either.
    EXPECT_EQ(c.post_json("/api/v1/session", creds(u.username, kPassword), home).status, 200);
    EXPECT_EQ(c.post_json("/api/v1/session", creds(u.username, kPassword), travelling).status, 200);
    EXPECT_EQ(c.post_json("/api/v1/session", creds(bystander.username, kPassword)).status, 200);

    // The wait ends: after Retry-After, the right password works from there too.
    std::this_thread::sleep_until(waiting_at + std::chrono::seconds(std::stoi(retry)) + 300ms);
    EXPECT_TRUE(eventually([&] { return c.post_json("/api/v1/session", creds(u.username, kPassword)).status == 200; }, 3s))
        << "the wait did not end";
    probe.stop();
    EXPECT_TRUE(probe.ok()) << probe.describe();
}

TEST(HostileBruteForce, GuessesSpreadOverManyAddressesCannotLockTheOwnerOutAtHome) {
    ServerProcess s({.args = {"--set", "auth.max_failures_per_user_total=5", "--set", "auth.first_delay=1m", "--set",
                              "auth.lockout=1m", "--set", "server.trusted_proxies=127.0.0.1"}});
    auto u = register_user(s);
    HttpClient c(s.base_url());
    const Headers home{{"X-Forwarded-For", "198.51.100.77"}};
    ASSERT_EQ(c.post_json("/api/v1/session", creds(u.username, kPassword), home).status, 200);
    // A botnet: one guess from each of five addresses puts the username at its ceiling.
    for (int i = 0; i < 5; ++i) {
        const Headers bot{{"X-Forwarded-For", "203.0.113." + std::to_string(10 + i)}};
        EXPECT_JSON_ERROR(c.post_json("/api/v1/session", creds(u.username, "guess " + std::to_string(i)), bot), 401);
    }
    const Headers next_bot{{"X-Forwarded-For", "203.0.113.99"}};
    auto waiting = c.post_json("/api/v1/session", creds(u.username, kPassword), next_bot);
    EXPECT_JSON_ERROR(waiting, 429, "too_many_attempts");
    EXPECT_EQ(waiting.header("Retry-After"), "60") << waiting.describe();
    // The owner's known address still gets in; an address the owner never used waits, as
    // the bots do (the price of stopping a spread-out attack; docs/RELIABILITY.md).
    EXPECT_EQ(c.post_json("/api/v1/session", creds(u.username, kPassword), home).status, 200);
    EXPECT_JSON_ERROR(c.post_json("/api/v1/session", creds(u.username, kPassword), {{"X-Forwarded-For", "192.0.2.10"}}), 429);
}

TEST(HostileBruteForce, AnAddressSprayingUsernamesWaitsButItsKnownUsersAndOtherAddressesDoNot) {
    ServerProcess s({.args = {"--set", "auth.max_failures_per_user=1000", "--set", "auth.max_failures_per_address=3", "--set",
                              "auth.first_delay=2s", "--set", "auth.lockout=2s", "--set", "auth.failure_window=1m", "--set",
                              "server.trusted_proxies=127.0.0.1"}});
    auto u = register_user(s);
    auto colleague = register_user(s);
    HealthProbe probe(s);
    HttpClient c(s.base_url());
    const Headers office{{"X-Forwarded-For", "203.0.113.66"}};  // one NAT for the attacker and a colleague
    const Headers honest{{"X-Forwarded-For", "203.0.113.67"}};
    ASSERT_EQ(c.post_json("/api/v1/session", creds(colleague.username, kPassword), office).status, 200);
    // Spraying: one guess at each of many names, all from one address.
    for (int i = 0; i < 3; ++i) EXPECT_JSON_ERROR(c.post_json("/api/v1/session", creds(unique_username("spray"), "password1"), office), 401);
    const auto waiting_at = Clock::now();
    auto waiting = c.post_json("/api/v1/session", creds(unique_username("spray"), "password1"), office);
    EXPECT_JSON_ERROR(waiting, 429, "too_many_attempts");
    const auto retry = waiting.header("Retry-After");
    ASSERT_TRUE(std::regex_match(retry, std::regex("[0-9]+"))) << waiting.describe();
    EXPECT_LE(std::stoi(retry), 2);
    // A user never seen at that address waits there, even with the right password...
    EXPECT_JSON_ERROR(c.post_json("/api/v1/session", creds(u.username, kPassword), office), 429);
    // ...but the colleague who logs in from it as usual does not, and from another address
    // the same user logs in.
    EXPECT_EQ(c.post_json("/api/v1/session", creds(colleague.username, kPassword), office).status, 200);
    EXPECT_EQ(c.post_json("/api/v1/session", creds(u.username, kPassword), honest).status, 200);
    std::this_thread::sleep_until(waiting_at + std::chrono::seconds(std::stoi(retry)) + 300ms);
    EXPECT_TRUE(eventually([&] { return c.post_json("/api/v1/session", creds(u.username, kPassword), office).status == 200; }, 3s))
        << "the address's wait did not end";
    probe.stop();
    EXPECT_TRUE(probe.ok()) << probe.describe();
}

TEST(HostileBruteForce, AParallelBurstOfGuessesIsStoppedAndTheServerStaysResponsive) {
    ServerProcess s({.args = {"--set", "auth.max_failures_per_user=5", "--set", "auth.max_failures_per_address=1000", "--set",
                              "auth.first_delay=1m", "--set", "auth.lockout=1m"}});
    auto u = register_user(s);
    HealthProbe probe(s);
    // 16 clients, 6 guesses each, at once: every guess costs an argon2id hash, which must
    // not starve the health checks; at most a handful get through to the password check.
    std::vector<std::future<std::pair<int, int>>> runs;
    for (int t = 0; t < 16; ++t) {
        runs.push_back(std::async(std::launch::async, [&, t] {
            HttpClient c(s.base_url());
            int unauthorized = 0, limited = 0;
            for (int i = 0; i < 6; ++i) {
                auto r = c.post_json("/api/v1/session", creds(u.username, "guess-" + std::to_string(t) + "-" + std::to_string(i)));
                unauthorized += r.status == 401;
                limited += r.status == 429;
            }
            return std::pair{unauthorized, limited};
        }));
    }
    int unauthorized = 0, limited = 0;
    for (auto& r : runs) {
        auto [a, b] = r.get();
        unauthorized += a;
        limited += b;
    }
    EXPECT_EQ(unauthorized + limited, 96) << "every guess got 401 or 429";
    EXPECT_GE(limited, 96 - 40) << "the lock stopped the burst (" << unauthorized << " guesses were checked)";
    HttpClient c(s.base_url());
    EXPECT_JSON_ERROR(c.post_json("/api/v1/session", creds(u.username, kPassword)), 429);
    probe.stop();
    EXPECT_TRUE(probe.ok(2.0)) << probe.describe();
}

// ---- account creation ------------------------------------------------------------------------------

// One address making accounts by the hundred (spam, or names squatted) waits after a few;
// refused attempts do not count, and other addresses and logins are not affected.
TEST(HostileSignups, NewAccountsFromOneAddressWaitAfterTheAllowanceOnThePageAndInTheApi) {
    ServerProcess s({.args = {"--set", "auth.max_registrations_per_address=3", "--set", "auth.first_delay=1m", "--set",
                              "auth.lockout=1m", "--set", "server.trusted_proxies=127.0.0.1"}});
    HttpClient c(s.base_url());
    const auto first = unique_username("su");
    ASSERT_EQ(c.post_json("/api/v1/users", creds(first, kPassword)).status, 201);
    // A refused attempt (the name is taken) is no account: it does not count.
    for (int i = 0; i < 4; ++i) EXPECT_JSON_ERROR(c.post_json("/api/v1/users", creds(first, kPassword)), 409);
    ASSERT_EQ(c.post_json("/api/v1/users", creds(unique_username("su"), kPassword)).status, 201);
    HttpClient b(s.base_url());
    const auto token = csrf_field(b.get("/register").body);
    auto third = b.post_form("/register", {{"csrf_token", token}, {"username", unique_username("su")}, {"password", kPassword}});
    ASSERT_EQ(third.status, 303) << third.describe();

    // The allowance is used: the API and the form both refuse, with the wait.
    auto waiting = c.post_json("/api/v1/users", creds(unique_username("su"), kPassword));
    EXPECT_JSON_ERROR(waiting, 429, "too_many_requests");
    EXPECT_EQ(waiting.header("Retry-After"), "60") << waiting.describe();
    EXPECT_TRUE(contains(error_message(waiting), "Too many new accounts")) << waiting.body;
    HttpClient d(s.base_url());
    auto form = d.post_form("/register", {{"csrf_token", csrf_field(d.get("/register").body)}, {"username", unique_username("su")},
                                          {"password", kPassword}});
    EXPECT_EQ(form.status, 429) << form.describe();
    EXPECT_EQ(form.header("Retry-After"), "60") << form.describe();
    EXPECT_TRUE(contains(form.body, "Too many new accounts")) << form.body.substr(0, 2000);

    // Logging in from there still works, and another address makes its accounts.
    EXPECT_EQ(c.post_json("/api/v1/session", creds(first, kPassword)).status, 200);
    EXPECT_EQ(c.post_json("/api/v1/users", creds(unique_username("su"), kPassword), {{"X-Forwarded-For", "198.51.100.8"}}).status, 201);
}
