#include <gtest/gtest.h>

#include <set>

#include "kv/remote.hpp"

namespace photoshare::kv::detail {
namespace {

std::string hex(const std::array<std::uint8_t, 32>& digest) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (auto b : digest) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

// FIPS 180-4 examples (NIST CSRC "SHA256.pdf", "SHA2_Additional.pdf").
TEST(Sha256, FipsTestVectors) {
    EXPECT_EQ(hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(hex(sha256("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")),
              "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    EXPECT_EQ(hex(sha256(std::string(1'000'000, 'a'))),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    // Lengths around the padding boundary (a 55-byte message pads into one block, 56 into
    // two); the fixed digests below are from Python's hashlib.
    std::set<std::string> seen;
    for (std::size_t n = 50; n < 70; ++n) seen.insert(hex(sha256(std::string(n, 'x'))));
    EXPECT_EQ(seen.size(), 20u);
    EXPECT_EQ(hex(sha256(std::string(55, 'a'))), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    EXPECT_EQ(hex(sha256(std::string(56, 'a'))), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
    EXPECT_EQ(hex(sha256(std::string(64, 'a'))), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST(MemcachedKey, PlainKeysStayAndOthersAreHashed) {
    EXPECT_EQ(memcached_key("session:abc"), "session:abc");
    EXPECT_EQ(memcached_key(std::string(250, 'k')), std::string(250, 'k'));
    for (const std::string& odd : {std::string(251, 'k'), std::string(""), std::string("a b"), std::string("a\nb"),
                                  std::string("a\0b", 3), std::string("\xc3\xbc"), std::string("\x7f"),
                                  std::string("~plain")}) {
        const std::string k = memcached_key(odd);
        EXPECT_EQ(k.size(), 65u);
        EXPECT_EQ(k[0], '~');
        EXPECT_EQ(k, "~" + hex(sha256(odd)));
    }
    EXPECT_NE(memcached_key(std::string(300, 'a')), memcached_key(std::string(299, 'a') + "b"));
}

TEST(Ttl, NegativeIsRejectedAndHugeMeansForever) {
    EXPECT_THROW(checked_ttl(std::chrono::seconds(-1)), std::invalid_argument);
    EXPECT_EQ(checked_ttl(std::chrono::seconds(0)), 0);
    EXPECT_EQ(checked_ttl(std::chrono::seconds(90)), 90);
    EXPECT_EQ(checked_ttl(std::chrono::seconds(max_ttl_seconds)), 0);
    EXPECT_EQ(checked_ttl(std::chrono::seconds::max()), 0);
}

}  // namespace
}  // namespace photoshare::kv::detail
