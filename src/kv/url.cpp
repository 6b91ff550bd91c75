// Parsing of memcached:// and redis:// URLs. Error messages name the part that is wrong
// but never repeat any of the URL's text: a password may sit anywhere in a mistyped URL.
#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <string>
#include <system_error>

#include "codec/percent.hpp"
#include "codec/sha256.hpp"
#include "kv/remote.hpp"

namespace photoshare::kv::detail {

namespace {

[[noreturn]] void bad(std::string_view scheme, const std::string& what) {
    throw std::invalid_argument(std::string(scheme) + ":// URL: " + what);
}

template <class T>
bool parse_number(std::string_view text, T& out) {
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, out);
    return !text.empty() && ec == std::errc() && ptr == end;
}

// %XX decoding; '+' and %00 are kept as they are.
std::string percent_decode(std::string_view scheme, std::string_view text, const char* part) {
    std::string out;
    if (codec::percent_decode_to(out, text, false, false)) bad(scheme, std::string("bad percent-encoding in the ") + part);
    return out;
}

bool valid_host(std::string_view host, bool v6) {
    if (host.empty() || host.size() > 253) return false;
    for (char c : host) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '.' || c == '-' || c == '_' || (v6 && (c == ':' || c == '%'));
        if (!ok) return false;
    }
    return true;
}

// "host", "host:port", "[v6]", "[v6]:port"; `which` names it in errors ("server 2").
Endpoint parse_endpoint(std::string_view scheme, std::string_view text, std::uint16_t default_port,
                        const std::string& which) {
    Endpoint e;
    std::string_view port_text;
    bool has_port = false;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) bad(scheme, which + " has an unclosed '[' in its address");
        e.host = std::string(text.substr(1, close - 1));
        if (!valid_host(e.host, true)) bad(scheme, which + " has a malformed IPv6 address");
        const auto after = text.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') bad(scheme, which + ": expected ':port' after ']'");
            port_text = after.substr(1);
            has_port = true;
        }
    } else {
        const auto colon = text.find(':');
        e.host = std::string(text.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = text.substr(colon + 1);
            has_port = true;
        }
        if (e.host.empty()) bad(scheme, which + " has no host");
        if (!valid_host(e.host, false)) bad(scheme, which + " has a malformed host name");
    }
    e.port = default_port;
    if (has_port) {
        unsigned value = 0;
        if (!parse_number(port_text, value) || value == 0 || value > 65535) {
            bad(scheme, which + " has a malformed port (expected 1-65535)");
        }
        e.port = static_cast<std::uint16_t>(value);
    }
    return e;
}

