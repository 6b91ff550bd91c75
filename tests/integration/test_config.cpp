// Configuration: `photoshare config` shows the effective values with secrets redacted; a
// TOML file, PHOTOSHARE_* variables and flags override each other in that order; an invalid
// value stops `serve` with a message that names the key.
#include "support/app.hpp"
#include "support/files.hpp"
#include "support/http_client.hpp"
#include "support/photoshare_server.hpp"
#include "support/ports.hpp"

#include <fstream>
#include <regex>
#include <sstream>

using namespace pstest;

namespace {

// The value printed for `key = value` inside [section] of `photoshare config` output.
std::string printed(const std::string& output, const std::string& section, const std::string& key) {
    std::istringstream in(output);
    std::string line, current;
    while (std::getline(in, line)) {
        if (line.starts_with("[")) {
            current = line.substr(1, line.find(']') - 1);
            continue;
        }
        if (current != section) continue;
        std::smatch m;
        if (std::regex_search(line, m, std::regex("^\\s*" + key + "\\s*=\\s*(\"[^\"]*\"|'[^']*'|[^ #]+)"))) {
            std::string v = m[1];
            if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'')) v = v.substr(1, v.size() - 2);
            return v;
        }
    }
    return "<not printed>";
}

fs::path write_file(const fs::path& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    return path;
}

}  // namespace

TEST(Config, PrintsTheEffectiveConfigurationWithSecretsRedacted) {
    TempDir dir;
    auto r = run_photoshare({"config", "--data-dir", dir.path().string(), "--set", "admin.token=secret123", "--set",
                             "feed.page_size=12"});
    ASSERT_TRUE(r.status.ok()) << r.status.describe() << "\n" << r.output;
    EXPECT_FALSE(contains(r.output, "secret123")) << r.output;
    EXPECT_EQ(printed(r.output, "feed", "page_size"), "12") << r.output;
    EXPECT_TRUE(contains(printed(r.output, "database", "url"), dir.path().string())) << "the default database is in the data dir\n"
                                                                                      << r.output;
    for (const char* section : {"[server]", "[limits]", "[database]", "[storage]", "[sessions]", "[cache]", "[auth]"})
        EXPECT_TRUE(contains(r.output, section)) << section << "\n" << r.output;

    // Passwords in backend URLs, from the environment or a flag, never show. (A level-0 build
    // may refuse a PostgreSQL URL; then its error message must not show it either.)
    const Env env = {{"PHOTOSHARE_ADMIN_TOKEN", "env-secret-456"}, {"PHOTOSHARE_DATABASE_URL", "postgresql://app:hunter2@db.example:5432/photos"}};
    auto pg = run_photoshare({"config", "--data-dir", dir.path().string()}, env);
    EXPECT_FALSE(contains(pg.output, "hunter2")) << pg.output;
    EXPECT_FALSE(contains(pg.output, "env-secret-456")) << pg.output;
    if (pg.status.ok()) EXPECT_TRUE(contains(pg.output, "db.example")) << "only the password is hidden\n" << pg.output;

    auto sqlite = run_photoshare({"config", "--data-dir", dir.path().string()}, {{"PHOTOSHARE_DATABASE_URL", "sqlite:///tmp/x.db"}});
    ASSERT_TRUE(sqlite.status.ok()) << sqlite.output;
    EXPECT_EQ(printed(sqlite.output, "database", "url"), "sqlite:///tmp/x.db") << sqlite.output;
}

