#include "http/target.hpp"

#include <gtest/gtest.h>

namespace photoshare::http {
namespace {

std::string path_of(std::string_view target) {
    auto t = parse_target(target);
    return t ? t->path : "<rejected>";
}

TEST(ParseTarget, PathAndQuery) {
    auto t = parse_target("/photos/42?page=2&size=10");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->path, "/photos/42");
    EXPECT_EQ(t->query, "page=2&size=10");
    t = parse_target("/");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->path, "/");
    EXPECT_EQ(t->query, "");
}

TEST(ParseTarget, QueryIsARawViewIntoTheInput) {
    std::string target = "/search?q=a%20b+c&x=/?y";
    auto t = parse_target(target);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->query, "q=a%20b+c&x=/?y");
    EXPECT_EQ(t->query.data(), target.data() + 8);
    EXPECT_EQ(parse_target("/a?")->query, "");
    EXPECT_EQ(parse_target("/a??")->query, "?");
}

TEST(ParseTarget, PathIsDecoded) {
    EXPECT_EQ(path_of("/a%20b/%C3%A9t%c3%a9"), "/a b/\xc3\xa9t\xc3\xa9");
    EXPECT_EQ(path_of("/a+b"), "/a+b");  // '+' is only a space in queries
    EXPECT_EQ(path_of("/%ff%fe"), "/\xff\xfe");  // bytes: UTF-8 is the application's business
    EXPECT_EQ(path_of("/media/ab12.jpg"), "/media/ab12.jpg");
    EXPECT_EQ(path_of("/~user/a-b_c.d"), "/~user/a-b_c.d");
    EXPECT_EQ(path_of("/a:b@c!$&'()*+,;="), "/a:b@c!$&'()*+,;=");
}

TEST(ParseTarget, EmptySegmentsAreKept) {
    EXPECT_EQ(path_of("/photos/"), "/photos/");
    EXPECT_EQ(path_of("/a//b"), "/a//b");
    EXPECT_EQ(path_of("//"), "//");
    EXPECT_EQ(path_of("//example.com:80"), "//example.com:80");  // a path, not an authority
}

TEST(ParseTarget, TraversalIsRejected) {
    for (const char* t : {"/..", "/../etc/passwd", "/a/../b", "/a/..", "/.", "/./a", "/a/.", "/a/./b", "/%2e%2e/x",
                          "/%2E%2E", "/.%2e/x", "/%2e", "/a/%2e/b", "/static/..%2Fapp.db", "/..%2f..%2fetc"}) {
        EXPECT_EQ(parse_target(t), std::nullopt) << t;
    }
    // Dots that are not whole segments are ordinary names.
    EXPECT_EQ(path_of("/.well-known/x"), "/.well-known/x");
    EXPECT_EQ(path_of("/a/...") , "/a/...");
    EXPECT_EQ(path_of("/a..b/.c"), "/a..b/.c");
}

TEST(ParseTarget, EncodedSlashesAndBackslashesAreRejected) {
    for (const char* t : {"/a%2Fb", "/a%2fb", "/%2F", "/a%5Cb", "/a%5cb", "/a\\b", "/..%5C..%5Cwin.ini"})
        EXPECT_EQ(parse_target(t), std::nullopt) << t;
}

TEST(ParseTarget, NulAndControlsAreRejected) {
    for (std::string_view t : {std::string_view("/a%00b"), std::string_view("/a\0b", 4), std::string_view("/a%01"),
                               std::string_view("/a%0d%0aSet-Cookie:x"), std::string_view("/a%7f"),
                               std::string_view("/a%1F"), std::string_view("/a\tb"), std::string_view("/a\r\nb"),
                               std::string_view("/a?x=%00"), std::string_view("/a?x=\0", 6)})
        EXPECT_EQ(parse_target(t), std::nullopt) << t;
}

TEST(ParseTarget, MalformedTargetsAreRejected) {
    for (const char* t : {"", "a", "a/b", "*", "http://example.com/a", "/a b", "/a#frag",
                          "/?#'?", "/a?b#c", "/%", "/%2", "/%zz", "/%g0", "/a?x=%zz", "/a?x=%", "/\"", "/<a>",
                          "/a{b}", "/a|b", "/a^b", "/a`b", "/\xc3\xa9"}) {
        EXPECT_EQ(parse_target(t), std::nullopt) << t;
    }
}

TEST(ParseTarget, LengthLimit) {
    std::string ok = "/" + std::string(8191, 'a');
    EXPECT_TRUE(parse_target(ok));
    EXPECT_FALSE(parse_target(ok + "a"));
    EXPECT_FALSE(parse_target("/abc", 3));
    EXPECT_TRUE(parse_target("/abc", 4));
    EXPECT_FALSE(parse_target("/" + std::string(1 << 20, 'a'), SIZE_MAX) == std::nullopt);
}

TEST(ParseTarget, DecodedPathSplitsIntoTheSentSegments) {
    auto t = parse_target("/a%20b/c%3Fd/e%23f/%25");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->path, "/a b/c?d/e#f/%");
    EXPECT_EQ(std::count(t->path.begin(), t->path.end(), '/'), 4);
}

TEST(ValidHost, NamesAddressesAndPorts) {
    for (const char* host : {"", "example.com", "localhost:8080", "127.0.0.1", "127.0.0.1:80", "[::1]", "[::1]:443",
                             "[2001:db8::7]:65535", "xn--bcher-kva.example", "a-b_c~d.e", "ex%41mple", "host:0"})
        EXPECT_TRUE(valid_host(host)) << host;
}

TEST(ValidHost, AnythingElseIsRefused) {
    for (const char* host : {"a b", "a\tb", "x/y", "x?y", "x#y", "user@host", "x:", "x:99999", "x:123456", "x:8o",
                             "x:80:80", "[::1", "[]", "[::1]x", "[::1]:", "[g::1]", "ex%4", "ex%zz", "\"quoted\"", "a<b>"})
        EXPECT_FALSE(valid_host(host)) << host;
}

}  // namespace
}  // namespace photoshare::http
