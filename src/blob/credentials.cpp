// The credential chain (see credentials.hpp). The instance role's answer is a small flat
// JSON object; it is read by the few lines below rather than by a JSON library, so the blob
// seam depends on nothing but libcurl and OpenSSL.
#include "blob/credentials.hpp"

#include <cctype>
#include <cstdlib>
#include <ctime>
#include <map>

#include "blob/blob.hpp"
#include "blob/http_client.hpp"

namespace photoshare::blob::credentials {

namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

class Fixed final : public Provider {
public:
    Fixed(sigv4::Credentials c, std::string source) : credentials_(std::move(c)), source_(std::move(source)) {}
    sigv4::Credentials get() override { return credentials_; }
    std::string source() const override { return source_; }

private:
    sigv4::Credentials credentials_;
    std::string source_;
};

class Disabled final : public Provider {
public:
    sigv4::Credentials get() override {
        throw Unavailable(
            "no S3 credentials: none in storage.url, none in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "and the instance metadata service is disabled (AWS_EC2_METADATA_DISABLED)");
    }
    std::string source() const override { return "none (instance metadata disabled)"; }
};

// The string members of a flat JSON object; other values are skipped. nullopt when the
// text is not such an object.
std::optional<std::map<std::string, std::string>> json_strings(std::string_view s) {
    std::size_t i = 0;
    auto ws = [&] {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
    };
    auto string = [&](std::string& out) -> bool {
        if (i >= s.size() || s[i] != '"') return false;
        ++i;
        while (i < s.size() && s[i] != '"') {
            char c = s[i++];
            if (c != '\\') {
                out += c;
                continue;
            }
            if (i >= s.size()) return false;
            c = s[i++];
            switch (c) {
                case '"': case '\\': case '/': out += c; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    // Credentials are ASCII; other code points are kept as UTF-8 for the BMP.
                    if (i + 4 > s.size()) return false;
                    const unsigned long cp = std::strtoul(std::string(s.substr(i, 4)).c_str(), nullptr, 16);
                    i += 4;
                    if (cp < 0x80) {
                        out += static_cast<char>(cp);
                    } else if (cp < 0x800) {
                        out += static_cast<char>(0xC0 | (cp >> 6));
                        out += static_cast<char>(0x80 | (cp & 0x3F));
                    } else {
                        out += static_cast<char>(0xE0 | (cp >> 12));
                        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
                        out += static_cast<char>(0x80 | (cp & 0x3F));
                    }
                    break;
                }
                default: return false;
            }
        }
        if (i >= s.size()) return false;
        ++i;
        return true;
    };
    // Any other value: a number, true/false/null, or a nested object or array.
    auto skip_value = [&]() -> bool {
        int depth = 0;
        while (i < s.size()) {
            const char c = s[i];
            if (c == '"') {
                std::string ignored;
                if (!string(ignored)) return false;
                continue;
            }
            if (c == '{' || c == '[') ++depth;
            if (c == '}' || c == ']') {
                if (depth == 0) return true;
                --depth;
            }
            if (c == ',' && depth == 0) return true;
            ++i;
        }
        return false;
    };
    std::map<std::string, std::string> out;
    ws();
    if (i >= s.size() || s[i++] != '{') return std::nullopt;
    ws();
    if (i < s.size() && s[i] == '}') return out;
    for (;;) {
        ws();
        std::string key;
        if (!string(key)) return std::nullopt;
        ws();
        if (i >= s.size() || s[i++] != ':') return std::nullopt;
        ws();
        if (i < s.size() && s[i] == '"') {
            std::string value;
            if (!string(value)) return std::nullopt;
            out[key] = std::move(value);
        } else if (!skip_value()) {
            return std::nullopt;
        }
        ws();
        if (i >= s.size()) return std::nullopt;
        if (s[i] == ',') {
            ++i;
            continue;
        }
        if (s[i] == '}') return out;
        return std::nullopt;
    }
}

const char* hint =
    "; set access_key_id/secret_access_key on storage.url or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
    "or run on EC2 with an instance role";

}  // namespace

std::shared_ptr<Provider> fixed(sigv4::Credentials credentials, std::string source) {
    return std::make_shared<Fixed>(std::move(credentials), std::move(source));
}

std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text) {
    // YYYY-MM-DDTHH:MM:SS[.fff]Z
    if (text.size() < 20 || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') ||
        text[13] != ':' || text[16] != ':') {
        return std::nullopt;
    }
    auto number = [&](std::size_t pos, std::size_t len) -> int {
        int v = 0;
        for (std::size_t k = pos; k < pos + len; ++k) {
            if (text[k] < '0' || text[k] > '9') return -1;
            v = v * 10 + (text[k] - '0');
        }
        return v;
    };
    std::tm tm{};
    tm.tm_year = number(0, 4) - 1900;
    tm.tm_mon = number(5, 2) - 1;
    tm.tm_mday = number(8, 2);
    tm.tm_hour = number(11, 2);
    tm.tm_min = number(14, 2);
    tm.tm_sec = number(17, 2);
    if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour < 0 ||
        tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60) {
        return std::nullopt;
    }
    std::size_t k = 19;
    if (text[k] == '.') {
        ++k;
        while (k < text.size() && text[k] >= '0' && text[k] <= '9') ++k;
    }
    if (k + 1 != text.size() || (text[k] != 'Z' && text[k] != 'z')) {
        return std::nullopt;
    }
    const std::time_t t = ::timegm(&tm);
    return std::chrono::system_clock::from_time_t(t);
}

InstanceRole::InstanceRole(Options options) : options_(std::move(options)) {
    while (!options_.endpoint.empty() && options_.endpoint.back() == '/') {
        options_.endpoint.pop_back();
    }
}

