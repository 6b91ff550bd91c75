// AWS Signature Version 4, the S3 way. Each step below follows AWS's description of it:
//   general algorithm   https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
//   S3, header auth     https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
//   S3, presigned URL   https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
// S3 differs from other services in two places, both marked "S3:" below: the path is encoded
// once and never normalised, and x-amz-content-sha256 is required.
// SHA-256 (codec/sha256.hpp) and HMAC-SHA256 come from libsodium, which the project links
// already; hex and URI-encoding from codec/ too.
#include "blob/sigv4.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <stdexcept>

#include "codec/hex.hpp"
#include "codec/percent.hpp"
#include "codec/sha256.hpp"
#include "codec/sodium.hpp"

namespace photoshare::blob::sigv4 {
namespace {

constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view scope_terminator = "aws4_request";
constexpr std::chrono::seconds max_presign_expiry{604800};  // S3 refuses more than 7 days

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](char c) { return ascii_lower(c); });
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

// Canonical header values: "remove excess white space before and after values, and convert
// sequential spaces to a single space". White space here is SP, HTAB, CR and LF, as the AWS
// SDKs read it (a tab or a line break counts as a space, and a run of them becomes one space).
std::string trim_and_collapse(std::string_view value) {
    auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    std::string out;
    out.reserve(value.size());
    bool pending_space = false;
    for (char c : value) {
        if (is_space(c)) {
            pending_space = !out.empty();  // leading white space is dropped
        } else {
            if (pending_space) {
                out += ' ';
                pending_space = false;
            }
            out += c;
        }
    }
    return out;  // trailing white space was never written
}

// Canonical headers keyed by lower-case name. std::map orders the names by byte value, which is
// the order the spec requires. A header given several times keeps one entry whose value is the
// trimmed values joined with ',' in the order given (the test suite's get-header-key-duplicate).
std::map<std::string, std::string> canonical_header_map(const Request& req) {
    std::map<std::string, std::string> headers;
    for (const auto& [name, value] : req.headers) {
        auto [it, inserted] = headers.try_emplace(ascii_lower(name), trim_and_collapse(value));
        if (!inserted) {
            it->second += ',';
            it->second += trim_and_collapse(value);
        }
    }
    return headers;
}

const std::string* find_header(const std::map<std::string, std::string>& headers, std::string_view lower_name) {
    auto it = headers.find(std::string(lower_name));
    return it == headers.end() ? nullptr : &it->second;
}

// S3: the canonical URI is the path with each segment URI-encoded once ('/' kept), exactly as
// the object key is spelled: no removal of empty, "." or ".." segments (a key may contain
// "a//b" or "../x", and normalising it would sign a different object). An empty path is "/".
std::string canonical_uri(std::string_view path) {
    if (path.empty()) {
        return "/";
    }
    std::string uri = path.front() == '/' ? std::string() : std::string("/");
    uri += uri_encode(path, false);
    return uri;
}

// Canonical query: every name and value URI-encoded ('/' too), sorted by encoded name and, for
// a repeated name, by encoded value; "name=value" pairs joined by '&'. A parameter without a
// value ("?lifecycle") is written "lifecycle=". Sorting the encoded strings, not the decoded
// ones, is what the spec says, and it matters: '%' sorts before letters.
std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query) {
    std::vector<std::pair<std::string, std::string>> encoded;
    encoded.reserve(query.size());
    for (const auto& [name, value] : query) {
        encoded.emplace_back(uri_encode(name, true), uri_encode(value, true));
    }
    std::sort(encoded.begin(), encoded.end());  // by name, then by value; bytes compare unsigned
    std::string out;
    for (const auto& [name, value] : encoded) {
        if (!out.empty()) {
            out += '&';
        }
        out += name;
        out += '=';
        out += value;
    }
    return out;
}

// "20130524/us-east-1/s3/aws4_request": the credential scope names the day, region and service
// the signature is valid for.
std::string credential_scope(std::string_view date, const Scope& scope) {
    std::string out(date.substr(0, 8));
    out += '/';
    out += scope.region;
    out += '/';
    out += scope.service;
    out += '/';
    out += scope_terminator;
    return out;
}

std::string_view effective_payload_hash(const Request& req) {
    return req.payload_hash.empty() ? empty_payload_hash : std::string_view(req.payload_hash);
}

