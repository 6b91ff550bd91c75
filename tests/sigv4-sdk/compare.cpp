// Checks photoshare's SigV4 (src/blob/sigv4.cpp) against the AWS SDK for JavaScript: reads the
// cases generate.js wrote (inputs and the SDK's outputs: its signer configured as the S3 client
// configures it, and the S3 client and presigner themselves) and signs each input with sign()
// or presign(). Every case must match exactly:
//   header-signed: the Authorization header and the x-amz-date, x-amz-content-sha256 and
//                  x-amz-security-token headers;
//   presigned:     the URL's host and path (the path must be the one the S3 client sends) and its
//                  query, which must be the SDK's canonical query followed by X-Amz-Signature
//                  (the same parameters, and the same signature).
// On a difference it prints the case, both results and both canonical requests.
//
//   sigv4_sdk_compare CASES.json        (exit status 0: all match; 1: a difference; 2: bad input)
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include "blob/sigv4.hpp"

namespace json = boost::json;
namespace sigv4 = photoshare::blob::sigv4;

namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

std::string str(const json::value& v) { return std::string(v.as_string()); }

Pairs pairs(const json::value& v) {
    Pairs out;
    for (const auto& p : v.as_array()) {
        out.emplace_back(str(p.as_array().at(0)), str(p.as_array().at(1)));
    }
    return out;
}

std::string header(const sigv4::Request& r, std::string_view name) {
    for (const auto& [n, v] : r.headers) {
        if (n == name) {
            return v;
        }
    }
    return {};
}

std::string line(std::string_view text, int index) {
    std::size_t start = 0;
    for (int i = 0; i < index; ++i) {
        start = text.find('\n', start) + 1;
    }
    return std::string(text.substr(start, text.find('\n', start) - start));
}

// Header signing: sign() must write what the SDK wrote.
bool check_sign(const json::object& c, const sigv4::Credentials& creds, const sigv4::Scope& scope,
                std::chrono::system_clock::time_point now, std::ostream& report) {
    sigv4::Request r;
    r.method = str(c.at("method"));
    r.path = str(c.at("path"));
    r.query = pairs(c.at("query"));
    r.headers = pairs(c.at("headers"));
    if (c.at("unsigned_payload").as_bool()) {
        r.payload_hash = std::string(sigv4::unsigned_payload);
    } else if (!c.at("body").is_null()) {
        r.payload_hash = sigv4::sha256_hex(str(c.at("body")));
    }
    sigv4::sign(r, creds, scope, now);

    const auto& e = c.at("expected").as_object();
    const std::map<std::string, std::pair<std::string, std::string>> compared = {
        {"Authorization", {header(r, "Authorization"), str(e.at("authorization"))}},
        {"x-amz-date", {header(r, "x-amz-date"), str(e.at("x_amz_date"))}},
        {"x-amz-content-sha256", {header(r, "x-amz-content-sha256"), str(e.at("x_amz_content_sha256"))}},
        {"x-amz-security-token", {header(r, "x-amz-security-token"), str(e.at("x_amz_security_token"))}},
    };
    bool ok = true;
    for (const auto& [name, values] : compared) {
        if (values.first != values.second) {
            ok = false;
            report << "  " << name << "\n    ours: " << values.first << "\n    sdk:  " << values.second << "\n";
        }
    }
    if (!ok) {
        std::erase_if(r.headers, [](const auto& h) { return h.first == "Authorization"; });
        report << "  canonical request, ours:\n" << sigv4::canonical_request(r, sigv4::signed_header_names(r))
               << "\n  canonical request, sdk:\n" << str(e.at("canonical_request")) << "\n";
    }
    return ok;
}

