#include "http/form.hpp"
#include "http/message.hpp"

#include <gtest/gtest.h>


namespace photoshare::http {
namespace {

// percent_decode and percent_encode themselves are tested in tests/unit/codec.

TEST(Urlencoded, Basic) {
    Fields f = parse_urlencoded("username=alice&password=s%3Dcr%26t+x&remember");
    ASSERT_EQ(f.size(), 3u);
    EXPECT_EQ(f[0], (std::pair<std::string, std::string>{"username", "alice"}));
    EXPECT_EQ(f[1].second, "s=cr&t x");
    EXPECT_EQ(f[2], (std::pair<std::string, std::string>{"remember", ""}));
    EXPECT_EQ(field(f, "password"), "s=cr&t x");
    EXPECT_EQ(field(f, "remember"), "");
    EXPECT_EQ(field(f, "missing"), std::nullopt);
    EXPECT_EQ(field(f, "USERNAME"), std::nullopt);  // names are case-sensitive
}

TEST(Urlencoded, EmptyPiecesDuplicatesAndOrder) {
    EXPECT_TRUE(parse_urlencoded("").empty());
    EXPECT_TRUE(parse_urlencoded("&&&").empty());
    Fields f = parse_urlencoded("&a=1&&a=2&=x&b==&");
    ASSERT_EQ(f.size(), 4u);
    EXPECT_EQ(field(f, "a"), "1");  // first wins
    EXPECT_EQ(f[1].second, "2");
    EXPECT_EQ(f[2], (std::pair<std::string, std::string>{"", "x"}));
    EXPECT_EQ(f[3], (std::pair<std::string, std::string>{"b", "="}));
}

TEST(Urlencoded, BytesPassThrough) {
    // Raw non-ASCII and invalid UTF-8 are not ours to judge.
    Fields f = parse_urlencoded("n=\xc3\xa9&m=%ff%c3");
    EXPECT_EQ(field(f, "n"), "\xc3\xa9");
    EXPECT_EQ(field(f, "m"), "\xff\xc3");
    // ';' is not a separator (WHATWG URL), so it stays in the value.
    EXPECT_EQ(field(parse_urlencoded("a=1;b=2"), "a"), "1;b=2");
}

TEST(Urlencoded, InvalidEncodingIs400) {
    for (std::string_view body : {std::string_view("a=%zz"), std::string_view("%=1"), std::string_view("a=%00"),
                                  std::string_view("a%00=1"), std::string_view("a=1&b=\0", 7), std::string_view("a=%2")}) {
        try {
            parse_urlencoded(body);
            ADD_FAILURE() << "accepted " << body;
        } catch (const HttpError& e) {
            EXPECT_EQ(e.status(), 400);
            EXPECT_EQ(e.code(), "bad_request");
        }
    }
}

TEST(Urlencoded, FieldLimit) {
    std::string body;
    for (int i = 0; i < 1000; ++i) body += "f=" + std::to_string(i) + "&";
    EXPECT_EQ(parse_urlencoded(body).size(), 1000u);
    EXPECT_EQ(parse_urlencoded(body + "&&&").size(), 1000u);  // empty pieces do not count
    try {
        parse_urlencoded(body + "x");
        ADD_FAILURE() << "1001 fields accepted";
    } catch (const HttpError& e) {
        EXPECT_EQ(e.status(), 413);
        EXPECT_EQ(e.code(), "payload_too_large");
    }
    EXPECT_EQ(parse_urlencoded("a&b&c", 3).size(), 3u);
    EXPECT_THROW(parse_urlencoded("a&b&c&d", 3), HttpError);
    EXPECT_THROW(parse_urlencoded("a", 0), HttpError);
    EXPECT_TRUE(parse_urlencoded("", 0).empty());
}

TEST(Urlencoded, LargeValue) {
    std::string big(1 << 20, 'x');
    Fields f = parse_urlencoded("a=" + big + "&b=" + std::string(1000, '+'));
    EXPECT_EQ(field(f, "a")->size(), big.size());
    EXPECT_EQ(field(f, "b"), std::string(1000, ' '));
}

}  // namespace
}  // namespace photoshare::http