std::string InstanceRole::default_endpoint() {
    std::string e = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    return e.empty() ? "http://169.254.169.254" : e;
}

sigv4::Credentials InstanceRole::get() {
    std::lock_guard lock(mutex_);
    const auto now = options_.now();
    if (!cached_.access_key_id.empty() && now + options_.refresh_before < expiration_) {
        return cached_;
    }
    try {
        refresh();
    } catch (const Unavailable&) {
        // The old credentials still work until they expire: a metadata hiccup during the
        // refresh window is no outage.
        if (!cached_.access_key_id.empty() && now < expiration_) {
            return cached_;
        }
        throw;
    }
    return cached_;
}

void InstanceRole::invalidate() {
    std::lock_guard lock(mutex_);
    cached_ = {};
    expiration_ = {};
}

http::Response InstanceRole::call(http::Request req, const std::string& advice) {
    req.connect_timeout = options_.timeout;
    req.timeout = options_.timeout;
    req.use_proxy = false;
    try {
        return http::perform(req);
    } catch (const http::TransportError& e) {
        throw Unavailable("no S3 credentials: the instance metadata service at " + options_.endpoint +
                          " did not answer (" + e.what() + ")" + advice);
    }
}

std::string InstanceRole::token() {
    const auto now = options_.now();
    if (!token_.empty() && now + std::chrono::seconds(60) < token_expiration_) {
        return token_;
    }
    http::Request req;
    req.method = "PUT";
    req.url = options_.endpoint + "/latest/api/token";
    req.send_body = true;
    req.headers.emplace_back("X-aws-ec2-metadata-token-ttl-seconds", std::to_string(options_.token_ttl.count()));
    const http::Response res =
        call(std::move(req), std::string(": not on EC2, or the hop limit is too low in a container") + hint);
    if (res.status != 200 || res.body.empty()) {
        throw Unavailable("no S3 credentials: the instance metadata service at " + options_.endpoint +
                          " refused a session token (HTTP " + std::to_string(res.status) + ")" + hint);
    }
    token_ = res.body;
    token_expiration_ = now + options_.token_ttl;
    return token_;
}

std::string InstanceRole::fetch(const std::string& path, bool retry_on_401) {
    for (;;) {
        http::Request req;
        req.url = options_.endpoint + path;
        req.headers.emplace_back("X-aws-ec2-metadata-token", token());
        const http::Response res = call(std::move(req), "");
        if (res.status == 401 && retry_on_401) {
            token_.clear();  // expired or revoked: one more try with a new session
            retry_on_401 = false;
            continue;
        }
        if (res.status == 404 && path.ends_with("/security-credentials/")) {
            throw Unavailable("no S3 credentials: this instance has no IAM role attached" + std::string(hint));
        }
        if (res.status != 200) {
            throw Unavailable("no S3 credentials: the instance metadata service answered HTTP " +
                              std::to_string(res.status) + " for the role's credentials");
        }
        return res.body;
    }
}

void InstanceRole::refresh() {
    const std::string base = "/latest/meta-data/iam/security-credentials/";
    std::string role = fetch(base, true);
    if (const auto eol = role.find_first_of("\r\n"); eol != std::string::npos) role.resize(eol);
    if (role.empty() || role.find_first_of("/?#% ") != std::string::npos) {
        throw Unavailable("no S3 credentials: the instance metadata service named no usable IAM role");
    }
    const std::string body = fetch(base + role, true);
    const auto fields = json_strings(body);
    if (!fields) {
        throw Unavailable("no S3 credentials: the instance role's credentials are not a JSON object");
    }
    auto field = [&](const char* name) {
        const auto it = fields->find(name);
        return it == fields->end() ? std::string() : it->second;
    };
    if (const std::string code = field("Code"); !code.empty() && code != "Success") {
        throw Unavailable("no S3 credentials: the instance role " + role + " has none (" + code + ")");
    }
    sigv4::Credentials c{field("AccessKeyId"), field("SecretAccessKey"), field("Token")};
    if (c.access_key_id.empty() || c.secret_access_key.empty()) {
        throw Unavailable("no S3 credentials: the instance role's answer lacks AccessKeyId or SecretAccessKey");
    }
    const auto expiration = parse_iso8601(field("Expiration"));
    if (!expiration) {
        throw Unavailable("no S3 credentials: the instance role's credentials have no readable Expiration");
    }
    cached_ = std::move(c);
    expiration_ = *expiration;
}

std::shared_ptr<Provider> chain(const sigv4::Credentials& configured) {
    if (!configured.access_key_id.empty() || !configured.secret_access_key.empty()) {
        if (configured.access_key_id.empty() || configured.secret_access_key.empty()) {
            throw std::invalid_argument("s3:// URL: access_key_id and secret_access_key go together");
        }
        return fixed(configured, "configuration");
    }
    if (!configured.session_token.empty()) {
        throw std::invalid_argument("s3:// URL: session_token needs access_key_id and secret_access_key");
    }
    sigv4::Credentials from_env{env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN")};
    if (!from_env.access_key_id.empty() || !from_env.secret_access_key.empty()) {
        if (from_env.access_key_id.empty() || from_env.secret_access_key.empty()) {
            throw std::invalid_argument("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together");
        }
        return fixed(std::move(from_env), "environment");
    }
    std::string disabled = env("AWS_EC2_METADATA_DISABLED");
    for (char& ch : disabled) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (disabled == "true" || disabled == "1") {
        return std::make_shared<Disabled>();
    }
    return std::make_shared<InstanceRole>(InstanceRole::Options{.endpoint = InstanceRole::default_endpoint()});
}

}  // namespace photoshare::blob::credentials
