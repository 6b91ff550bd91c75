#include "http/cookies.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace photoshare::http {
namespace {

using Pairs = std::vector<Cookie>;

TEST(ParseCookies, Basic) {
    EXPECT_EQ(parse_cookies("sid=abc123"), (Pairs{{"sid", "abc123"}}));
    EXPECT_EQ(parse_cookies("a=1; b=2;c=3"), (Pairs{{"a", "1"}, {"b", "2"}, {"c", "3"}}));
    EXPECT_EQ(parse_cookies("  a = 1 ;\tb=\t2\t"), (Pairs{{"a", "1"}, {"b", "2"}}));
    EXPECT_TRUE(parse_cookies("").empty());
    EXPECT_TRUE(parse_cookies(" ; ;; ").empty());
}

TEST(ParseCookies, ValuesKeepEverythingButOuterQuotesAndWhitespace) {
    EXPECT_EQ(parse_cookies("a=\"quoted\""), (Pairs{{"a", "quoted"}}));
    EXPECT_EQ(parse_cookies("a=\"\""), (Pairs{{"a", ""}}));
    EXPECT_EQ(parse_cookies("a=\"half"), (Pairs{{"a", "\"half"}}));
    EXPECT_EQ(parse_cookies("a="), (Pairs{{"a", ""}}));
    EXPECT_EQ(parse_cookies("a=b=c"), (Pairs{{"a", "b=c"}}));
    EXPECT_EQ(parse_cookies("a=x y,z"), (Pairs{{"a", "x y,z"}}));  // lenient, as browsers send what scripts set
    EXPECT_EQ(parse_cookies("a=%7B%22k%22%7D"), (Pairs{{"a", "%7B%22k%22%7D"}}));  // not decoded
    EXPECT_EQ(parse_cookies("a=\xc3\xa9"), (Pairs{{"a", "\xc3\xa9"}}));
}

TEST(ParseCookies, MalformedPairsAreSkipped) {
    EXPECT_EQ(parse_cookies("novalue; a=1"), (Pairs{{"a", "1"}}));
    EXPECT_EQ(parse_cookies("=nameless; a=1"), (Pairs{{"a", "1"}}));
    EXPECT_EQ(parse_cookies("bad name=1; a=1"), (Pairs{{"a", "1"}}));
    EXPECT_EQ(parse_cookies("b(ad=1; a=1"), (Pairs{{"a", "1"}}));
    EXPECT_EQ(parse_cookies("b\xc3\xa9=1; a=1"), (Pairs{{"a", "1"}}));
    EXPECT_EQ(parse_cookies(std::string_view("n=a\0b; a=1", 10)), (Pairs{{"a", "1"}}));
    EXPECT_EQ(parse_cookies("n=a\x01; a=1"), (Pairs{{"a", "1"}}));
    EXPECT_EQ(parse_cookies("n=a\x7f; a=1"), (Pairs{{"a", "1"}}));
}

TEST(ParseCookies, ViewsIntoTheHeader) {
    std::string header = "sid=xyz";
    auto cookies = parse_cookies(header);
    ASSERT_EQ(cookies.size(), 1u);
    EXPECT_EQ(cookies[0].second.data(), header.data() + 4);
}

TEST(FindCookie, FirstMatchExactName) {
    EXPECT_EQ(find_cookie("a=1; sid=first; sid=second", "sid"), "first");
    EXPECT_EQ(find_cookie("SID=upper; sid=lower", "sid"), "lower");
    EXPECT_EQ(find_cookie("sidx=1; xsid=2", "sid"), std::nullopt);
    EXPECT_EQ(find_cookie("sid", "sid"), std::nullopt);
    EXPECT_EQ(find_cookie("sid=", "sid"), "");
    EXPECT_EQ(find_cookie("sid=bad\x01; sid=good", "sid"), "good");
    EXPECT_EQ(find_cookie("", "sid"), std::nullopt);
    EXPECT_EQ(find_cookie("a=1", ""), std::nullopt);
}

TEST(FindCookie, HugeHeader) {
    std::string header;
    for (int i = 0; i < 10000; ++i) header += "c" + std::to_string(i) + "=v; ";
    header += "sid=found";
    EXPECT_EQ(find_cookie(header, "sid"), "found");
    EXPECT_EQ(parse_cookies(header).size(), 10001u);
}

TEST(FormatSetCookie, Defaults) {
    SetCookie c;
    c.name = "sid";
    c.value = "abc";
    EXPECT_EQ(format_set_cookie(c), "sid=abc; Path=/; HttpOnly; SameSite=Lax");
}

TEST(FormatSetCookie, AllAttributes) {
    SetCookie c{.name = "__Host-sid", .value = "v", .path = "/", .max_age = 3600, .http_only = true,
                .secure = true, .same_site = "Strict"};
    EXPECT_EQ(format_set_cookie(c), "__Host-sid=v; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Strict");
    SetCookie d{.name = "x", .value = "", .path = "", .max_age = 0, .http_only = false, .secure = true,
                .same_site = "None"};
    EXPECT_EQ(format_set_cookie(d), "x=; Max-Age=0; Secure; SameSite=None");
    SetCookie e{.name = "x", .value = "1", .path = "/app", .max_age = std::nullopt, .http_only = false,
                .secure = false, .same_site = ""};
    EXPECT_EQ(format_set_cookie(e), "x=1; Path=/app");
}

TEST(FormatSetCookie, RefusesInvalidInput) {
    auto bad = [](auto mutate) {
        SetCookie c{.name = "sid", .value = "v"};
        mutate(c);
        EXPECT_THROW(format_set_cookie(c), std::invalid_argument);
    };
    bad([](SetCookie& c) { c.name = ""; });
    bad([](SetCookie& c) { c.name = "a b"; });
    bad([](SetCookie& c) { c.name = "a=b"; });
    bad([](SetCookie& c) { c.name = "a;b"; });
    bad([](SetCookie& c) { c.name = "a\r\nSet-Cookie: x"; });
    bad([](SetCookie& c) { c.name = "\xc3\xa9"; });
    bad([](SetCookie& c) { c.value = "a b"; });
    bad([](SetCookie& c) { c.value = "a;b"; });
    bad([](SetCookie& c) { c.value = "a,b"; });
    bad([](SetCookie& c) { c.value = "\"q\""; });
    bad([](SetCookie& c) { c.value = "a\\b"; });
    bad([](SetCookie& c) { c.value = "a\r\nb"; });
    bad([](SetCookie& c) { c.value = std::string("a\0b", 3); });
    bad([](SetCookie& c) { c.value = "\xc3\xa9"; });
    bad([](SetCookie& c) { c.path = "/a; Domain=evil"; });
    bad([](SetCookie& c) { c.path = "/a\r\n"; });
    bad([](SetCookie& c) { c.max_age = -1; });
    bad([](SetCookie& c) { c.same_site = "lax"; });
    bad([](SetCookie& c) { c.same_site = "Lax; Domain=x"; });
    bad([](SetCookie& c) { c.same_site = "None"; });  // without Secure
    bad([](SetCookie& c) { c.name = "__Secure-x"; });
    bad([](SetCookie& c) { c.name = "__Host-x"; });
    bad([](SetCookie& c) { c.name = "__Host-x", c.secure = true, c.path = "/app"; });
}

TEST(FormatSetCookie, RoundTripsThroughParse) {
    SetCookie c{.name = "sid", .value = "Zm9v-YmFy_baz.~!#$%&'()*+/:<=>?@[]^`{|}"};
    std::string header = format_set_cookie(c);
    std::string cookie_header = header.substr(0, header.find(';'));
    EXPECT_EQ(find_cookie(cookie_header, "sid"), c.value);
}

}  // namespace
}  // namespace photoshare::http
