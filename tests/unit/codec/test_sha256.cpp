// codec/sha256.hpp against the FIPS 180-4 examples and lengths around the padding boundary,
// and HMAC-SHA-256 against RFC 4231.
#include "codec/sha256.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "codec/hex.hpp"

namespace photoshare::codec {
namespace {

// FIPS 180-4 examples (NIST CSRC "SHA256.pdf", "SHA2_Additional.pdf").
TEST(Sha256, FipsTestVectors) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
              "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    EXPECT_EQ(sha256_hex(std::string(1'000'000, 'a')),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// A 55-byte message pads into one block, 56 into two; digests from Python's hashlib.
TEST(Sha256, PaddingBoundary) {
    EXPECT_EQ(sha256_hex(std::string(55, 'a')), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    EXPECT_EQ(sha256_hex(std::string(56, 'a')), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
    EXPECT_EQ(sha256_hex(std::string(64, 'a')), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
    std::set<std::string> seen;
    for (std::size_t n = 50; n < 70; ++n) seen.insert(sha256_hex(std::string(n, 'x')));
    EXPECT_EQ(seen.size(), 20u);
}

TEST(Sha256, RawDigestIsTheHexOnesBytes) {
    const Sha256 digest = sha256("abc");
    EXPECT_EQ(digest[0], 0xba);
    EXPECT_EQ(digest[31], 0xad);
    EXPECT_EQ(to_hex(digest), sha256_hex("abc"));
    // Bytes, not C strings: a NUL inside the input counts.
    EXPECT_NE(sha256_hex(std::string_view("a\0b", 3)), sha256_hex("a"));
}

// RFC 4231's HMAC-SHA-256 test cases 1, 2 and 6 (a key longer than the block, which is
// hashed first).
TEST(HmacSha256, Rfc4231TestVectors) {
    struct Case {
        std::string key, data, mac_hex;
    };
    const std::vector<Case> cases = {
        {std::string(20, '\x0b'), "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"Jefe", "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(to_hex(hmac_sha256(c.key, c.data)), c.mac_hex);
    }
}

}  // namespace
}  // namespace photoshare::codec
