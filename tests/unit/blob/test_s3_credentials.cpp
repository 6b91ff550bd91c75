// The credential chain: configuration, then environment, then the EC2 instance role through
// IMDSv2. AWS's metadata service cannot run here, so a fake stands in for it; like the real
// one it hands out session tokens on PUT and refuses any GET without a valid one.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>

#include "blob/blob.hpp"
#include "blob/credentials.hpp"
#include "blob/s3.hpp"
#include "s3_support.hpp"
#include "support/http_client.hpp"
#include "support/ports.hpp"

namespace photoshare::blob {
namespace {

using namespace std::chrono_literals;
using testing::FakeHttpServer;
using testing::FakeReply;
using testing::FakeRequest;
using testing::ScopedEnv;
using Clock = std::chrono::system_clock;

std::string iso8601(Clock::time_point t) {
    const std::time_t tt = Clock::to_time_t(t);
    std::tm tm{};
    ::gmtime_r(&tt, &tm);
    char buf[32];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (n == 0) throw std::runtime_error("strftime: the date does not fit");
    return {buf, n};
}

// IMDSv2 as EC2 serves it, for the paths the chain uses.
class FakeImds {
public:
    FakeImds()
        : server_([this](const FakeRequest& r) { return answer(r); }) {}

    std::string endpoint() const { return server_.endpoint(); }
    const FakeHttpServer& server() const { return server_; }

    // What the role's credentials are now: "ASIA-n" / "secret-n" / "session-n", expiring
    // `lifetime` after `now()`.
    std::function<Clock::time_point()> now = [] { return Clock::now(); };
    std::chrono::seconds lifetime{3600};
    std::atomic<int> generation{1};
    std::atomic<bool> role_attached{true};
    std::atomic<bool> broken{false};  // answers 500 to everything
    std::atomic<bool> rotate{false};  // each fetch of the credentials moves to the next generation

    void revoke_tokens() {
        std::lock_guard lock(mutex_);
        tokens_.clear();
    }
    int tokens_issued() const { return issued_; }
    int credential_fetches() const { return fetches_; }
    int refused_without_token() const { return refused_; }

private:
    FakeReply answer(const FakeRequest& r) {
        if (broken) return FakeReply{.status = 500};
        if (r.target == "/latest/api/token") {
            if (r.method != "PUT") return FakeReply{.status = 405};
            const std::string ttl = r.header("x-aws-ec2-metadata-token-ttl-seconds");
            if (ttl.empty() || std::stoi(ttl) < 1 || std::stoi(ttl) > 21600) return FakeReply{.status = 400};
            std::lock_guard lock(mutex_);
            const std::string token = "token-" + std::to_string(++issued_) + "-AQAEAG";
            tokens_.insert(token);
            return FakeReply{.status = 200, .headers = {{"X-aws-ec2-metadata-token-ttl-seconds", ttl}}, .body = token};
        }
        {
            std::lock_guard lock(mutex_);
            if (!tokens_.count(r.header("x-aws-ec2-metadata-token"))) {
                ++refused_;
                return FakeReply{.status = 401};
            }
        }
        const std::string base = "/latest/meta-data/iam/security-credentials/";
        if (r.target == base) {
            if (!role_attached) return FakeReply{.status = 404};
            return FakeReply{.status = 200, .body = "photoshare-role"};
        }
        if (r.target == base + "photoshare-role" && role_attached) {
            ++fetches_;
            const std::string n = std::to_string(rotate ? generation++ : generation.load());
            return FakeReply{.status = 200,
                             .body = "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"2024-05-01T10:00:00Z\",\n"
                                     "  \"Type\" : \"AWS-HMAC\",\n  \"AccessKeyId\" : \"ASIA-" + n + "\",\n"
                                     "  \"SecretAccessKey\" : \"secret\\/" + n + "\",\n  \"Token\" : \"session-" + n + "\",\n"
                                     "  \"Expiration\" : \"" + iso8601(now() + lifetime) + "\"\n}"};
        }
        return FakeReply{.status = 404};
    }