// Presigning: the URL must be https://host + the S3 client's path + "?" + the SDK's canonical
// query + "&X-Amz-Signature=" + the SDK's signature. The canonical query holds every parameter
// the SDK put in its URL (X-Amz-Signature aside), encoded and sorted, so equal strings mean the
// same parameters with the same values, and the same signed query.
bool check_presign(const json::object& c, const sigv4::Credentials& creds, const sigv4::Scope& scope,
                   std::chrono::system_clock::time_point now, std::ostream& report) {
    sigv4::Request r;
    r.method = str(c.at("method"));
    r.path = str(c.at("path"));
    r.query = pairs(c.at("query"));
    r.headers = pairs(c.at("headers"));
    const std::string scheme = c.contains("scheme") ? str(c.at("scheme")) : "https";
    const std::string url =
        sigv4::presign(r, creds, scope, now, std::chrono::seconds{c.at("expires").as_int64()}, scheme);

    const auto& e = c.at("expected").as_object();
    const std::string sdk_creq = str(e.at("canonical_request"));
    std::string sdk_signature;
    std::size_t sdk_params = 0;
    for (const auto& [name, value] : pairs(e.at("query"))) {
        if (name == "X-Amz-Signature") {
            sdk_signature = value;
        } else {
            ++sdk_params;
        }
    }
    const std::string expected = scheme + "://" + str(c.at("host")) + str(c.at("sdk_path")) + "?" + line(sdk_creq, 2) +
                                 "&X-Amz-Signature=" + sdk_signature;
    // Sanity of the expectation itself: the canonical query has one '&' per parameter after
    // the first, as many parameters as the SDK's query (a value never holds a raw '&').
    const std::string canonical_query = line(sdk_creq, 2);
    const auto params_in_creq = static_cast<std::size_t>(std::count(canonical_query.begin(), canonical_query.end(), '&') + 1);
    if (url == expected && params_in_creq == sdk_params && sdk_signature.size() == 64) {
        return true;
    }
    report << "  url\n    ours: " << url << "\n    sdk:  " << expected << "\n  parameters: " << params_in_creq
           << " in the canonical query, " << sdk_params << " in the SDK's query\n  canonical request, sdk:\n"
           << sdk_creq << "\n";
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: " << argv[0] << " CASES.json\n";
        return 2;
    }
    json::object doc;
    try {
        std::ifstream in(argv[1], std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        doc = json::parse(text.str()).as_object();
    } catch (const std::exception& e) {
        std::cerr << "sigv4_sdk_compare: cannot read " << argv[1] << ": " << e.what() << "\n";
        return 2;
    }

    std::map<std::string, int> total, failed;
    int shown = 0;
    for (const auto& value : doc.at("cases").as_array()) {
        const auto& c = value.as_object();
        const std::string kind = str(c.at("kind"));
        const sigv4::Credentials creds{str(c.at("access_key_id")), str(c.at("secret_access_key")),
                                       str(c.at("session_token"))};
        const sigv4::Scope scope{str(c.at("region")), "s3"};
        const std::chrono::system_clock::time_point now{std::chrono::milliseconds{c.at("time_ms").as_int64()}};
        std::ostringstream report;
        bool ok = false;
        try {
            ok = kind == "sign" || kind == "client-sign" ? check_sign(c, creds, scope, now, report)
                                                         : check_presign(c, creds, scope, now, report);
        } catch (const std::exception& e) {
            report << "  threw: " << e.what() << "\n";
        }
        ++total[kind];
        if (!ok) {
            ++failed[kind];
            if (++shown <= 10) {
                std::cout << "DIFFERENT case " << c.at("id").as_int64() << " (" << kind << " " << str(c.at("method"))
                          << " " << str(c.at("path")) << ")\n" << report.str() << "\n";
            }
        }
    }

    int all = 0, bad = 0;
    std::cout << "sigv4_sdk_compare: " << argv[1] << " (SDK " << json::serialize(doc.at("sdk")) << ")\n";
    for (const auto& [kind, n] : total) {
        std::cout << "  " << kind << ": " << n << " cases, " << failed[kind] << " different\n";
        all += n;
        bad += failed[kind];
    }
    if (all == 0) {
        std::cout << "sigv4_sdk_compare: no cases\n";
        return 2;
    }
    std::cout << (bad == 0 ? "sigv4_sdk_compare: all " + std::to_string(all) + " cases match the AWS SDK\n"
                           : "sigv4_sdk_compare: " + std::to_string(bad) + " of " + std::to_string(all) +
                                 " cases differ from the AWS SDK\n");
    return bad == 0 ? 0 : 1;
}
