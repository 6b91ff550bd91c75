// Where the S3 store's credentials come from, in the usual order:
//   1. the configuration (access_key_id / secret_access_key / session_token on the s3:// URL);
//   2. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN;
//   3. the EC2 instance role, through the instance metadata service (IMDSv2: a session
//      token first, then the role's temporary credentials), cached and refreshed a few
//      minutes before they expire.
// The first source that has an access key wins, once, when the store is opened; the
// instance role is asked only when the store first needs credentials. No secret ever
// appears in a message.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "blob/http_client.hpp"
#include "blob/sigv4.hpp"

namespace photoshare::blob::credentials {

class Provider {
public:
    virtual ~Provider() = default;
    // Credentials valid now. Throws blob::Unavailable when none can be had.
    virtual sigv4::Credentials get() = 0;
    // The store was told its credentials expired (ExpiredToken): fetch anew next time.
    virtual void invalidate() {}
    // "configuration", "environment", "instance role (IMDSv2)": for describe() and messages.
    virtual std::string source() const = 0;
};

// Fixed credentials (configuration or environment).
std::shared_ptr<Provider> fixed(sigv4::Credentials credentials, std::string source);

// The instance role through IMDSv2 at `endpoint` ("http://169.254.169.254" unless
// AWS_EC2_METADATA_SERVICE_ENDPOINT says otherwise). `now` is the clock that expiry is
// measured against (tests move it).
class InstanceRole final : public Provider {
public:
    using Clock = std::function<std::chrono::system_clock::time_point()>;
    struct Options {
        std::string endpoint;                                    // scheme://host[:port]
        std::chrono::milliseconds timeout{1000};                 // each request, connect included
        std::chrono::seconds refresh_before{5 * 60};             // refresh this long before Expiration
        std::chrono::seconds token_ttl{6 * 60 * 60};             // of the IMDSv2 session token
        Clock now = [] { return std::chrono::system_clock::now(); };
    };
    explicit InstanceRole(Options options);

    sigv4::Credentials get() override;
    void invalidate() override;
    std::string source() const override { return "instance role (IMDSv2 at " + options_.endpoint + ")"; }

    // The endpoint from AWS_EC2_METADATA_SERVICE_ENDPOINT, or the link-local default.
    static std::string default_endpoint();

private:
    // One request to the metadata service, with its timeouts and no proxy; a request that
    // gets no answer throws Unavailable, `advice` appended to the message.
    http::Response call(http::Request req, const std::string& advice);
    std::string token();                   // cached IMDSv2 session token
    std::string fetch(const std::string& path, bool retry_on_401);
    void refresh();

    Options options_;
    std::mutex mutex_;  // held while fetching: one fetch at a time, others wait for it
    sigv4::Credentials cached_;
    std::chrono::system_clock::time_point expiration_{};
    std::string token_;
    std::chrono::system_clock::time_point token_expiration_{};
};

// The chain above. `configured` is what the URL said (empty access key: nothing).
// Throws std::invalid_argument when a source is half there (a key without its secret).
std::shared_ptr<Provider> chain(const sigv4::Credentials& configured);

// "2024-05-01T12:34:56Z" (ISO 8601 UTC, fractional seconds allowed) as a time point;
// nullopt when malformed.
std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);

}  // namespace photoshare::blob::credentials