    std::mutex mutex_;
    std::set<std::string> tokens_;
    int issued_ = 0;
    std::atomic<int> fetches_{0};
    std::atomic<int> refused_{0};
    FakeHttpServer server_;  // last: stopped first, while the state it uses still exists
};

// An S3 that accepts everything and remembers who signed.
class FakeS3 {
public:
    FakeS3() : server_([](const FakeRequest&) { return FakeReply{.status = 200, .body = "object"}; }) {}
    std::string url(const std::string& extra = "") const {
        return "s3://bucket?endpoint=" + server_.endpoint() + "&path_style=true" + extra;
    }
    std::string last_key_id() const {
        const auto r = server_.requests();
        if (r.empty()) return "";
        const std::string auth = r.back().header("authorization");
        const auto start = auth.find("Credential=");
        if (start == std::string::npos) return "";
        return auth.substr(start + 11, auth.find('/', start) - start - 11);
    }
    std::string last_session_token() const {
        const auto r = server_.requests();
        return r.empty() ? "" : r.back().header("x-amz-security-token");
    }
    const FakeHttpServer& server() const { return server_; }

private:
    FakeHttpServer server_;
};

struct NoEnvironmentCredentials {
    ScopedEnv id{"AWS_ACCESS_KEY_ID", std::nullopt};
    ScopedEnv secret{"AWS_SECRET_ACCESS_KEY", std::nullopt};
    ScopedEnv token{"AWS_SESSION_TOKEN", std::nullopt};
    ScopedEnv disabled{"AWS_EC2_METADATA_DISABLED", std::nullopt};
};

std::string unavailable_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Unavailable& e) {
        return e.what();
    }
    return "no Unavailable";
}

TEST(S3Credentials, TheUrlBeatsTheEnvironment) {
    NoEnvironmentCredentials clean;
    ScopedEnv id("AWS_ACCESS_KEY_ID", "ENV-KEY");
    ScopedEnv secret("AWS_SECRET_ACCESS_KEY", "env-secret");
    FakeS3 s3;
    auto store = open(s3.url("&access_key_id=URL-KEY&secret_access_key=url-secret&session_token=url-session"));
    EXPECT_NE(store->describe().find("credentials from configuration"), std::string::npos);
    store->get("a.jpg");
    EXPECT_EQ(s3.last_key_id(), "URL-KEY");
    EXPECT_EQ(s3.last_session_token(), "url-session");
}

