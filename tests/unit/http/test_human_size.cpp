#include "http/message.hpp"

#include <gtest/gtest.h>

using photoshare::http::human_size;
using photoshare::http::human_sizes;

TEST(HumanSize, OneDecimalNoneWhenWhole) {
    EXPECT_EQ(human_size(0), "0 bytes");
    EXPECT_EQ(human_size(1023), "1023 bytes");
    EXPECT_EQ(human_size(1024), "1 KiB");
    EXPECT_EQ(human_size(1536), "1.5 KiB");
    EXPECT_EQ(human_size(25ULL << 20), "25 MiB");
    EXPECT_EQ(human_size(32715571), "31.2 MiB");
    EXPECT_EQ(human_size(3ULL << 30), "3 GiB");
    EXPECT_EQ(human_size(5ULL << 50), "5120 TiB");
}

TEST(HumanSize, APairThatWouldReadAlikeIsGivenInBytes) {
    EXPECT_EQ(human_sizes(32715571, 25ULL << 20), (std::pair<std::string, std::string>{"31.2 MiB", "25 MiB"}));
    EXPECT_EQ(human_sizes(65537, 65536), (std::pair<std::string, std::string>{"65537 bytes", "65536 bytes"}));
}
