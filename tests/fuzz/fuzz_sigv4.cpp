// SigV4 (blob/sigv4.hpp) on arbitrary requests: the canonical request, header signing and
// presigned URLs never crash and throw nothing but std::invalid_argument, and only for the
// documented reasons; the output is deterministic; the canonical request has the documented
// shape (its URI decodes back to the path, its query back to the parameters, sorted; header
// values trimmed and collapsed); signing again replaces rather than duplicates; a presigned
// URL parses (Boost.URL) back to the same host, path and parameters, plus the X-Amz-* ones.
//
// Input: an HTTP request in the form of AWS's SigV4 test suite (*.req files, which seed the
// run): "METHOD target HTTP/1.1", header lines "Name:value" (a line starting with white space
// repeats the previous header), a blank line, the body. The target's path and query are
// percent-decoded leniently (a bad escape stays as it is), so any byte can reach them.
// Header lines starting with '@' set the other inputs instead of being headers:
//   @time:<seconds since 1970>  @expires:<seconds>  @key: @secret: @token: @region: @service:
//   @scheme:
#include "blob/sigv4.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

namespace sigv4 = photoshare::blob::sigv4;
using Pairs = std::vector<std::pair<std::string, std::string>>;

[[noreturn]] void fail(const char* what) {
    (void)std::fprintf(stderr, "fuzz_sigv4: %s\n", what);
    std::abort();
}

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string lenient_decode(std::string_view in) {
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
            i += 2;
        } else {
            out.push_back(in[i]);
        }
    }
    return out;
}

bool unreserved(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

// Strict decoding of SigV4's encoding: only unreserved characters (and '/' when allowed) and
// %XX with upper-case hex.
std::optional<std::string> strict_decode(std::string_view in, bool slash_allowed) {
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
        const auto c = static_cast<unsigned char>(in[i]);
        if (unreserved(c) || (c == '/' && slash_allowed)) {
            out.push_back(in[i]);
        } else if (c == '%' && i + 2 < in.size()) {
            const char a = in[i + 1], b = in[i + 2];
            if (hex(a) < 0 || hex(b) < 0 || (a >= 'a' && a <= 'f') || (b >= 'a' && b <= 'f')) return std::nullopt;
            out.push_back(static_cast<char>(hex(a) * 16 + hex(b)));
            i += 2;
        } else {
            return std::nullopt;
        }
    }
    return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    for (std::size_t pos = 0;;) {
        std::size_t at = s.find(sep, pos);
        out.push_back(s.substr(pos, at == std::string_view::npos ? at : at - pos));
        if (at == std::string_view::npos) return out;
        pos = at + 1;
    }
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = lower(c);
    return out;
}
bool space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool is_hex64(std::string_view s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

struct Input {
    sigv4::Request req;
    sigv4::Credentials credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
    sigv4::Scope scope{"us-east-1", "s3"};
    std::chrono::system_clock::time_point now = std::chrono::system_clock::time_point(std::chrono::seconds(1440938160));
    long long expires = 86400;
    std::string scheme = "https";
};

long long number(std::string_view s) {
    bool negative = !s.empty() && s.front() == '-';
    if (negative) s.remove_prefix(1);
    long long v = 0;
    for (char c : s.substr(0, 12)) {
        if (c < '0' || c > '9') break;
        v = v * 10 + (c - '0');
    }
    return negative ? -v : v;
}

Input parse(std::string_view text) {
    Input in;
    std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    std::size_t sp = line.find(' ');
    in.req.method = std::string(line.substr(0, sp));
    std::string_view target = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
    if (std::size_t http = target.rfind(" HTTP/"); http != std::string_view::npos) target = target.substr(0, http);
    std::size_t q = target.find('?');
    in.req.path = lenient_decode(target.substr(0, q));
    if (q != std::string_view::npos) {
        for (std::string_view piece : split(target.substr(q + 1), '&')) {
            std::size_t eq = piece.find('=');
            in.req.query.emplace_back(lenient_decode(piece.substr(0, eq)),
                                      eq == std::string_view::npos ? std::string() : lenient_decode(piece.substr(eq + 1)));
        }
    }
    while (!text.empty()) {
        eol = text.find('\n');
        line = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
        if (line.ends_with('\r')) line.remove_suffix(1);
        if (line.empty()) break;  // the body follows
        if ((line.front() == ' ' || line.front() == '\t') && !in.req.headers.empty()) {
            in.req.headers.emplace_back(in.req.headers.back().first, std::string(line));
            continue;
        }
        std::size_t colon = line.find(':');
        std::string_view name = line.substr(0, colon);
        std::string value(colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1));
        if (name == "@time") {
            const long long t = std::clamp(number(value), -9'000'000'000LL, 9'000'000'000LL);  // within time_point's range
            in.now = std::chrono::system_clock::time_point(std::chrono::seconds(t));
        } else if (name == "@expires") {
            in.expires = number(value);
        } else if (name == "@key") {
            in.credentials.access_key_id = value;
        } else if (name == "@secret") {
            in.credentials.secret_access_key = value;
        } else if (name == "@token") {
            in.credentials.session_token = value;
        } else if (name == "@region") {
            in.scope.region = value;
        } else if (name == "@service") {
            in.scope.service = value;
        } else if (name == "@scheme") {
            in.scheme = value;
        } else {
            in.req.headers.emplace_back(std::string(name), std::move(value));
        }
    }
    if (text == "UNSIGNED-PAYLOAD") {
        in.req.payload_hash = std::string(sigv4::unsigned_payload);
    } else if (!text.empty()) {
        in.req.payload_hash = sigv4::sha256_hex(text);
    }
    return in;
}