void parse_query(std::string_view scheme, std::string_view query, NetOptions& net) {
    std::vector<std::string> seen;
    while (!query.empty()) {
        const std::string_view param = query.substr(0, query.find('&'));
        query.remove_prefix(std::min(query.size(), param.size() + 1));
        if (param.empty()) continue;
        const auto eq = param.find('=');
        const std::string name(param.substr(0, eq));
        const std::string_view value = eq == std::string_view::npos ? "" : param.substr(eq + 1);
        const bool known = name == "timeout_ms" || name == "connect_timeout_ms" || name == "retry_ms" || name == "pool";
        if (!known) {
            // The name is shown only when it looks like a parameter name, not like a secret.
            const bool plain = !name.empty() && name.size() <= 32 &&
                               name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string::npos;
            bad(scheme, (plain ? "unknown parameter '" + name + "'" : std::string("unknown parameter")) +
                            " (known: timeout_ms, connect_timeout_ms, retry_ms, pool)");
        }
        if (std::find(seen.begin(), seen.end(), name) != seen.end()) bad(scheme, name + " is given twice");
        seen.push_back(name);
        long long number = 0;
        const bool numeric = parse_number(value, number);
        auto check = [&](long long lo, long long hi) {
            if (!numeric || number < lo || number > hi) {
                bad(scheme, name + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
            }
        };
        if (name == "timeout_ms") {
            check(1, 60'000);
            net.timeout = std::chrono::milliseconds(number);
        } else if (name == "connect_timeout_ms") {
            check(1, 60'000);
            net.connect_timeout = std::chrono::milliseconds(number);
        } else if (name == "retry_ms") {
            check(0, 3'600'000);
            net.retry = std::chrono::milliseconds(number);
        } else {
            check(1, 1024);
            net.pool = static_cast<std::size_t>(number);
        }
    }
}

// Splits "authority/path?query" (what follows "scheme://").
struct Parts {
    std::string_view authority, path, query;
};
Parts split(std::string_view rest) {
    Parts p;
    const auto q = rest.find('?');
    if (q != std::string_view::npos) {
        p.query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    // The password may contain '/' only percent-encoded, so the first '/' after the last
    // '@' starts the path.
    const auto at = rest.rfind('@');
    const auto slash = rest.find('/', at == std::string_view::npos ? 0 : at);
    p.authority = rest.substr(0, slash);
    p.path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    return p;
}

}  // namespace

std::string Endpoint::text() const {
    const std::string p = std::to_string(port);
    return host.find(':') != std::string::npos ? "[" + host + "]:" + p : host + ":" + p;
}

std::string NetOptions::query() const {
    return "timeout_ms=" + std::to_string(timeout.count()) +
           "&connect_timeout_ms=" + std::to_string(connect_timeout.count()) +
           "&retry_ms=" + std::to_string(retry.count()) + "&pool=" + std::to_string(pool);
}

MemcachedOptions parse_memcached_url(std::string_view rest) {
    constexpr std::string_view scheme = "memcached";
    MemcachedOptions options;
    const Parts parts = split(rest);
    if (parts.authority.find('@') != std::string_view::npos) {
        bad(scheme, "user names and passwords are not supported (memcached has no SASL here)");
    }
    if (!parts.path.empty() && parts.path != "/") bad(scheme, "takes no path (memcached://host:port,host:port?options)");
    std::string_view list = parts.authority;
    if (list.empty()) bad(scheme, "lists no servers (memcached://host:port,host:port)");
    std::size_t index = 0;
    while (true) {
        const auto comma = list.find(',');
        const std::string_view item = list.substr(0, comma);
        ++index;
        const std::string which = "server " + std::to_string(index);
        if (item.empty()) bad(scheme, which + " is empty");
        Endpoint e = parse_endpoint(scheme, item, 11211, which);
        if (std::find(options.servers.begin(), options.servers.end(), e) != options.servers.end()) {
            bad(scheme, which + " is listed twice");
        }
        options.servers.push_back(std::move(e));
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    parse_query(scheme, parts.query, options.net);
    return options;
}

RedisOptions parse_redis_url(std::string_view rest) {
    constexpr std::string_view scheme = "redis";
    RedisOptions options;
    const Parts parts = split(rest);
    std::string_view hostport = parts.authority;
    const auto at = parts.authority.rfind('@');
    if (at != std::string_view::npos) {
        const std::string_view userinfo = parts.authority.substr(0, at);
        hostport = parts.authority.substr(at + 1);
        const auto colon = userinfo.find(':');
        if (colon == std::string_view::npos) {
            bad(scheme, "credentials must be ':password@' or 'user:password@'");
        }
        options.user = percent_decode(scheme, userinfo.substr(0, colon), "user name");
        options.password = percent_decode(scheme, userinfo.substr(colon + 1), "password");
        if (options.password.empty()) bad(scheme, "the password after ':' is empty");
    }
    if (hostport.empty()) bad(scheme, "has no host (redis://[:password@]host:port/db)");
    if (hostport.find(',') != std::string_view::npos) bad(scheme, "takes one server (Redis Cluster is not supported)");
    options.server = parse_endpoint(scheme, hostport, 6379, "the server");
    if (!parts.path.empty() && parts.path != "/") {
        if (!parse_number(parts.path.substr(1), options.db) || options.db < 0) {
            bad(scheme, "the database after '/' must be a number (0, 1, ...)");
        }
    }
    parse_query(scheme, parts.query, options.net);
    return options;
}

std::string memcached_key(std::string_view key) {
    const bool plain = !key.empty() && key.size() <= 250 && key.front() != '~' &&
                       std::all_of(key.begin(), key.end(), [](char c) { return c > ' ' && c < 0x7f; });
    if (plain) return std::string(key);
    return "~" + codec::sha256_hex(key);
}

std::int64_t checked_ttl(std::chrono::seconds ttl) {
    if (ttl.count() < 0) throw std::invalid_argument("kv: negative ttl");
    return ttl.count() >= max_ttl_seconds ? 0 : ttl.count();
}

bool refused_text(const char* error) {
    static const std::string refused = std::generic_category().message(ECONNREFUSED);  // strerror_r: thread-safe
    return error && std::strstr(error, refused.c_str()) != nullptr;
}

}  // namespace photoshare::kv::detail