TEST(S3Credentials, TheEnvironmentBeatsTheInstanceRole) {
    NoEnvironmentCredentials clean;
    FakeImds imds;
    ScopedEnv endpoint("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint());
    ScopedEnv id("AWS_ACCESS_KEY_ID", "ENV-KEY");
    ScopedEnv secret("AWS_SECRET_ACCESS_KEY", "env-secret");
    ScopedEnv token("AWS_SESSION_TOKEN", "env-session");
    FakeS3 s3;
    auto store = open(s3.url());
    EXPECT_NE(store->describe().find("credentials from environment"), std::string::npos);
    store->get("a.jpg");
    EXPECT_EQ(s3.last_key_id(), "ENV-KEY");
    EXPECT_EQ(s3.last_session_token(), "env-session");
    EXPECT_EQ(imds.server().count(), 0u);
}

TEST(S3Credentials, HalfSetEnvironmentIsRefused) {
    NoEnvironmentCredentials clean;
    ScopedEnv id("AWS_ACCESS_KEY_ID", "ENV-KEY");
    EXPECT_THROW(open("s3://bucket"), std::invalid_argument);
}

TEST(S3Credentials, TheInstanceRoleThroughImdsV2) {
    NoEnvironmentCredentials clean;
    FakeImds imds;
    ScopedEnv endpoint("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint());
    FakeS3 s3;
    auto store = open(s3.url());
    EXPECT_EQ(imds.server().count(), 0u) << "opening contacts nothing";
    EXPECT_NE(store->describe().find("credentials from instance role (IMDSv2 at " + imds.endpoint() + ")"), std::string::npos)
        << store->describe();
    EXPECT_EQ(store->get("a.jpg"), "object");
    EXPECT_EQ(s3.last_key_id(), "ASIA-1");
    EXPECT_EQ(s3.last_session_token(), "session-1");
    const auto asked = imds.server().requests();
    ASSERT_EQ(asked.size(), 3u);
    EXPECT_EQ(asked[0].method, "PUT");
    EXPECT_EQ(asked[0].target, "/latest/api/token");
    EXPECT_EQ(asked[0].header("x-aws-ec2-metadata-token-ttl-seconds"), "21600");
    EXPECT_EQ(asked[1].target, "/latest/meta-data/iam/security-credentials/");
    EXPECT_EQ(asked[2].target, "/latest/meta-data/iam/security-credentials/photoshare-role");
    EXPECT_EQ(imds.refused_without_token(), 0);

    // Cached: more requests, from several threads, ask the metadata service nothing more.
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) threads.emplace_back([&] { store->exists("b.jpg"); });
    for (auto& t : threads) t.join();
    EXPECT_EQ(imds.server().count(), 3u);
    EXPECT_EQ(s3.last_key_id(), "ASIA-1");

    // Presigned URLs carry the session token.
    const auto url = store->presigned_url("a.jpg", 60s);
    ASSERT_TRUE(url);
    EXPECT_NE(url->find("X-Amz-Security-Token=session-1"), std::string::npos) << *url;
    EXPECT_NE(url->find("X-Amz-Credential=ASIA-1%2F"), std::string::npos) << *url;
}

TEST(S3Credentials, TheFakeRefusesRequestsWithoutAToken) {
    FakeImds imds;
    const auto r = pstest::HttpClient(imds.endpoint()).get("/latest/meta-data/iam/security-credentials/");
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(imds.refused_without_token(), 1);
}

TEST(S3Credentials, RefreshedBeforeTheyExpire) {
    FakeImds imds;
    std::mutex clock_mutex;
    Clock::time_point fake_now = Clock::now();
    auto now = [&] {
        std::lock_guard lock(clock_mutex);
        return fake_now;
    };
    auto advance = [&](std::chrono::seconds by) {
        std::lock_guard lock(clock_mutex);
        fake_now += by;
    };
    imds.now = now;
    imds.lifetime = 15min;
    credentials::InstanceRole role({.endpoint = imds.endpoint(), .now = now});

    EXPECT_EQ(role.get().access_key_id, "ASIA-1");
    EXPECT_EQ(role.get().secret_access_key, "secret/1");
    EXPECT_EQ(imds.credential_fetches(), 1);

    imds.generation = 2;
    advance(9min);  // 6 minutes left: still good
    EXPECT_EQ(role.get().access_key_id, "ASIA-1");
    EXPECT_EQ(imds.credential_fetches(), 1);

    advance(2min);  // 4 minutes left: inside the refresh window
    EXPECT_EQ(role.get().access_key_id, "ASIA-2");
    EXPECT_EQ(role.get().session_token, "session-2");
    EXPECT_EQ(imds.credential_fetches(), 2);
    EXPECT_EQ(imds.tokens_issued(), 1) << "the session token lasts six hours";

    // The metadata service fails during the refresh window: the old credentials still work...
    imds.broken = true;
    imds.generation = 3;
    advance(12min);  // 3 minutes left of ASIA-2's 15
    EXPECT_EQ(role.get().access_key_id, "ASIA-2");
    // ...until they expire.
    advance(4min);
    const std::string error = unavailable_of([&] { role.get(); });
    EXPECT_NE(error.find("instance metadata service"), std::string::npos) << error;

    imds.broken = false;
    EXPECT_EQ(role.get().access_key_id, "ASIA-3");

    // A token past its life is replaced.
    advance(7h);
    EXPECT_EQ(role.get().access_key_id, "ASIA-3");
    EXPECT_EQ(imds.tokens_issued(), 2);
}

TEST(S3Credentials, ARevokedTokenIsReplaced) {
    FakeImds imds;
    credentials::InstanceRole role({.endpoint = imds.endpoint()});
    EXPECT_EQ(role.get().access_key_id, "ASIA-1");
    imds.revoke_tokens();
    imds.generation = 2;
    role.invalidate();  // as after S3 said ExpiredToken
    EXPECT_EQ(role.get().access_key_id, "ASIA-2");
    EXPECT_EQ(imds.tokens_issued(), 2);
    EXPECT_EQ(imds.refused_without_token(), 1);
}

TEST(S3Credentials, ExpiredTokenFromS3FetchesNewCredentials) {
    NoEnvironmentCredentials clean;
    FakeImds imds;
    ScopedEnv endpoint("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint());
    FakeHttpServer s3([](const FakeRequest& r) {
        if (r.header("x-amz-security-token") == "session-1") {
            return FakeReply{.status = 400, .body = testing::s3_error("ExpiredToken", "The provided token has expired.")};
        }
        return FakeReply{.status = 200, .body = "fresh"};
    });
    imds.rotate = true;
    auto store = open("s3://bucket?endpoint=" + s3.endpoint() + "&path_style=true");
    EXPECT_NO_THROW(store->check());
    const auto requests = s3.requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[0].header("x-amz-security-token"), "session-1");
    EXPECT_EQ(requests[1].header("x-amz-security-token"), "session-2");
    EXPECT_EQ(imds.credential_fetches(), 2);
}

TEST(S3Credentials, NoRoleAttachedIsSaidSo) {
    NoEnvironmentCredentials clean;
    FakeImds imds;
    imds.role_attached = false;
    ScopedEnv endpoint("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint());
    FakeS3 s3;
    auto store = open(s3.url());
    const std::string error = unavailable_of([&] { store->check(); });
    EXPECT_NE(error.find("no IAM role attached"), std::string::npos) << error;
    EXPECT_NE(error.find("AWS_ACCESS_KEY_ID"), std::string::npos) << error;
    EXPECT_EQ(s3.server().count(), 0u);
}

TEST(S3Credentials, OffEc2TheChainFailsFast) {
    NoEnvironmentCredentials clean;
    FakeS3 s3;
    {
        // Nothing listens: refused at once.
        ScopedEnv endpoint("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:" + std::to_string(pstest::free_port()));
        auto store = open(s3.url());
        std::string error;
        const auto took = testing::timed([&] { error = unavailable_of([&] { store->check(); }); });
        EXPECT_LT(took, 2s);
        EXPECT_NE(error.find("no S3 credentials: the instance metadata service at http://127.0.0.1:"), std::string::npos) << error;
        EXPECT_NE(error.find("not on EC2"), std::string::npos) << error;
    }
    {
        // Something that never answers (a firewall dropping packets looks the same): ~1 s.
        FakeHttpServer silent([](const FakeRequest&) { return FakeReply{.hang = true}; });
        ScopedEnv endpoint("AWS_EC2_METADATA_SERVICE_ENDPOINT", silent.endpoint());
        auto store = open(s3.url());
        std::string error;
        const auto took = testing::timed([&] { error = unavailable_of([&] { store->put("a.jpg", "x", {}); }); });
        EXPECT_LT(took, 2500ms);
        EXPECT_NE(error.find("did not answer"), std::string::npos) << error;
    }
    {
        ScopedEnv disabled("AWS_EC2_METADATA_DISABLED", "true");
        auto store = open(s3.url());
        EXPECT_NE(unavailable_of([&] { store->check(); }).find("AWS_EC2_METADATA_DISABLED"), std::string::npos);
    }
    EXPECT_EQ(s3.server().count(), 0u);
}

TEST(S3Credentials, Iso8601) {
    const auto t = credentials::parse_iso8601("2024-05-01T12:34:56Z");
    ASSERT_TRUE(t);
    EXPECT_EQ(Clock::to_time_t(*t), 1714566896);
    EXPECT_EQ(credentials::parse_iso8601("2024-05-01T12:34:56.123Z"), t);
    EXPECT_EQ(credentials::parse_iso8601("2024-05-01 12:34:56"), std::nullopt);
    EXPECT_EQ(credentials::parse_iso8601("2024-13-01T12:34:56Z"), std::nullopt);
    EXPECT_EQ(credentials::parse_iso8601(""), std::nullopt);
}

}  // namespace
}  // namespace photoshare::blob