// Headers as SigV4 sees them: lower-case names, values trimmed and collapsed, repeats joined.
std::string expected_value(std::string_view v) {
    std::string out;
    bool pending = false;
    for (char c : v) {
        if (space(c)) {
            pending = !out.empty();
        } else {
            if (pending) out += ' ';
            pending = false;
            out += c;
        }
    }
    return out;
}

std::optional<std::string> joined_header(const Pairs& headers, std::string_view lower_name) {
    std::optional<std::string> out;
    for (const auto& [name, value] : headers) {
        if (lower(name) != lower_name) continue;
        if (out) {
            *out += ',';
            *out += expected_value(value);
        } else {
            out = expected_value(value);
        }
    }
    return out;
}

std::string expected_path(const std::string& path) { return path.starts_with('/') ? path : "/" + path; }

void check_canonical_request(const Input& in, const std::string& names, const std::string& creq) {
    const auto& req = in.req;
    if (!creq.starts_with(req.method + "\n")) fail("canonical request does not start with the method");
    std::string_view rest = std::string_view(creq).substr(req.method.size() + 1);
    auto take_line = [&rest]() {
        std::size_t nl = rest.find('\n');
        if (nl == std::string_view::npos) fail("canonical request has too few lines");
        std::string_view line = rest.substr(0, nl);
        rest.remove_prefix(nl + 1);
        return line;
    };
    // URI: decodes back to the path.
    const std::string_view uri = take_line();
    auto path = strict_decode(uri, true);
    if (!path) fail("canonical URI is not SigV4-encoded");
    if (*path != expected_path(req.path)) fail("canonical URI does not decode back to the path");

    // Query: every parameter, each part encoded, sorted by encoded name then value.
    const std::string_view query = take_line();
    std::vector<std::pair<std::string_view, std::string_view>> encoded;
    Pairs decoded;
    if (!query.empty()) {
        for (std::string_view piece : split(query, '&')) {
            std::size_t eq = piece.find('=');
            if (eq == std::string_view::npos) fail("query parameter without '='");
            auto name = strict_decode(piece.substr(0, eq), false);
            auto value = strict_decode(piece.substr(eq + 1), false);
            if (!name || !value) fail("query parameter is not SigV4-encoded");
            encoded.emplace_back(piece.substr(0, eq), piece.substr(eq + 1));
            decoded.emplace_back(std::move(*name), std::move(*value));
        }
    }
    if (!std::is_sorted(encoded.begin(), encoded.end())) fail("canonical query is not sorted");
    Pairs given = req.query;
    std::sort(given.begin(), given.end());
    std::sort(decoded.begin(), decoded.end());
    if (given != decoded) fail("canonical query does not decode back to the parameters");

    // Headers, when the names cannot be confused with the separators.
    const bool plain_names = names.find_first_of("\n:") == std::string::npos;
    if (plain_names) {
        for (std::string_view name : names.empty() ? std::vector<std::string_view>{} : split(names, ';')) {
            const std::string_view line = take_line();
            if (!line.starts_with(name) || line.size() <= name.size() || line[name.size()] != ':')
                fail("canonical header line is not name:value");
            const std::string_view value = line.substr(name.size() + 1);
            if (!value.empty() && (space(value.front()) || space(value.back()))) fail("header value not trimmed");
            if (value.find_first_of("\t\r\n") != std::string_view::npos || value.find("  ") != std::string_view::npos)
                fail("header value not collapsed");
            auto expected = joined_header(req.headers, name);
            if (!expected || *expected != value) fail("header value differs from the request's");
        }
        if (take_line() != "") fail("no blank line after the canonical headers");
        if (take_line() != names) fail("signed headers line differs");
        const std::string_view hash = req.payload_hash.empty() ? sigv4::empty_payload_hash : std::string_view(req.payload_hash);
        if (rest != hash) fail("canonical request does not end with the payload hash");
    }
}

