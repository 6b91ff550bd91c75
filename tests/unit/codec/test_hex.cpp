// codec/hex.hpp: lower-case hex, two digits a byte, for raw bytes and for text.
#include "codec/hex.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace photoshare::codec {
namespace {

TEST(ToHex, LowerCaseTwoDigitsPerByteMostSignificantFirst) {
    EXPECT_EQ(to_hex(std::string_view("")), "");
    EXPECT_EQ(to_hex(std::string_view("\x01\xab\xff", 3)), "01abff");
    EXPECT_EQ(to_hex(std::string_view("\0\x10", 2)), "0010");  // NUL is a byte like any other
    EXPECT_EQ(to_hex(std::string("abc")), "616263");
}

TEST(ToHex, SpanAndTextAgree) {
    std::string all;
    std::vector<std::uint8_t> bytes;
    for (int i = 0; i < 256; ++i) {
        all.push_back(static_cast<char>(i));
        bytes.push_back(static_cast<std::uint8_t>(i));
    }
    const std::string hex = to_hex(bytes);
    EXPECT_EQ(hex, to_hex(all));
    ASSERT_EQ(hex.size(), 512u);
    EXPECT_EQ(hex.substr(0, 8), "00010203");
    EXPECT_EQ(hex.substr(504), "fcfdfeff");
    EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(ToHex, FixedSizeArrays) {
    const std::array<std::uint8_t, 8> id{0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x03};
    EXPECT_EQ(to_hex(id), "deadbeef00010203");
}

}  // namespace
}  // namespace photoshare::codec
