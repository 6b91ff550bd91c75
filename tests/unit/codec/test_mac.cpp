// codec::Mac (keyed BLAKE2b) against the BLAKE2 reference known-answer tests (blake2b-kat:
// key 00 01 .. 3f, 64-byte output, inputs 00 01 .. of length 0 and 1), and its contract.
#include "codec/mac.hpp"

#include "codec/hex.hpp"

#include <gtest/gtest.h>

#include <string>

namespace photoshare::codec {
namespace {

std::string counting(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i);
    return s;
}

TEST(Mac, Blake2bKnownAnswers) {
    const Mac mac(counting(64), 64);
    EXPECT_EQ(to_hex(mac.of("")),
              "10ebb67700b1868efb4417987acf4690ae9d972fb7a590c2f02871799aaa4786b5e996e8f0f4eb981fc214b005f42d2ff4233499391653df7aefcbc13fc51568");
    EXPECT_EQ(to_hex(mac.of(counting(1))),
              "961f6dd1e4dd30f63901690c512e78e4b45e4742ed197c3c5e45c549fd25f2e4187b0bc9fe30492b16b0d0bc4ef9b0f34c7003fac09a5ef1532e69430234cebd");
}

TEST(Mac, DependsOnKeyAndDataAndIsRepeatable) {
    const Mac a("key one"), b("key two");
    EXPECT_EQ(a.of("visitor").size(), 32u);
    EXPECT_EQ(a.of("visitor"), a.of("visitor"));
    EXPECT_NE(a.of("visitor"), b.of("visitor"));
    EXPECT_NE(a.of("visitor"), a.of("visitor2"));
    // A key longer than BLAKE2b takes is hashed first, not cut: the keys differ after byte 64.
    EXPECT_NE(Mac(std::string(64, 'k') + "a").of("x"), Mac(std::string(64, 'k') + "b").of("x"));
}

TEST(Mac, RefusesWhatCannotWork) {
    EXPECT_THROW(Mac(""), std::invalid_argument);
    EXPECT_THROW(Mac("k", 8), std::invalid_argument);
    EXPECT_THROW(Mac("k", 65), std::invalid_argument);
}

}  // namespace
}  // namespace photoshare::codec
