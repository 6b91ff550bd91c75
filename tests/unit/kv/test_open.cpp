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

TEST(KvOpen, UnknownSchemesAreNamedInTheError) {
    EXPECT_NE(error_of("etcd://x").find("etcd://"), std::string::npos);
    EXPECT_NE(error_of("rediss://cache:6380").find("TLS"), std::string::npos);
    EXPECT_NE(error_of("memory").find("scheme://"), std::string::npos);
    EXPECT_NE(error_of("").find("scheme://"), std::string::npos);
}

TEST(KvOpen, ErrorsDoNotRepeatSecretsFromTheUrl) {
    EXPECT_EQ(error_of("user:hunter2@cache://x").find("hunter2"), std::string::npos);
    // Each malformed somewhere else than the password, which must not be echoed either.
    for (const std::string& url : {"redis://:hunter2@cache:notaport", "redis://:hunter2@", "redis://:hunter2@cache/x",
                                  "redis://:hunter2@cache?hunter2=1", "redis://:hunter2@cache?timeout_ms=hunter2",
                                  "redis://hunter2@cache", "redis://:hunter2@ca che", "redis://:hunter2%zz@cache",
                                  "redis://cache:hunter2", "memcached://:hunter2@cache", "memcached://cache:hunter2",
                                  "redis://:hunter2@a,b"}) {
        const std::string error = error_of(url);
        EXPECT_NE(error, "no error") << url;
        EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;
    }
}

// Opening does not connect (nothing listens on these), so the URLs can be checked alone.
TEST(KvOpen, MemcachedUrls) {
    EXPECT_EQ(open("memcached://127.0.0.1:11211")->describe(),
              "memcached://127.0.0.1:11211?timeout_ms=100&connect_timeout_ms=100&retry_ms=1000&pool=64");
    EXPECT_EQ(open("memcached://a.example:1,b-2.example,[::1]:3/?timeout_ms=250&pool=8&retry_ms=0&connect_timeout_ms=50")
                  ->describe(),
              "memcached://a.example:1,b-2.example:11211,[::1]:3?timeout_ms=250&connect_timeout_ms=50&retry_ms=0&pool=8");
    EXPECT_FALSE(open("memcached://localhost")->local());
}

TEST(KvOpen, MalformedMemcachedUrlsNameTheProblem) {
    auto has = [](const std::string& url, const std::string& part) {
        const std::string error = error_of(url);
        return error.find(part) != std::string::npos ? ::testing::AssertionSuccess()
                                                     : ::testing::AssertionFailure() << url << " -> " << error;
    };
    EXPECT_TRUE(has("memcached://", "no servers"));
    EXPECT_TRUE(has("memcached://a:1,,b:2", "server 2 is empty"));
    EXPECT_TRUE(has("memcached://a:1,b:0", "server 2 has a malformed port"));
    EXPECT_TRUE(has("memcached://a:1,b:65536", "port"));
    EXPECT_TRUE(has("memcached://a:1,a:1", "server 2 is listed twice"));
    EXPECT_TRUE(has("memcached://a:11211,a", "listed twice"));
    EXPECT_TRUE(has("memcached://[::1:1", "unclosed"));
    EXPECT_TRUE(has("memcached://a/b", "no path"));
    EXPECT_TRUE(has("memcached://a?timeout_ms=0", "timeout_ms must be an integer from 1"));
    EXPECT_TRUE(has("memcached://a?timeout_ms=1.5", "timeout_ms"));
    EXPECT_TRUE(has("memcached://a?pool=5000", "pool"));
    EXPECT_TRUE(has("memcached://a?pool=1&pool=2", "pool is given twice"));
    EXPECT_TRUE(has("memcached://a?shards=4", "unknown parameter 'shards'"));
    EXPECT_TRUE(has("memcached://u:p@a", "not supported"));
}

TEST(KvOpen, RedisUrls) {
    const std::string options = "?timeout_ms=100&connect_timeout_ms=100&retry_ms=1000&pool=64";
    EXPECT_EQ(open("redis://cache")->describe(), "redis://cache:6379/0" + options);
    EXPECT_EQ(open("redis://cache:7000/3")->describe(), "redis://cache:7000/3" + options);
    EXPECT_EQ(open("redis://:s3cret@cache:7000/")->describe(), "redis://:***@cache:7000/0" + options);
    EXPECT_EQ(open("redis://app:s3cret@10.1.2.3/2?timeout_ms=20")->describe(),
              "redis://app:***@10.1.2.3:6379/2?timeout_ms=20&connect_timeout_ms=100&retry_ms=1000&pool=64");
    // '@', ':' and '/' in a password are percent-encoded; a raw '@' is taken as part of it.
    EXPECT_EQ(open("redis://:p%40ss%3A%2F@[::1]:6379/1")->describe(), "redis://:***@[::1]:6379/1" + options);
    EXPECT_EQ(open("redis://:p@ss@cache")->describe(), "redis://:***@cache:6379/0" + options);
    EXPECT_FALSE(open("redis://cache")->local());
}

TEST(KvOpen, MalformedRedisUrlsNameTheProblem) {
    EXPECT_NE(error_of("redis://").find("no host"), std::string::npos);
    EXPECT_NE(error_of("redis://cache:0").find("port"), std::string::npos);
    EXPECT_NE(error_of("redis://cache/x").find("database"), std::string::npos);
    EXPECT_NE(error_of("redis://cache/-1").find("database"), std::string::npos);
    EXPECT_NE(error_of("redis://pass@cache").find("':password@' or 'user:password@'"), std::string::npos);
    EXPECT_NE(error_of("redis://user:@cache").find("password"), std::string::npos);
    EXPECT_NE(error_of("redis://:a%2@cache").find("percent-encoding in the password"), std::string::npos);
    EXPECT_NE(error_of("redis://a:1,b:2").find("one server"), std::string::npos);
    EXPECT_NE(error_of("redis://cache?pool=0").find("pool"), std::string::npos);
}

}  // namespace
}  // namespace photoshare::kv
