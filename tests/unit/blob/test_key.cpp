#include <gtest/gtest.h>

#include "blob/blob.hpp"

namespace photoshare::blob {
namespace {

TEST(BlobKey, AcceptsServerGeneratedKeys) {
    EXPECT_TRUE(valid_key("a"));
    EXPECT_TRUE(valid_key("3f9a0c_t.jpg"));
    EXPECT_TRUE(valid_key("Az09_-.x"));
    EXPECT_TRUE(valid_key("a.b.c"));
    EXPECT_TRUE(valid_key(std::string(128, 'k')));
}

TEST(BlobKey, RejectsAnythingThatCouldNameAnotherPath) {
    EXPECT_FALSE(valid_key(""));
    EXPECT_FALSE(valid_key(std::string(129, 'k')));
    EXPECT_FALSE(valid_key("."));
    EXPECT_FALSE(valid_key(".."));
    EXPECT_FALSE(valid_key(".hidden"));
    EXPECT_FALSE(valid_key("a..b"));
    EXPECT_FALSE(valid_key("../etc/passwd"));
    EXPECT_FALSE(valid_key("a/b"));
    EXPECT_FALSE(valid_key("a\\b"));
    EXPECT_FALSE(valid_key("a b"));
    EXPECT_FALSE(valid_key("a%2fb"));
    EXPECT_FALSE(valid_key(std::string_view("a\0b", 3)));
    EXPECT_FALSE(valid_key("caf\xc3\xa9"));
    EXPECT_FALSE(valid_key("a:b"));
}

}  // namespace
}  // namespace photoshare::blob
