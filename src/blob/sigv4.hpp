// AWS Signature Version 4, as S3 uses it: header-signed requests and presigned URLs.
// Written once here, small and documented; checked against AWS's published test suite and
// the S3 documentation's worked examples (tests/unit/blob/test_sigv4.cpp) and against the
// AWS SDK for JavaScript on generated requests (tests/sigv4-sdk/).
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codec/sha256.hpp"

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
// '/' kept, no normalisation of "." or ".." segments; "" is "/", and a path without a leading
// '/' gets one). Query parameters are decoded
// name/value pairs. Header names are case-insensitive; `host` must be among them.
struct Request {
    std::string method;
    std::string path;
    std::vector<std::pair<std::string, std::string>> query;
    std::vector<std::pair<std::string, std::string>> headers;
    // Hex SHA-256 of the body, or "UNSIGNED-PAYLOAD". Empty: the hash of an empty body.
    std::string payload_hash;
};

// x-amz-content-sha256 values: the SHA-256 of an empty body, and the marker S3 accepts when the
// body is not hashed (presigned URLs always use it).
inline constexpr std::string_view empty_payload_hash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
inline constexpr std::string_view unsigned_payload = "UNSIGNED-PAYLOAD";

// Lower-case hex SHA-256 of `data`: what Request::payload_hash wants for a body in memory
// (codec/sha256.hpp; named here too because it is part of what a SigV4 caller needs).
using codec::sha256_hex;

// RFC 3986 percent-encoding as SigV4 defines it: unreserved characters kept, everything
// else %XX with upper-case hex; '/' kept when encode_slash is false.
std::string uri_encode(std::string_view in, bool encode_slash);

// "20150830T123600Z" for a time point.
std::string amz_date(std::chrono::system_clock::time_point t);

// The pieces, exposed so that tests can check each against the published vectors.
// canonical_request() puts in only the headers named in `signed_headers` (a ';'-separated list
// of lower-case names, as signed_header_names() returns); it throws std::invalid_argument when a
// named header is not in req.headers. Repeated headers are joined with ',' in order.
std::string canonical_request(const Request& req, std::string_view signed_headers);
std::string signed_header_names(const Request& req);  // "host;x-amz-date"
std::string string_to_sign(std::string_view canonical_request, std::string_view amz_date, const Scope& scope);
// `date` is "YYYYMMDD"; a full amz date is accepted too (only its first 8 characters count).
std::string signing_key(std::string_view secret, std::string_view date, const Scope& scope);  // raw bytes
std::string signature(std::string_view secret, std::string_view string_to_sign, std::string_view date, const Scope& scope);  // hex
// "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=..."
// (", " between the parts, as AWS's test suite and the AWS SDKs write it; S3 accepts "," too).
std::string authorization(const Credentials& credentials, std::string_view amz_date, const Scope& scope,
                          std::string_view signed_headers, std::string_view signature);

// Adds x-amz-date, x-amz-content-sha256 (S3 requires it; the value is req.payload_hash, or the
// empty-body hash), x-amz-security-token (with a session token) and Authorization to req.headers,
// and signs every header in req.headers. Any of these four already present (in any case) is
// replaced first, so a request can be signed again, e.g. before a retry. Give it only headers
// that reach S3 as they are (not one a proxy or the HTTP library may add or rewrite).
// Throws std::invalid_argument when req.headers has no host.
void sign(Request& req, const Credentials& credentials, const Scope& scope, std::chrono::system_clock::time_point now);

// A presigned URL for req (method, path, query, host header): "https://host/path?...&X-Amz-Signature=...".
// `scheme` is "https" or "http" (for a local S3 such as s3rver). Only host is signed (other
// headers and req.payload_hash are ignored; the payload is UNSIGNED-PAYLOAD). The query is the
// canonical query (req.query plus X-Amz-*, sorted), then X-Amz-Signature.
// Throws std::invalid_argument when expires is outside 1..604800 s (S3's limit is 7 days) or
// req.headers has no host.
std::string presign(const Request& req, const Credentials& credentials, const Scope& scope,
                    std::chrono::system_clock::time_point now, std::chrono::seconds expires, std::string_view scheme = "https");

}  // namespace photoshare::blob::sigv4
