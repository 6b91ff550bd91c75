#include "http/router.hpp"

#include <gtest/gtest.h>

using namespace photoshare::http;

namespace {

Handler named(std::string) {
    return [](Request&) -> asio::awaitable<Response> { co_return Response(200, "text/plain", ""); };
}

Request request(Method m, std::string path) {
    Request r;
    r.method = m;
    r.path = std::move(path);
    return r;
}

class RouterTest : public ::testing::Test {
protected:
    void SetUp() override {
        router.add(Method::get, "/", named("home"));
        router.add(Method::get, "/photos/{id}", named("photo"));
        router.add(Method::post, "/photos/{id}/delete", named("delete"));
        router.add(Method::get, "/static/{path...}", named("static"));
        router.add(Method::del, "/api/v1/photos/{id}", named("api-delete"));
        router.add(Method::get, "/api/v1/photos", named("api-list"));
    }
    Router router;
};

}  // namespace

TEST_F(RouterTest, MatchesLiteralRoot) {
    auto r = request(Method::get, "/");
    auto m = router.match(r);
    ASSERT_NE(m.route, nullptr);
    EXPECT_EQ(r.route, "/");
    EXPECT_TRUE(r.params.empty());
}

TEST_F(RouterTest, CapturesOneSegmentParameter) {
    auto r = request(Method::get, "/photos/abc_123");
    auto m = router.match(r);
    ASSERT_NE(m.route, nullptr);
    EXPECT_EQ(r.route, "/photos/{id}");
    EXPECT_EQ(r.param("id"), "abc_123");
}

TEST_F(RouterTest, ParameterDoesNotSpanSegments) {
    auto r = request(Method::get, "/photos/a/b");
    auto m = router.match(r);
    EXPECT_EQ(m.route, nullptr);
    EXPECT_FALSE(m.path_known);
}

TEST_F(RouterTest, EmptySegmentIsNotAParameter) {
    auto r = request(Method::get, "/photos/");
    EXPECT_EQ(router.match(r).route, nullptr);
}

TEST_F(RouterTest, RestParameterTakesTheRestOfThePath) {
    auto r = request(Method::get, "/static/css/style.css");
    auto m = router.match(r);
    ASSERT_NE(m.route, nullptr);
    EXPECT_EQ(r.param("path"), "css/style.css");
}

TEST_F(RouterTest, RestParameterNeedsAtLeastOneCharacter) {
    auto r = request(Method::get, "/static/");
    EXPECT_EQ(router.match(r).route, nullptr);
}

TEST_F(RouterTest, WrongMethodOnKnownPathIsFlaggedForA405) {
    auto r = request(Method::post, "/photos/x");
    auto m = router.match(r);
    EXPECT_EQ(m.route, nullptr);
    EXPECT_TRUE(m.path_known);
}

TEST_F(RouterTest, UnknownPathIsA404) {
    auto r = request(Method::get, "/nope");
    auto m = router.match(r);
    EXPECT_EQ(m.route, nullptr);
    EXPECT_FALSE(m.path_known);
}

TEST_F(RouterTest, HeadFallsBackToGet) {
    auto r = request(Method::head, "/api/v1/photos");
    auto m = router.match(r);
    ASSERT_NE(m.route, nullptr);
    EXPECT_EQ(m.route->method, Method::get);
}

TEST_F(RouterTest, TrailingSlashIsADifferentPath) {
    auto r = request(Method::get, "/api/v1/photos/");
    EXPECT_EQ(router.match(r).route, nullptr);
}

TEST_F(RouterTest, LongerLiteralPathUnderParameter) {
    auto r = request(Method::post, "/photos/p1/delete");
    auto m = router.match(r);
    ASSERT_NE(m.route, nullptr);
    EXPECT_EQ(r.param("id"), "p1");
    EXPECT_EQ(r.route, "/photos/{id}/delete");
}

TEST_F(RouterTest, ParamsAreResetBetweenMatches) {
    auto r = request(Method::get, "/photos/one");
    router.match(r);
    r.path = "/photos/two";
    router.match(r);
    ASSERT_EQ(r.params.size(), 1u);
    EXPECT_EQ(r.param("id"), "two");
}

TEST(Router, RejectsBadPatterns) {
    Router router;
    EXPECT_THROW(router.add(Method::get, "no-slash", named("x")), std::invalid_argument);
    EXPECT_THROW(router.add(Method::get, "/a/{rest...}/b", named("x")), std::invalid_argument);
}