void check_amz_date(std::string_view d) {
    if (d.size() != 16 || d[8] != 'T' || d[15] != 'Z') fail("malformed amz date");
    for (std::size_t i : {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14})
        if (d[i] < '0' || d[i] > '9') fail("malformed amz date");
}

bool plain_host(std::string_view host) {
    // A host name (and port) as a configuration would give it: what a URL parser must accept.
    std::size_t colon = host.find(':');
    std::string_view name = host.substr(0, colon);
    if (name.empty()) return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) return false;
    if (colon == std::string_view::npos) return true;
    std::string_view port = host.substr(colon + 1);
    return !port.empty() && port.size() <= 5 && std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 8192) return 0;
    const Input in = parse(std::string_view(reinterpret_cast<const char*>(data), size));
    const auto& req = in.req;

    const std::optional<std::string> host = joined_header(req.headers, "host");
    const bool has_host = host && !host->empty();
    // Names canonical_request() cannot take: empty, or containing the list separator ';'.
    const bool bad_names = std::any_of(req.headers.begin(), req.headers.end(),
                                       [](const auto& h) { return h.first.empty() || h.first.find(';') != std::string::npos; });

    // 1. Canonical request.
    const std::string names = sigv4::signed_header_names(req);
    if (names != sigv4::signed_header_names(req)) fail("signed_header_names is not deterministic");
    try {
        const std::string creq = sigv4::canonical_request(req, names);
        if (creq != sigv4::canonical_request(req, names)) fail("canonical_request is not deterministic");
        check_canonical_request(in, names, creq);
    } catch (const std::invalid_argument&) {
        if (!bad_names) fail("canonical_request refused the names signed_header_names gave");
    }

    // 2. Header signing.
    sigv4::Request signed_once = req;
    try {
        sigv4::sign(signed_once, in.credentials, in.scope, in.now);
        if (!has_host) fail("sign accepted a request without a host");
        // Signing the signed request again at the same time replaces the four headers with
        // the same values (which also shows that signing is deterministic).
        sigv4::Request again = signed_once;
        sigv4::sign(again, in.credentials, in.scope, in.now);
        if (again.headers != signed_once.headers) fail("signing again does not give the same headers");

        const std::string date = sigv4::amz_date(in.now);
        check_amz_date(date);
        int dates = 0, hashes = 0, tokens = 0, auths = 0;
        for (const auto& [name, value] : signed_once.headers) {
            const std::string n = lower(name);
            if (n == "x-amz-date") {
                ++dates;
                if (value != date) fail("x-amz-date is not the signing time");
            } else if (n == "x-amz-content-sha256") {
                ++hashes;
                const std::string_view hash = req.payload_hash.empty() ? sigv4::empty_payload_hash : std::string_view(req.payload_hash);
                if (value != hash) fail("x-amz-content-sha256 is not the payload hash");
            } else if (n == "x-amz-security-token") {
                ++tokens;
                if (value != in.credentials.session_token) fail("x-amz-security-token is not the session token");
            } else if (n == "authorization") {
                ++auths;
            }
        }
        if (dates != 1 || hashes != 1 || auths != 1 || tokens != (in.credentials.session_token.empty() ? 0 : 1))
            fail("signing headers missing or repeated");
        const auto& auth = signed_once.headers.back();
        if (auth.first != "Authorization") fail("Authorization is not the last header");
        const std::string prefix = "AWS4-HMAC-SHA256 Credential=" + in.credentials.access_key_id + "/" + date.substr(0, 8) +
                                   "/" + in.scope.region + "/" + in.scope.service + "/aws4_request, SignedHeaders=";
        std::vector<std::pair<std::string, std::string>> without_auth(signed_once.headers.begin(), signed_once.headers.end() - 1);
        sigv4::Request signed_part = signed_once;
        signed_part.headers = without_auth;
        const std::string signed_names = sigv4::signed_header_names(signed_part);
        const std::string expected_start = prefix + signed_names + ", Signature=";
        if (!auth.second.starts_with(expected_start) || !is_hex64(std::string_view(auth.second).substr(expected_start.size())))
            fail("malformed Authorization");
        // The signature is the documented chain over the documented canonical request.
        const std::string sts = sigv4::string_to_sign(sigv4::canonical_request(signed_part, signed_names), date, in.scope);
        if (auth.second.substr(expected_start.size()) != sigv4::signature(in.credentials.secret_access_key, sts, date, in.scope))
            fail("Authorization signature differs from the one computed step by step");
    } catch (const std::invalid_argument&) {
        if (has_host && !bad_names) fail("sign refused a request with a host and plain header names");
    }

    // 3. Presigned URL.
    const bool expires_ok = in.expires >= 1 && in.expires <= 604800;
    std::string url;
    try {
        url = sigv4::presign(req, in.credentials, in.scope, in.now, std::chrono::seconds(in.expires), in.scheme);
        if (!has_host || !expires_ok) fail("presign accepted a request without a host or a bad expiry");
        if (url != sigv4::presign(req, in.credentials, in.scope, in.now, std::chrono::seconds(in.expires), in.scheme))
            fail("presign is not deterministic");
    } catch (const std::invalid_argument&) {
        if (has_host && expires_ok) fail("presign refused a request with a host and a valid expiry");
        return 0;
    }
    const std::string origin = in.scheme + "://" + *host;
    if (!url.starts_with(origin)) fail("presigned URL does not start with scheme://host");
    std::string_view tail = std::string_view(url).substr(origin.size());
    std::size_t qmark = tail.find('?');
    if (qmark == std::string_view::npos) fail("presigned URL has no query");
    auto path = strict_decode(tail.substr(0, qmark), true);
    if (!path || *path != expected_path(req.path)) fail("presigned URL path does not decode back to the path");

    Pairs expected = req.query;
    const std::string date = sigv4::amz_date(in.now);
    expected.emplace_back("X-Amz-Algorithm", "AWS4-HMAC-SHA256");
    expected.emplace_back("X-Amz-Credential", in.credentials.access_key_id + "/" + date.substr(0, 8) + "/" +
                                                  in.scope.region + "/" + in.scope.service + "/aws4_request");
    expected.emplace_back("X-Amz-Date", date);
    expected.emplace_back("X-Amz-Expires", std::to_string(in.expires));
    expected.emplace_back("X-Amz-SignedHeaders", "host");
    if (!in.credentials.session_token.empty()) expected.emplace_back("X-Amz-Security-Token", in.credentials.session_token);
    Pairs got;
    std::string signature;
    for (std::string_view piece : split(tail.substr(qmark + 1), '&')) {
        std::size_t eq = piece.find('=');
        if (eq == std::string_view::npos) fail("presigned URL parameter without '='");
        auto name = strict_decode(piece.substr(0, eq), false);
        auto value = strict_decode(piece.substr(eq + 1), false);
        if (!name || !value) fail("presigned URL parameter is not SigV4-encoded");
        got.emplace_back(std::move(*name), std::move(*value));
    }
    if (got.empty() || got.back().first != "X-Amz-Signature" || !is_hex64(got.back().second))
        fail("presigned URL does not end with X-Amz-Signature");
    got.pop_back();
    std::sort(expected.begin(), expected.end());
    std::sort(got.begin(), got.end());
    if (got != expected) fail("presigned URL parameters differ from the request's plus X-Amz-*");

    // A real URL parser agrees, when the host and scheme are what a configuration gives.
    if ((in.scheme == "https" || in.scheme == "http") && plain_host(*host)) {
        auto parsed = boost::urls::parse_absolute_uri(boost::urls::string_view(url.data(), url.size()));
        if (!parsed) fail("presigned URL does not parse");
        if (parsed->scheme() != in.scheme) fail("parsed scheme differs");
        if (std::string_view(parsed->encoded_host_and_port().data(), parsed->encoded_host_and_port().size()) != *host)
            fail("parsed host differs");
        if (parsed->path() != expected_path(req.path)) fail("parsed path differs");
        Pairs params;
        for (auto p : parsed->params()) {
            if (!p.has_value) fail("parsed parameter without a value");
            params.emplace_back(p.key, p.value);
        }
        if (params.empty() || params.back().first != "X-Amz-Signature") fail("parsed URL does not end with X-Amz-Signature");
        params.pop_back();
        std::sort(params.begin(), params.end());
        if (params != expected) fail("parsed parameters differ");
    }
    return 0;
}
