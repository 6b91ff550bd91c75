// codec/percent.hpp: the HTTP rules of percent_decode (bad escapes, %00 and raw NUL refused),
// the lower-level percent_decode_to the backend URL parsers word their errors from, and
// percent_encode with and without '/'.
#include "codec/percent.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace photoshare::codec {
namespace {

TEST(PercentDecode, Escapes) {
    EXPECT_EQ(percent_decode("a%20b", false), "a b");
    EXPECT_EQ(percent_decode("%41%6a%6A", false), "Ajj");  // either case of hex digit
    EXPECT_EQ(percent_decode("", false), "");
    EXPECT_EQ(percent_decode("%e2%82%ac", false), "\xe2\x82\xac");
    EXPECT_EQ(percent_decode("%ff%fe", false), "\xff\xfe");  // bytes, not UTF-8 checked
    EXPECT_EQ(percent_decode("%2F%5C%2e", false), "/\\.");
    EXPECT_EQ(percent_decode("%25%32%30", false), "%20");  // decoded once, never twice
}

TEST(PercentDecode, Plus) {
    EXPECT_EQ(percent_decode("a+b", true), "a b");
    EXPECT_EQ(percent_decode("a+b", false), "a+b");
    EXPECT_EQ(percent_decode("a%2Bb", true), "a+b");
}

TEST(PercentDecode, BadEscapes) {
    for (const char* s : {"%", "%2", "%4", "a%", "%zz", "%g0", "%0g", "% 20", "%%", "%-1", "abc%4", "%4%41"}) {
        EXPECT_EQ(percent_decode(s, true), std::nullopt) << s;
        EXPECT_EQ(percent_decode(s, false), std::nullopt) << s;
    }
}

TEST(PercentDecode, NulIsRefusedEncodedOrRaw) {
    EXPECT_EQ(percent_decode("%00", false), std::nullopt);
    EXPECT_EQ(percent_decode("a%00b", true), std::nullopt);
    EXPECT_EQ(percent_decode(std::string_view("a\0b", 3), false), std::nullopt);
    EXPECT_EQ(percent_decode(std::string_view("\0", 1), true), std::nullopt);
    EXPECT_EQ(percent_decode("%01%1f%7f", false), "\x01\x1f\x7f");  // other controls are the caller's call
}

TEST(PercentDecodeTo, NamesTheFirstProblem) {
    std::string out;
    EXPECT_EQ(percent_decode_to(out, "a%20b+c", false, true), std::nullopt);
    EXPECT_EQ(out, "a b+c");
    EXPECT_EQ(percent_decode_to(out, "a%20b+c", true, true), std::nullopt);
    EXPECT_EQ(out, "a b c");
    EXPECT_EQ(percent_decode_to(out, "%4", false, true), PercentError::bad_escape);
    EXPECT_EQ(percent_decode_to(out, "%zz", false, false), PercentError::bad_escape);
    EXPECT_EQ(percent_decode_to(out, "a%00", false, true), PercentError::escaped_nul);
    // The first problem in the text is the one reported.
    EXPECT_EQ(percent_decode_to(out, "%00%zz", false, true), PercentError::escaped_nul);
    EXPECT_EQ(percent_decode_to(out, "%zz%00", false, true), PercentError::bad_escape);
}

TEST(PercentDecodeTo, NulWhenAllowedAndRawBytes) {
    std::string out = "left over";
    EXPECT_EQ(percent_decode_to(out, "a%00b", false, false), std::nullopt);  // out is replaced
    EXPECT_EQ(out, std::string("a\0b", 3));
    // A raw NUL is copied as it is (only the HTTP rules refuse it).
    EXPECT_EQ(percent_decode_to(out, std::string_view("a\0b", 3), false, true), std::nullopt);
    EXPECT_EQ(out, std::string("a\0b", 3));
}

TEST(PercentEncode, KeepsOnlyUnreserved) {
    EXPECT_EQ(percent_encode("AZaz09-._~"), "AZaz09-._~");
    EXPECT_EQ(percent_encode("a b&c=d/e?f#g+h%"), "a%20b%26c%3Dd%2Fe%3Ff%23g%2Bh%25");  // %20, never '+'
    EXPECT_EQ(percent_encode("\xe2\x82\xac"), "%E2%82%AC");  // upper-case hex, each byte
    EXPECT_EQ(percent_encode(std::string_view("\0\x7f\xff", 3)), "%00%7F%FF");
    EXPECT_EQ(percent_encode(""), "");
}

TEST(PercentEncode, KeepSlashForPaths) {
    EXPECT_EQ(percent_encode("/a/b c/", true), "/a/b%20c/");
    EXPECT_EQ(percent_encode("/a/b c/", false), "%2Fa%2Fb%20c%2F");
    EXPECT_EQ(percent_encode("/a/b c/"), "%2Fa%2Fb%20c%2F");  // the default encodes '/'
}

TEST(PercentEncode, RoundTripsEveryByteExceptNul) {
    std::string all;
    for (int i = 1; i < 256; ++i) all.push_back(static_cast<char>(i));
    EXPECT_EQ(percent_decode(percent_encode(all), false), all);
    EXPECT_EQ(percent_decode(percent_encode(all), true), all);
    std::string out;
    const std::string with_nul = std::string(1, '\0') + all;
    EXPECT_EQ(percent_decode_to(out, percent_encode(with_nul), false, false), std::nullopt);
    EXPECT_EQ(out, with_nul);
    std::mt19937 rng(1);
    for (int round = 0; round < 200; ++round) {
        std::string s;
        for (auto n = static_cast<int>(rng() % 40); n > 0; --n) s.push_back(static_cast<char>(1 + rng() % 255));
        EXPECT_EQ(percent_decode(percent_encode(s), true), s);
        EXPECT_EQ(percent_decode(percent_encode(s, true), false), s);
    }
}

}  // namespace
}  // namespace photoshare::codec