TEST(Config, FlagsOverrideEnvironmentWhichOverridesTheFile) {
    TempDir dir;
    const auto file = write_file(dir.path() / "photoshare.toml",
                                 "[feed]\npage_size = 5\n\n[server]\nname = \"from-file\"\n\n[limits]\nheader_timeout = \"7s\"\n");
    const std::vector<std::string> base = {"config", "--config", file.string(), "--data-dir", dir.path().string()};

    auto from_file = run_photoshare(base);
    ASSERT_TRUE(from_file.status.ok()) << from_file.output;
    EXPECT_EQ(printed(from_file.output, "feed", "page_size"), "5") << from_file.output;
    EXPECT_EQ(printed(from_file.output, "server", "name"), "from-file");
    EXPECT_EQ(printed(from_file.output, "limits", "header_timeout"), "7s");

    const Env env = {{"PHOTOSHARE_FEED_PAGE_SIZE", "6"}, {"PHOTOSHARE_SERVER_NAME", "from-env"}};
    auto from_env = run_photoshare(base, env);
    ASSERT_TRUE(from_env.status.ok()) << from_env.output;
    EXPECT_EQ(printed(from_env.output, "feed", "page_size"), "6") << from_env.output;
    EXPECT_EQ(printed(from_env.output, "server", "name"), "from-env");
    EXPECT_EQ(printed(from_env.output, "limits", "header_timeout"), "7s") << "untouched keys keep the file's value";

    auto args = base;
    args.insert(args.end(), {"--set", "feed.page_size=7", "--name", "from-flag"});
    auto from_flag = run_photoshare(args, env);
    ASSERT_TRUE(from_flag.status.ok()) << from_flag.output;
    EXPECT_EQ(printed(from_flag.output, "feed", "page_size"), "7") << from_flag.output;
    EXPECT_EQ(printed(from_flag.output, "server", "name"), "from-flag");

    // The file can also be named by PHOTOSHARE_CONFIG.
    auto by_env = run_photoshare({"config", "--data-dir", dir.path().string()}, {{"PHOTOSHARE_CONFIG", file.string()}});
    ASSERT_TRUE(by_env.status.ok()) << by_env.output;
    EXPECT_EQ(printed(by_env.output, "feed", "page_size"), "5") << by_env.output;
}

TEST(Config, TheServerUsesTheSamePrecedence) {
    TempDir dir;
    const auto file = write_file(dir.path() / "c.toml", "[server]\nname = \"file-name\"\n");
    {
        ServerProcess s({.args = {"--config", file.string()}, .env = {{"PHOTOSHARE_SERVER_NAME", "env-name"}}, .name = ""});
        HttpClient c(s.base_url());
        EXPECT_TRUE(c.get("/healthz").header("X-Served-By").starts_with("env-name ")) << c.get("/healthz").describe();
    }
    {
        ServerProcess s({.args = {"--config", file.string()}, .env = {{"PHOTOSHARE_SERVER_NAME", "env-name"}}, .name = "flag-name"});
        HttpClient c(s.base_url());
        EXPECT_TRUE(c.get("/healthz").header("X-Served-By").starts_with("flag-name ")) << c.get("/healthz").describe();
    }
    {
        ServerProcess s({.args = {"--config", file.string()}, .name = ""});
        HttpClient c(s.base_url());
        EXPECT_TRUE(c.get("/").header("X-Served-By").starts_with("file-name ")) << c.get("/").describe();
        EXPECT_TRUE(contains(c.get("/").body, "file-name"));
    }
    {
        // A limit set in the environment takes effect.
        ServerProcess s({.env = {{"PHOTOSHARE_LIMITS_MAX_BODY_BYTES", "2KiB"}}});
        HttpClient c(s.base_url());
        EXPECT_JSON_ERROR(c.post_json("/api/v1/users", "{\"username\":\"" + std::string(3000, 'a') + "\"}"), 413);
    }
}

