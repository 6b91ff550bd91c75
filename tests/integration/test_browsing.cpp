// Finding one's way around the photos: captions (given at upload, edited by the owner, shown
// escaped and used as alt text), a user's page /u/NAME, the newer and older photo from a
// photo's page, and the front page's newer and older links. Forms without JavaScript and the
// JSON API alike.
#include "support/app.hpp"
#include "support/http_client.hpp"
#include "support/images.hpp"
#include "support/photoshare_server.hpp"

#include <cctype>
#include <regex>

using namespace pstest;

namespace {

std::string csrf_field(const std::string& html) {
    std::smatch m;
    if (std::regex_search(html, m, std::regex(R"re(name="csrf_token"\s+value="([^"]+)")re"))) return m[1];
    return {};
}

// Uploads one small PNG (with a caption, if given) through the API; returns its id.
std::string upload_one(User& user, int seed, const std::string& caption = {}) {
    std::vector<Part> parts;
    if (!caption.empty()) parts.push_back(Part::field("caption", caption));
    parts.push_back(Part::bytes(make_png(40 + seed % 7, 30, true, seed), "p" + std::to_string(seed) + ".png", "image/png"));
    auto res = upload_photos(user, parts);
    EXPECT_EQ(res.status, 201) << res.describe();
    if (res.status != 201) return {};
    return std::string(res.json().at("photos").at(0).at("id").as_string());
}

// The photo ids a page links to, in page order (each once).
std::vector<std::string> linked_photos(const std::string& html) {
    std::vector<std::string> ids;
    const std::regex link(R"re(<li class="card">\s*<a href="/photos/([A-Za-z0-9_-]+))re");
    for (std::sregex_iterator it(html.begin(), html.end(), link), end; it != end; ++it) ids.push_back((*it)[1]);
    return ids;
}

// The href of the link with rel=REL on a page ("" when none).
std::string rel_link(const std::string& html, const std::string& rel) {
    std::smatch m;
    if (std::regex_search(html, m, std::regex("<a href=\"([^\"]+)\"[^>]*rel=\"" + rel + "\""))) return m[1];
    return {};
}

std::string unescape_amp(std::string s) {
    for (std::size_t at; (at = s.find("&amp;")) != std::string::npos;) s.replace(at, 5, "&");
    return s;
}

}  // namespace

PSTEST_SHARED_SERVER_FIXTURE(Browsing, .args = {"--set", "feed.page_size=3", "--set", "limits.max_caption_chars=40"},
                             .name = "itest-browsing");

TEST_F(Browsing, ACaptionIsGivenAtUploadShownEscapedUsedAsAltAndEditedByItsOwner) {
    auto alice = register_user(server());
    const std::string words = "Pier at <dusk> & \"gulls\" \xf0\x9f\x8c\x85";
    const auto id = upload_one(alice, 1, "  " + words + "\r\n");
    ASSERT_FALSE(id.empty());

    auto json = alice.http().get("/api/v1/photos/" + id).json();
    EXPECT_EQ(json.at("caption").as_string(), words) << "trimmed, otherwise as written";

    HttpClient visitor(server().base_url());
    const auto page = visitor.get("/photos/" + id);
    ASSERT_EQ(page.status, 200) << page.describe();
    const std::string escaped = "Pier at &lt;dusk&gt; &amp; &quot;gulls&quot; \xf0\x9f\x8c\x85";
    EXPECT_TRUE(contains(page.body, "<span class=\"caption\">" + escaped + "</span>")) << page.body;
    EXPECT_TRUE(contains(page.body, "alt=\"" + escaped + "\""));
    EXPECT_FALSE(contains(page.body, "<dusk>"));
    EXPECT_FALSE(contains(page.body, "action=\"/photos/" + id + "/caption\"")) << "only the owner gets the form";
    const auto front = visitor.get("/");
    EXPECT_TRUE(contains(front.body, "alt=\"" + escaped + "\"")) << "the feed's cards use it too";

    // The owner changes it with the form (no script): back to the photo, shown at once.
    const auto own = alice.http().get("/photos/" + id);
    ASSERT_TRUE(contains(own.body, "action=\"/photos/" + id + "/caption\""));
    auto res = alice.http().post_form("/photos/" + id + "/caption", {{"csrf_token", csrf_field(own.body)}, {"caption", "Gulls"}});
    EXPECT_EQ(res.status, 303) << res.describe();
    EXPECT_EQ(res.header("Location"), "/photos/" + id);
    EXPECT_TRUE(contains(alice.http().get("/photos/" + id).body, "<span class=\"caption\">Gulls</span>"));
    EXPECT_TRUE(contains(alice.http().get("/").body, "alt=\"Gulls\"")) << "the cached front page changed with it";

    // And with the API; an empty caption removes it, and the alt text says who and when.
    res = alice.http().request("PATCH", "/api/v1/photos/" + id, R"({"caption":"Terns"})",
                               {{"Content-Type", "application/json"}, {"X-CSRF-Token", alice.csrf}});
    ASSERT_EQ(res.status, 200) << res.describe();
    EXPECT_EQ(res.json().at("caption").as_string(), "Terns");
    res = alice.http().request("PATCH", "/api/v1/photos/" + id, R"({"caption":""})",
                               {{"Content-Type", "application/json"}, {"X-CSRF-Token", alice.csrf}});
    ASSERT_EQ(res.status, 200) << res.describe();
    const auto plain = visitor.get("/photos/" + id).body;
    EXPECT_FALSE(contains(plain, "class=\"caption\""));
    EXPECT_TRUE(contains(plain, "alt=\"Photo by " + alice.username + ", ")) << plain;
}

TEST_F(Browsing, ABadCaptionIsRefusedAndNothingIsStoredOrChanged) {
    auto alice = register_user(server());
    auto bob = register_user(server());
    const auto before = feed_ids(server());
    // At upload: too long (41 of 40 characters), or not text.
    for (const std::string& bad : {std::string(41, 'x'), std::string("bell\x07"), std::string("\xff\xfe")}) {
        auto res = upload_photos(alice, {Part::field("caption", bad), Part::bytes(make_png(20, 20), "a.png", "image/png")});
        EXPECT_JSON_ERROR(res, 422, "bad_caption");
    }
    auto res = upload_photos(alice, {Part::field("caption", std::string(41, 'x')), Part::bytes(make_png(20, 20), "a.png", "image/png")});
    EXPECT_TRUE(contains(res.body, "The caption has 41 characters; the limit is 40.")) << res.body;
    EXPECT_EQ(feed_ids(server()), before) << "a refused upload stores nothing";

    const auto id = upload_one(alice, 2, "kept");
    ASSERT_FALSE(id.empty());
    const Headers json = {{"Content-Type", "application/json"}, {"X-CSRF-Token", alice.csrf}};
    EXPECT_JSON_ERROR(alice.http().request("PATCH", "/api/v1/photos/" + id, R"({"caption":")" + std::string(41, 'y') + "\"}", json), 422,
                      "bad_caption");
    EXPECT_JSON_ERROR(alice.http().request("PATCH", "/api/v1/photos/" + id, R"({"words":"x"})", json), 422, "missing_field");
    EXPECT_JSON_ERROR(alice.http().request("PATCH", "/api/v1/photos/nope", R"({"caption":"x"})", json), 404, "not_found");
    EXPECT_JSON_ERROR(alice.http().request("PATCH", "/api/v1/photos/" + id, R"({"caption":"x"})", {{"Content-Type", "application/json"}}),
                      403);
    EXPECT_JSON_ERROR(bob.http().request("PATCH", "/api/v1/photos/" + id, R"({"caption":"mine"})",
                                         {{"Content-Type", "application/json"}, {"X-CSRF-Token", bob.csrf}}),
                      403, "not_yours");
    HttpClient visitor(server().base_url());
    EXPECT_JSON_ERROR(visitor.request("PATCH", "/api/v1/photos/" + id, R"({"caption":"x"})", {{"Content-Type", "application/json"}}), 401);
    // The form: someone else's photo is 403, a bad caption 422, each as a page.
    const auto bobs_view = bob.http().get("/photos/" + id);
    auto form = bob.http().post_form("/photos/" + id + "/caption", {{"csrf_token", csrf_field(bobs_view.body)}, {"caption", "mine"}});
    EXPECT_EQ(form.status, 403) << form.describe();
    const auto alices_view = alice.http().get("/photos/" + id);
    form = alice.http().post_form("/photos/" + id + "/caption", {{"csrf_token", csrf_field(alices_view.body)}, {"caption", "tab\x01"}});
    EXPECT_EQ(form.status, 422) << form.describe();
    EXPECT_TRUE(contains(form.body, "control character")) << form.body;
    EXPECT_EQ(alice.http().get("/api/v1/photos/" + id).json().at("caption").as_string(), "kept");
}

TEST_F(Browsing, AUsersPageShowsTheirPhotosNewestFirstPagedAndLinkedFromEveryName) {
    auto carol = register_user(server());
    auto dave = register_user(server());
    std::vector<std::string> carols;  // oldest first
    for (int i = 0; i < 4; ++i) {
        carols.push_back(upload_one(carol, 10 + i));
        upload_one(dave, 20 + i);
    }
    HttpClient visitor(server().base_url());
    auto page = visitor.get("/u/" + carol.username);
    ASSERT_EQ(page.status, 200) << page.describe();
    EXPECT_TRUE(contains(page.body, "<h1>Photos by " + carol.username + "</h1>"));
    EXPECT_EQ(linked_photos(page.body), (std::vector<std::string>{carols[3], carols[2], carols[1]})) << "3 a page, carol's only";
    const auto older = unescape_amp(rel_link(page.body, "next"));
    ASSERT_TRUE(older.starts_with("/u/" + carol.username + "?before=")) << older;
    EXPECT_EQ(rel_link(page.body, "prev"), "") << "the newest page has no newer";
    auto second = visitor.get(older);
    EXPECT_EQ(linked_photos(second.body), (std::vector<std::string>{carols[0]}));
    EXPECT_EQ(rel_link(second.body, "next"), "");
    const auto newer = unescape_amp(rel_link(second.body, "prev"));
    ASSERT_TRUE(newer.starts_with("/u/" + carol.username + "?after=")) << newer;
    EXPECT_EQ(linked_photos(visitor.get(newer).body), (std::vector<std::string>{carols[3], carols[2], carols[1]}));

    // Any letter case finds the user; the page spells the name as they chose it.
    std::string upper = carol.username;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_TRUE(contains(visitor.get("/u/" + upper).body, "<h1>Photos by " + carol.username + "</h1>"));

    // Names link there from the feed and from a photo's page.
    EXPECT_TRUE(contains(visitor.get("/").body, "href=\"/u/" + dave.username + "\""));
    EXPECT_TRUE(contains(visitor.get("/photos/" + carols[0]).body, "href=\"/u/" + carol.username + "\""));

    // The API pages the same way.
    auto json = visitor.get("/api/v1/users/" + carol.username + "/photos?limit=2").json();
    ASSERT_EQ(json.at("photos").as_array().size(), 2u);
    EXPECT_EQ(json.at("photos").at(0).at("id").as_string(), carols[3]);
    EXPECT_EQ(json.at("photos").at(0).at("uploaded_by_url").as_string(), "/u/" + carol.username);
    EXPECT_TRUE(json.at("previous").is_null());
    const auto next = std::string(json.at("next").as_string());
    json = visitor.get("/api/v1/users/" + carol.username + "/photos?limit=2&before=" + next).json();
    EXPECT_EQ(json.at("photos").at(0).at("id").as_string(), carols[1]);
    EXPECT_EQ(json.at("photos").at(1).at("id").as_string(), carols[0]);

    // Unknown users and bad cursors.
    EXPECT_EQ(visitor.get("/u/nobody-at-all").status, 404);
    EXPECT_JSON_ERROR(visitor.get("/api/v1/users/nobody-at-all/photos"), 404, "no_such_user");
    EXPECT_EQ(visitor.get("/u/" + carol.username + "?before=x").status, 400);
    EXPECT_JSON_ERROR(visitor.get("/api/v1/users/" + carol.username + "/photos?before=1&after=2"), 400, "bad_cursor");
    auto empty_user = register_user(server());
    EXPECT_TRUE(contains(visitor.get("/u/" + empty_user.username).body, empty_user.username + " has not shared a photo yet."));
}

TEST_F(Browsing, APhotosPageLinksTheNewerAndOlderPhotoOfTheFeedOrOfItsOwner) {
    auto erin = register_user(server());
    auto frank = register_user(server());
    const auto e1 = upload_one(erin, 30);
    const auto f1 = upload_one(frank, 31);
    const auto e2 = upload_one(erin, 32);
    const auto f2 = upload_one(frank, 33);  // the newest of all, for now
    HttpClient visitor(server().base_url());

    // In the feed's order: e1 < f1 < e2 < f2.
    auto page = visitor.get("/photos/" + e2).body;
    EXPECT_EQ(rel_link(page, "prev"), "/photos/" + f2);
    EXPECT_EQ(rel_link(page, "next"), "/photos/" + f1);
    EXPECT_EQ(rel_link(visitor.get("/photos/" + f2).body, "prev"), "") << "nothing is newer than the newest";
    // Within the owner's photos, from their page (?in=user), and back to it.
    const auto user_page = visitor.get("/u/" + erin.username).body;
    EXPECT_TRUE(contains(user_page, "href=\"/photos/" + e2 + "?in=user\""));
    page = visitor.get("/photos/" + e2 + "?in=user").body;
    EXPECT_EQ(rel_link(page, "prev"), "");
    EXPECT_EQ(rel_link(page, "next"), "/photos/" + e1 + "?in=user");
    EXPECT_TRUE(contains(page, "href=\"/u/" + erin.username + "\">← All photos by " + erin.username));
    page = visitor.get("/photos/" + e1 + "?in=user").body;
    EXPECT_EQ(rel_link(page, "prev"), "/photos/" + e2 + "?in=user");
    EXPECT_EQ(rel_link(page, "next"), "");

    // A deleted neighbour is skipped.
    auto del = frank.http().del("/api/v1/photos/" + f1, frank.csrf_header());
    ASSERT_EQ(del.status, 204) << del.describe();
    EXPECT_EQ(rel_link(visitor.get("/photos/" + e2).body, "next"), "/photos/" + e1);
}

TEST_F(Browsing, TheFrontPageLinksNewerAndOlderPages) {
    auto gina = register_user(server());
    std::vector<std::string> ids;
    for (int i = 0; i < 7; ++i) ids.push_back(upload_one(gina, 40 + i));
    HttpClient visitor(server().base_url());
    auto first = visitor.get("/").body;
    const std::vector<std::string> top{ids[6], ids[5], ids[4]};
    EXPECT_EQ(linked_photos(first), top);
    EXPECT_EQ(rel_link(first, "prev"), "");
    auto second = visitor.get(unescape_amp(rel_link(first, "next"))).body;
    EXPECT_EQ(linked_photos(second), (std::vector<std::string>{ids[3], ids[2], ids[1]}));
    auto third = visitor.get(unescape_amp(rel_link(second, "next"))).body;
    ASSERT_GE(linked_photos(third).size(), 1u);
    EXPECT_EQ(linked_photos(third).front(), ids[0]);
    // Back: the page before the third is the second, and the one before that the newest.
    const auto back = rel_link(third, "prev");
    ASSERT_TRUE(back.starts_with("/?after=")) << back;
    auto again = visitor.get(back).body;
    EXPECT_EQ(linked_photos(again), (std::vector<std::string>{ids[3], ids[2], ids[1]}));
    auto top_again = visitor.get(rel_link(again, "prev")).body;
    EXPECT_EQ(linked_photos(top_again), top);
    EXPECT_EQ(rel_link(top_again, "prev"), "") << "a step back to the top is the newest page";
    // The API says the same: previous on a later page, null on the newest.
    auto json = visitor.get("/api/v1/photos?limit=3").json();
    EXPECT_TRUE(json.at("previous").is_null());
    json = visitor.get("/api/v1/photos?limit=3&before=" + std::string(json.at("next").as_string())).json();
    EXPECT_FALSE(json.at("previous").is_null());
    json = visitor.get("/api/v1/photos?limit=3&after=" + std::string(json.at("previous").as_string())).json();
    EXPECT_EQ(json.at("photos").at(0).at("id").as_string(), ids[6]);
}