std::string host_header(const Request& req) {
    // Every SigV4 request signs Host; without it the signature cannot match what S3 receives.
    const auto headers = canonical_header_map(req);
    const std::string* host = find_header(headers, "host");
    if (host == nullptr || host->empty()) {
        throw std::invalid_argument("sigv4: the request has no host header");
    }
    return *host;
}

}  // namespace

// URI-encode as SigV4 defines it (RFC 3986): the unreserved characters A-Z a-z 0-9 '-' '.' '_'
// '~' stay; every other byte, including each byte of a UTF-8 sequence, becomes %XX with
// upper-case hex. A space is %20, never '+'. '/' stays only in paths (encode_slash false).
std::string uri_encode(std::string_view in, bool encode_slash) { return codec::percent_encode(in, !encode_slash); }

// ISO 8601 basic format in UTC, whole seconds: the X-Amz-Date of the request.
std::string amz_date(std::chrono::system_clock::time_point t) {
    using namespace std::chrono;
    const auto secs = floor<seconds>(t);
    const auto day = floor<days>(secs);
    const year_month_day ymd{day};
    const hh_mm_ss hms{secs - day};
    char buf[32];
    const int n = std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                                static_cast<int>(hms.seconds().count()));
    if (n < 0 || static_cast<std::size_t>(n) >= sizeof buf) {
        throw std::logic_error("sigv4: cannot format the request date");
    }
    return {buf, static_cast<std::size_t>(n)};
}

std::string signed_header_names(const Request& req) {
    // The lower-case names of the signed headers, sorted, joined by ';'.
    std::string out;
    for (const auto& entry : canonical_header_map(req)) {
        if (!out.empty()) {
            out += ';';
        }
        out += entry.first;
    }
    return out;
}

// CanonicalRequest =
//   Method \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n PayloadHash
// where CanonicalHeaders is one "name:value\n" line per signed header (hence the blank line
// before SignedHeaders). The method is taken as given (upper case).
std::string canonical_request(const Request& req, std::string_view signed_headers) {
    const auto headers = canonical_header_map(req);
    std::string out = req.method;
    out += '\n';
    out += canonical_uri(req.path);
    out += '\n';
    out += canonical_query(req.query);
    out += '\n';
    std::string_view previous;
    for (std::string_view rest = signed_headers; !rest.empty();) {
        const auto end = rest.find(';');
        const std::string_view name = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
        // The list must be what signed_header_names() produces: the canonical headers are
        // written in its order and the spec requires that order to be sorted.
        if (name.empty() || name <= previous || name != ascii_lower(name)) {
            throw std::invalid_argument("sigv4: signed headers must be sorted, unique, lower-case names");
        }
        previous = name;
        const std::string* value = find_header(headers, name);
        if (value == nullptr) {
            throw std::invalid_argument("sigv4: signed header '" + std::string(name) + "' is not in the request");
        }
        out += name;
        out += ':';
        out += *value;
        out += '\n';
    }
    out += '\n';
    out += signed_headers;
    out += '\n';
    out += effective_payload_hash(req);
    return out;
}

// StringToSign = "AWS4-HMAC-SHA256" \n AmzDate \n Scope \n hex(SHA256(CanonicalRequest)).
std::string string_to_sign(std::string_view canonical_request, std::string_view amz_date, const Scope& scope) {
    std::string out(algorithm);
    out += '\n';
    out += amz_date;
    out += '\n';
    out += credential_scope(amz_date, scope);
    out += '\n';
    out += codec::sha256_hex(canonical_request);
    return out;
}

// The signing key is derived from the secret by an HMAC chain over the scope, so a leaked key
// is only good for one day, region and service:
//   kDate = HMAC("AWS4" + secret, YYYYMMDD); kRegion = HMAC(kDate, region);
//   kService = HMAC(kRegion, service); kSigning = HMAC(kService, "aws4_request").
std::string signing_key(std::string_view secret, std::string_view date, const Scope& scope) {
    std::string key = "AWS4";
    key += secret;
    std::string k = codec::hmac_sha256(key, date.substr(0, 8));
    sodium_memzero(key.data(), key.size());
    k = codec::hmac_sha256(k, scope.region);
    k = codec::hmac_sha256(k, scope.service);
    return codec::hmac_sha256(k, scope_terminator);
}