TEST(Config, AnInvalidValueStopsTheServerWithAMessageNamingTheKey) {
    TempDir dir;
    struct Case {
        std::string what;
        std::vector<std::string> args;
        Env env;
        std::string key;  // must appear in the message
    };
    const auto unknown_key = write_file(dir.path() / "unknown.toml", "[limits]\nmax_bodybytes = 5\n");
    const auto bad_type = write_file(dir.path() / "badtype.toml", "[limits]\nmax_connections = \"many\"\n");
    const auto bad_toml = write_file(dir.path() / "broken.toml", "[limits\nmax_connections = = 3\n");
    const std::vector<Case> cases = {
        {"--set size abc", {"--set", "limits.max_body_bytes=abc"}, {}, "limits.max_body_bytes"},
        {"--set duration", {"--set", "limits.header_timeout=soon"}, {}, "limits.header_timeout"},
        {"--set boolean", {"--set", "server.secure_cookies=perhaps"}, {}, "server.secure_cookies"},
        {"--set unknown key", {"--set", "limits.no_such_limit=1"}, {}, "limits.no_such_limit"},
        {"--set out of range", {"--set", "feed.page_size=1000"}, {}, "feed.page_size"},
        {"--set zero connections", {"--set", "limits.max_connections=0"}, {}, "limits.max_connections"},
        {"env negative", {}, {{"PHOTOSHARE_LIMITS_MAX_CONNECTIONS", "-5"}}, "limits.max_connections"},
        {"env bad duration", {}, {{"PHOTOSHARE_LIMITS_IDLE_TIMEOUT", "forever"}}, "limits.idle_timeout"},
        {"env bad log level", {}, {{"PHOTOSHARE_LOG_LEVEL", "loud"}}, "log.level"},
        {"file unknown key", {"--config", unknown_key.string()}, {}, "limits.max_bodybytes"},
        {"file wrong type", {"--config", bad_type.string()}, {}, "limits.max_connections"},
        {"file not TOML", {"--config", bad_toml.string()}, {}, bad_toml.string()},
        {"missing file", {"--config", (dir.path() / "absent.toml").string()}, {}, "absent.toml"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        const int port = free_port();
        std::vector<std::string> args = {"serve", "--listen", "127.0.0.1:" + std::to_string(port), "--data-dir",
                                         (dir.path() / "data").string()};
        args.insert(args.end(), c.args.begin(), c.args.end());
        auto r = run_photoshare(args, c.env, 20s);
        EXPECT_FALSE(r.timed_out) << "the server started with an invalid configuration:\n" << r.output;
        EXPECT_TRUE(r.status.exited && r.status.code != 0) << r.status.describe() << "\n" << r.output;
        EXPECT_TRUE(contains(r.output, c.key)) << "the message must name '" << c.key << "':\n" << r.output;
    }
}

TEST(Config, KeysAreListed) {
    auto r = run_photoshare({"config", "--keys"});
    ASSERT_TRUE(r.status.ok()) << r.output;
    for (const char* key : {"server.name", "server.listen", "limits.max_header_bytes", "limits.max_body_bytes", "limits.max_upload_bytes",
                            "limits.header_timeout", "limits.body_timeout", "limits.idle_timeout", "limits.max_connections",
                            "database.url", "storage.url", "sessions.url", "cache.url", "feed.page_size", "knobs.latency_ms"})
        EXPECT_TRUE(contains(r.output, key)) << key;
}

TEST(Config, EachCommandOffersOnlyTheFlagsThatMeanSomethingToIt) {
    auto fsck = run_photoshare({"fsck", "--help"});
    EXPECT_TRUE(contains(fsck.output, "--repair")) << fsck.output;
    auto migrate = run_photoshare({"migrate", "--help"});
    for (const auto* r : {&fsck, &migrate}) {
        EXPECT_TRUE(contains(r->output, "--data-dir")) << r->output;
        EXPECT_FALSE(contains(r->output, "--listen")) << "a command that serves nothing has no --listen:\n" << r->output;
        EXPECT_FALSE(contains(r->output, "--name")) << r->output;
    }
    auto serve = run_photoshare({"serve", "--help"});
    EXPECT_TRUE(contains(serve.output, "--listen") && contains(serve.output, "--name")) << serve.output;
    auto knobs = run_photoshare({"knobs", "--help"});
    EXPECT_TRUE(contains(knobs.output, "--url") && contains(knobs.output, "--listen")) << knobs.output;
}
