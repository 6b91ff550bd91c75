// AWS Signature Version 4, as S3 uses it: header-signed requests and presigned URLs.
// Written once here, small and documented; checked against AWS's published test suite and
// the S3 documentation's worked examples (tests/unit/blob/test_sigv4.cpp) and against the
// AWS SDK for JavaScript on generated requests (tests/sigv4-sdk/).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace photoshare::blob::sigv4 {

struct Credentials {
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;  // temporary credentials (instance role, STS); empty otherwise
};

struct Scope {
    std::string region;             // "us-east-1"
    std::string service = "s3";
};

// A request to sign. `path` is the decoded object path ("/bucket/my key.jpg" or "/my key.jpg"
// for virtual-host style); encoding is done here, the S3 way (each segment URI-encoded once,
// '/' kept, no normalisation of "." or ".." segments). Query parameters are decoded
// name/value pairs. Header names are case-insensitive; `host` must be among them.
struct Request {
    std::string method;
    std::string path;
    std::vector<std::pair<std::string, std::string>> query;
    std::vector<std::pair<std::string, std::string>> headers;
    // Hex SHA-256 of the body, or "UNSIGNED-PAYLOAD". Empty: the hash of an empty body.
    std::string payload_hash;
};

// RFC 3986 percent-encoding as SigV4 defines it: unreserved characters kept, everything
// else %XX with upper-case hex; '/' kept when encode_slash is false.
std::string uri_encode(std::string_view in, bool encode_slash);

// "20150830T123600Z" for a time point.
std::string amz_date(std::chrono::system_clock::time_point t);

// The pieces, exposed so that tests can check each against the published vectors.
std::string canonical_request(const Request& req, std::string_view signed_headers);
std::string signed_header_names(const Request& req);  // "host;x-amz-date"
std::string string_to_sign(std::string_view canonical_request, std::string_view amz_date, const Scope& scope);
std::string signing_key(std::string_view secret, std::string_view date, const Scope& scope);  // raw bytes
std::string signature(std::string_view secret, std::string_view string_to_sign, std::string_view date, const Scope& scope);  // hex

// Adds x-amz-date, x-amz-content-sha256 (S3 requires it), x-amz-security-token (with a session
// token) and Authorization to req.headers.
void sign(Request& req, const Credentials& credentials, const Scope& scope, std::chrono::system_clock::time_point now);

// A presigned URL for req (method, path, query, host header): "https://host/path?...&X-Amz-Signature=...".
// `scheme` is "https" or "http" (for a local S3 such as s3rver).
std::string presign(const Request& req, const Credentials& credentials, const Scope& scope,
                    std::chrono::system_clock::time_point now, std::chrono::seconds expires, std::string_view scheme = "https");

}  // namespace photoshare::blob::sigv4