// Signature = hex(HMAC(kSigning, StringToSign)).
std::string signature(std::string_view secret, std::string_view string_to_sign, std::string_view date,
                      const Scope& scope) {
    std::string key = signing_key(secret, date, scope);
    const std::string mac = codec::hmac_sha256(key, string_to_sign);
    sodium_memzero(key.data(), key.size());
    return codec::to_hex(mac);
}

std::string authorization(const Credentials& credentials, std::string_view amz_date, const Scope& scope,
                          std::string_view signed_headers, std::string_view signature) {
    std::string out(algorithm);
    out += " Credential=";
    out += credentials.access_key_id;
    out += '/';
    out += credential_scope(amz_date, scope);
    out += ", SignedHeaders=";
    out += signed_headers;
    out += ", Signature=";
    out += signature;
    return out;
}

void sign(Request& req, const Credentials& credentials, const Scope& scope, std::chrono::system_clock::time_point now) {
    host_header(req);  // throws without one
    // Headers that signing writes are replaced, not duplicated: a request signed again (a retry,
    // a later time) must not carry the old date or signature as a second value.
    std::erase_if(req.headers, [](const auto& header) {
        return iequals(header.first, "authorization") || iequals(header.first, "x-amz-date") ||
               iequals(header.first, "x-amz-content-sha256") || iequals(header.first, "x-amz-security-token");
    });
    const std::string date = amz_date(now);
    req.headers.emplace_back("x-amz-date", date);
    // S3: every header-signed request states its payload hash in x-amz-content-sha256 (or
    // UNSIGNED-PAYLOAD), and that same value ends the canonical request.
    req.headers.emplace_back("x-amz-content-sha256", std::string(effective_payload_hash(req)));
    // Temporary credentials: the session token travels in x-amz-security-token and is signed
    // like any other header (the test suite's post-sts-header-before).
    if (!credentials.session_token.empty()) {
        req.headers.emplace_back("x-amz-security-token", credentials.session_token);
    }
    const std::string names = signed_header_names(req);
    const std::string sts = string_to_sign(canonical_request(req, names), date, scope);
    const std::string sig = signature(credentials.secret_access_key, sts, date, scope);
    req.headers.emplace_back("Authorization", authorization(credentials, date, scope, names, sig));
}

std::string presign(const Request& req, const Credentials& credentials, const Scope& scope,
                    std::chrono::system_clock::time_point now, std::chrono::seconds expires, std::string_view scheme) {
    if (expires < std::chrono::seconds{1} || expires > max_presign_expiry) {
        throw std::invalid_argument("sigv4: a presigned URL must expire in 1 to 604800 seconds, not " +
                                    std::to_string(expires.count()));
    }
    const std::string host = host_header(req);
    const std::string date = amz_date(now);

    // What a presigned URL signs: the method, the path, the query including the X-Amz-*
    // parameters below (all but the signature itself), and the host header only. The body is
    // not known when the URL is made, so the payload is UNSIGNED-PAYLOAD.
    Request signed_part;
    signed_part.method = req.method;
    signed_part.path = req.path;
    signed_part.query = req.query;
    signed_part.query.emplace_back("X-Amz-Algorithm", std::string(algorithm));
    signed_part.query.emplace_back("X-Amz-Credential", credentials.access_key_id + "/" + credential_scope(date, scope));
    signed_part.query.emplace_back("X-Amz-Date", date);
    signed_part.query.emplace_back("X-Amz-Expires", std::to_string(expires.count()));
    signed_part.query.emplace_back("X-Amz-SignedHeaders", "host");
    // S3: the session token is a query parameter and is part of the signed query.
    if (!credentials.session_token.empty()) {
        signed_part.query.emplace_back("X-Amz-Security-Token", credentials.session_token);
    }
    signed_part.headers.emplace_back("host", host);
    signed_part.payload_hash = std::string(unsigned_payload);

    const std::string sts = string_to_sign(canonical_request(signed_part, "host"), date, scope);
    const std::string sig = signature(credentials.secret_access_key, sts, date, scope);

    // The URL's path and query are the canonical ones, so what S3 recomputes from the URL is
    // exactly what was signed; X-Amz-Signature is appended last.
    std::string url(scheme);
    url += "://";
    url += host;
    url += canonical_uri(req.path);
    url += '?';
    url += canonical_query(signed_part.query);
    url += "&X-Amz-Signature=";
    url += sig;
    return url;
}

}  // namespace photoshare::blob::sigv4
