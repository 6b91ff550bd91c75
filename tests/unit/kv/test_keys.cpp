#include <gtest/gtest.h>

#include <set>

#include "codec/sha256.hpp"
#include "kv/remote.hpp"

namespace photoshare::kv::detail {
namespace {

// Keys that memcached cannot take are replaced by "~" and their SHA-256 (codec/sha256,
// tested in tests/unit/codec).
std::string digest_of(const std::string& key) { return codec::sha256_hex(key); }

TEST(MemcachedKey, PlainKeysStayAndOthersAreHashed) {
    EXPECT_EQ(memcached_key("session:abc"), "session:abc");
    EXPECT_EQ(memcached_key(std::string(250, 'k')), std::string(250, 'k'));
    for (const std::string& odd : {std::string(251, 'k'), std::string(""), std::string("a b"), std::string("a\nb"),
                                  std::string("a\0b", 3), std::string("\xc3\xbc"), std::string("\x7f"),
                                  std::string("~plain")}) {
        const std::string k = memcached_key(odd);
        EXPECT_EQ(k.size(), 65u);
        EXPECT_EQ(k[0], '~');
        EXPECT_EQ(k, "~" + digest_of(odd));
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
