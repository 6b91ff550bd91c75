#include <gtest/gtest.h>

#include "kv/kv.hpp"

namespace photoshare::kv {
namespace {

using namespace std::chrono_literals;

std::string error_of(const std::string& url) {
    try {
        open(url);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "no error";
}

TEST(KvOpen, MemoryUrls) {
    auto plain = open("memory://");
    EXPECT_TRUE(plain->local());
    EXPECT_EQ(plain->describe(), "memory://?max_entries=100000");
    EXPECT_EQ(open("memory://?max_entries=42")->describe(), "memory://?max_entries=42");
}

TEST(KvOpen, MaxEntriesFromTheUrlBoundsTheStore) {
    auto store = open("memory://?max_entries=2");
    store->set("a", "1", 0s);
    store->set("b", "2", 0s);
    store->set("c", "3", 0s);
    EXPECT_EQ(store->get("a"), std::nullopt);
    EXPECT_EQ(store->get("c"), "3");
}

TEST(KvOpen, MalformedMemoryUrlsAreRejected) {
    EXPECT_NE(error_of("memory://?max_entries=0").find("max_entries"), std::string::npos);
    EXPECT_NE(error_of("memory://?max_entries=-1").find("max_entries"), std::string::npos);
    EXPECT_NE(error_of("memory://?max_entries=12x").find("max_entries"), std::string::npos);
    EXPECT_NE(error_of("memory://?max_entries").find("max_entries"), std::string::npos);
    EXPECT_NE(error_of("memory://?shards=4").find("shards"), std::string::npos);
    EXPECT_NE(error_of("memory://somehost").find("memory://"), std::string::npos);
}

TEST(KvOpen, OtherSchemesAreNamedInTheError) {
    EXPECT_NE(error_of("redis://localhost:6379").find("redis://"), std::string::npos);
    EXPECT_NE(error_of("memcached://a:11211,b:11211").find("memcached://"), std::string::npos);
    EXPECT_NE(error_of("etcd://x").find("etcd://"), std::string::npos);
    EXPECT_NE(error_of("memory").find("scheme://"), std::string::npos);
    EXPECT_NE(error_of("").find("scheme://"), std::string::npos);
}

TEST(KvOpen, ErrorsDoNotRepeatSecretsFromTheUrl) {
    EXPECT_EQ(error_of("redis://:hunter2@cache:6379").find("hunter2"), std::string::npos);
    EXPECT_EQ(error_of("user:hunter2@cache://x").find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace photoshare::kv
