#include "config/config.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace photoshare::config;
using namespace std::chrono_literals;

namespace {

std::string write_toml(const std::string& text) {
    auto path = std::filesystem::temp_directory_path() / ("photoshare-config-" + std::to_string(::getpid()) + "-" +
                                                           std::to_string(std::rand()) + ".toml");
    std::ofstream(path) << text;
    return path.string();
}

std::string error_of(const Sources& s) {
    try {
        load(s);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(Config, DefaultsAreTheEmbeddedLevelZero) {
    auto c = load({});
    EXPECT_EQ(c.server.listen, "127.0.0.1:8080");
    EXPECT_EQ(c.database_url(), "sqlite://data/photoshare.db");
    EXPECT_EQ(c.storage_url(), "file://data/media");
    EXPECT_EQ(c.sessions.url, "database");
    EXPECT_EQ(c.cache.url, "memory://");
    EXPECT_EQ(c.feed.page_size, 10u);
    EXPECT_EQ(c.limits.max_upload_bytes, 100u * 1024 * 1024);
    EXPECT_EQ(c.limits.max_file_bytes, 25u * 1024 * 1024);
    EXPECT_EQ(c.limits.max_pixels, 50'000'000u);
    EXPECT_GE(c.auth.argon2_memory_kib, 19456u);
    EXPECT_GE(c.auth.argon2_iterations, 2u);
}

TEST(Config, FileThenEnvironmentThenFlags) {
    auto file = write_toml("[server]\nname = \"from-file\"\nlisten = \"127.0.0.1:1111\"\n[feed]\npage_size = 7\n");
    Sources s;
    s.file = file;
    s.environment = {{"PHOTOSHARE_SERVER_LISTEN", "127.0.0.1:2222"}, {"PHOTOSHARE_FEED_PAGE_SIZE", "8"}};
    s.flags = {{"feed.page_size", "9"}};
    auto c = load(s);
    EXPECT_EQ(c.server.name, "from-file");          // only in the file
    EXPECT_EQ(c.server.listen, "127.0.0.1:2222");   // environment beats file
    EXPECT_EQ(c.feed.page_size, 9u);                // flag beats environment
    std::filesystem::remove(file);
}

TEST(Config, UnknownFileKeyIsNamed) {
    auto file = write_toml("[server]\nlistne = \"x\"\n");
    Sources s;
    s.file = file;
    EXPECT_NE(error_of(s).find("server.listne"), std::string::npos);
    std::filesystem::remove(file);
}

TEST(Config, TomlSyntaxErrorSaysWhere) {
    auto file = write_toml("[server\nname = 1\n");
    Sources s;
    s.file = file;
    EXPECT_NE(error_of(s).find("line 1"), std::string::npos);
    std::filesystem::remove(file);
}

TEST(Config, InvalidValuesNameTheKey) {
    Sources s;
    s.flags = {{"limits.max_body_bytes", "lots"}};
    EXPECT_NE(error_of(s).find("limits.max_body_bytes"), std::string::npos);
    s.flags = {{"limits.header_timeout", "10 parsecs"}};
    EXPECT_NE(error_of(s).find("limits.header_timeout"), std::string::npos);
    s.flags = {{"server.listen", "nowhere"}};
    EXPECT_NE(error_of(s).find("server.listen"), std::string::npos);
    s.flags = {{"server.listen", "127.0.0.1:70000"}};
    EXPECT_NE(error_of(s).find("server.listen"), std::string::npos);
    s.flags = {{"images.jpeg_quality", "0"}};
    EXPECT_NE(error_of(s).find("images.jpeg_quality"), std::string::npos);
    s.flags = {{"auth.argon2_memory_kib", "1024"}};
    EXPECT_NE(error_of(s).find("auth.argon2_memory_kib"), std::string::npos);
    s.flags = {{"log.format", "xml"}};
    EXPECT_NE(error_of(s).find("log.format"), std::string::npos);
    s.flags = {{"cache.url", "gopher://x"}};
    EXPECT_NE(error_of(s).find("cache.url"), std::string::npos);
    s.flags = {{"database.url", "oracle://x"}};
    EXPECT_NE(error_of(s).find("database.url"), std::string::npos);
    s.flags = {{"sessions.url", "file:///tmp"}};
    EXPECT_NE(error_of(s).find("sessions.url"), std::string::npos);
    s.flags = {{"cache.url", "memcached://127.0.0.1:11211,127.0.0.1:11212"}};
    EXPECT_EQ(error_of(s), "");
    s.flags = {{"cache.url", "gopher://x"}};
    EXPECT_NE(error_of(s).find("cache.url"), std::string::npos);
    s.flags = {{"no.such", "1"}};
    EXPECT_NE(error_of(s).find("no.such"), std::string::npos);
    s.flags = {{"feed.page_size", "-3"}};
    EXPECT_NE(error_of(s).find("feed.page_size"), std::string::npos);
    s.flags = {{"storage.cache_max_age", "0s"}};
    EXPECT_NE(error_of(s).find("storage.cache_max_age"), std::string::npos);
    s.flags = {{"storage.cache_max_age", "400d"}};
    EXPECT_NE(error_of(s).find("storage.cache_max_age"), std::string::npos);
    s.flags = {{"storage.cache_max_age", "1h"}};
    EXPECT_EQ(error_of(s), "");
}

TEST(Config, TomlTypesAreAccepted) {
    auto file = write_toml("[limits]\nmax_body_bytes = 2048\nheader_timeout = \"250ms\"\n[server]\ntrusted_proxies = [\"10.0.0.1\", \"10.0.0.2\"]\n"
                           "secure_cookies = true\n");
    Sources s;
    s.file = file;
    auto c = load(s);
    EXPECT_EQ(c.limits.max_body_bytes, 2048u);
    EXPECT_EQ(c.limits.header_timeout, 250ms);
    ASSERT_EQ(c.server.trusted_proxies.size(), 2u);
    EXPECT_EQ(c.server.trusted_proxies[1], "10.0.0.2");
    EXPECT_TRUE(c.server.secure_cookies);
    std::filesystem::remove(file);
}

// images.sizes: numbers in TOML or text in a flag; each from 16 to 16384; empty is allowed
// (only the display variant and the thumbnail are made).
TEST(Config, ImageSizesAreAListOfWholeNumbers) {
    EXPECT_EQ(load({}).images.sizes, (std::vector<unsigned>{320, 640, 1024, 1600}));
    auto file = write_toml("[images]\nsizes = [400, \"800\"]\n");
    Sources s;
    s.file = file;
    EXPECT_EQ(load(s).images.sizes, (std::vector<unsigned>{400, 800}));
    std::filesystem::remove(file);
    Sources f;
    f.flags = {{"images.sizes", "300, 900"}};
    EXPECT_EQ(load(f).images.sizes, (std::vector<unsigned>{300, 900}));
    f.flags = {{"images.sizes", ""}};
    EXPECT_TRUE(load(f).images.sizes.empty());
    for (const char* bad : {"300,wide", "8", "20000", "-5"}) {
        f.flags = {{"images.sizes", bad}};
        EXPECT_NE(error_of(f).find("images.sizes"), std::string::npos) << bad;
    }
}

TEST(Config, DurationsAndSizes) {
    EXPECT_EQ(parse_duration("10s"), 10s);
    EXPECT_EQ(parse_duration("250ms"), 250ms);
    EXPECT_EQ(parse_duration("5m"), 5min);
    EXPECT_EQ(parse_duration("2h"), 2h);
    EXPECT_EQ(parse_duration("14d"), 14 * 24h);
    EXPECT_EQ(parse_duration("30"), 30s);
    EXPECT_THROW(parse_duration("ten"), std::invalid_argument);
    EXPECT_THROW(parse_duration("-1s"), std::invalid_argument);
    EXPECT_EQ(parse_size("25MiB"), 25u << 20);
    EXPECT_EQ(parse_size("16KiB"), 16u << 10);
    EXPECT_EQ(parse_size("1000"), 1000u);
    EXPECT_EQ(parse_size("2MB"), 2'000'000u);
    EXPECT_THROW(parse_size("12 apples"), std::invalid_argument);
    EXPECT_THROW(parse_size("99999999999999999999GiB"), std::invalid_argument);
}

TEST(Config, SecretsAreRedacted) {
    EXPECT_EQ(redact_url("postgresql://app:hunter2@db:5432/photos"), "postgresql://app:***@db:5432/photos");
    EXPECT_EQ(redact_url("redis://:pw@cache:6379/0"), "redis://:***@cache:6379/0");
    EXPECT_EQ(redact_url("s3://bucket/p?region=x&secret_access_key=abc&x=1"), "s3://bucket/p?region=x&secret_access_key=***&x=1");
    EXPECT_EQ(redact_url("sqlite:///var/lib/p.db"), "sqlite:///var/lib/p.db");

    Sources s;
    s.flags = {{"admin.token", "super-secret-token"}, {"database.url", "sqlite:///tmp/x.db"}};
    auto c = load(s);
    auto text = describe(c, s);
    EXPECT_EQ(text.find("super-secret-token"), std::string::npos);
    EXPECT_NE(text.find("token = '<redacted>'  # flag"), std::string::npos) << text;
    EXPECT_NE(text.find("sqlite:///tmp/x.db"), std::string::npos);
}

TEST(Config, DescribeSaysWhereEachValueCameFrom) {
    Sources s;
    s.environment = {{"PHOTOSHARE_FEED_PAGE_SIZE", "12"}};
    s.flags = {{"server.name", "web-1"}};
    auto text = describe(load(s), s);
    EXPECT_NE(text.find("page_size = 12  # env PHOTOSHARE_FEED_PAGE_SIZE"), std::string::npos) << text;
    EXPECT_NE(text.find("name = 'web-1'  # flag"), std::string::npos) << text;
    EXPECT_NE(text.find("listen = '127.0.0.1:8080'  # default"), std::string::npos) << text;
}

TEST(Config, ListenAcceptsIpv6AndNames) {
    Sources s;
    s.flags = {{"server.listen", "[::1]:9000"}};
    auto [host, port] = load(s).listen_endpoint();
    EXPECT_EQ(host, "::1");
    EXPECT_EQ(port, 9000);
    s.flags = {{"server.listen", "localhost:80"}};
    EXPECT_EQ(load(s).listen_endpoint().first, "127.0.0.1");
    s.flags = {{"server.listen", ":8080"}};
    EXPECT_EQ(load(s).listen_endpoint().first, "0.0.0.0");
}

TEST(Config, EveryKeyIsDocumented) {
    for (const auto& k : keys()) {
        EXPECT_FALSE(k.help.empty()) << k.key;
        EXPECT_NE(k.key.find('.'), std::string::npos) << k.key;
    }
}
