#include "auth/tokens.hpp"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

namespace photoshare::auth {
namespace {

TEST(Tokens, RandomHexIsLowercaseHexOfTwiceTheLength) {
    const std::string h = random_hex(16);
    EXPECT_EQ(h.size(), 32u);
    EXPECT_EQ(h.find_first_not_of("0123456789abcdef"), std::string::npos) << h;
    EXPECT_NE(random_hex(16), random_hex(16));
    EXPECT_EQ(random_hex(0), "");
}

TEST(Tokens, RandomTokenIsUnpaddedBase64url) {
    const std::string t = random_token(32);
    EXPECT_EQ(t.size(), 43u);  // ceil(32 * 4 / 3), no '='
    EXPECT_EQ(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos)
        << t;
    EXPECT_EQ(random_token(1).size(), 2u);
    EXPECT_EQ(random_token(3).size(), 4u);
    EXPECT_EQ(random_token(0), "");
}

TEST(Tokens, RandomTokensDoNotRepeatAcrossThreads) {
    std::vector<std::vector<std::string>> per_thread(4);
    std::vector<std::thread> threads;
    for (auto& out : per_thread) {
        threads.emplace_back([&out] {
            for (int i = 0; i < 1000; ++i) {
                out.push_back(random_token(16));
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    std::set<std::string> all;
    for (const auto& out : per_thread) {
        all.insert(out.begin(), out.end());
    }
    EXPECT_EQ(all.size(), 4000u);
}

// SHA-256 and constant-time comparison are tested in tests/unit/codec.

}  // namespace
}  // namespace photoshare::auth
