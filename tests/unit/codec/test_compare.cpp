// codec/compare.hpp: equal_constant_time gives the answer of ==, for any bytes.
#include "codec/compare.hpp"

#include <gtest/gtest.h>

#include <string>

namespace photoshare::codec {
namespace {

TEST(EqualConstantTime, SameAnswerAsEquality) {
    EXPECT_TRUE(equal_constant_time("", ""));
    EXPECT_TRUE(equal_constant_time("secret", "secret"));
    EXPECT_FALSE(equal_constant_time("secret", "secreT"));  // last byte
    EXPECT_FALSE(equal_constant_time("Secret", "secret"));  // first byte
    EXPECT_FALSE(equal_constant_time("secret", "secret2"));  // a prefix
    EXPECT_FALSE(equal_constant_time("", "x"));
    EXPECT_FALSE(equal_constant_time("x", ""));
}

TEST(EqualConstantTime, BytesNotCStrings) {
    EXPECT_TRUE(equal_constant_time(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
    EXPECT_FALSE(equal_constant_time(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
    EXPECT_FALSE(equal_constant_time(std::string_view("a\0", 2), std::string_view("a", 1)));
    const std::string long_a(4096, 'z');
    std::string long_b = long_a;
    EXPECT_TRUE(equal_constant_time(long_a, long_b));
    long_b[2048] = 'y';
    EXPECT_FALSE(equal_constant_time(long_a, long_b));
}

}  // namespace
}  // namespace photoshare::codec
