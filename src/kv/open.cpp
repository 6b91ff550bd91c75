// Chooses a store by URL. Error messages name only the scheme or the parameter, never the
// whole URL: redis://:password@host carries a secret that must not be logged.
#include <algorithm>
#include <cctype>
#include <charconv>

#include "kv/async_redis.hpp"
#include "kv/kv.hpp"
#include "kv/remote.hpp"

namespace photoshare::kv {

namespace {

std::size_t parse_count(std::string_view name, std::string_view text) {
    std::size_t value = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end || value == 0) {
        throw std::invalid_argument("memory:// URL: " + std::string(name) +
                                    " must be a positive integer");
    }
    return value;
}

// memory:// takes no host or path, only query parameters (key=value joined by '&').
MemoryOptions parse_memory(std::string_view rest) {
    MemoryOptions options;
    if (rest.empty()) {
        return options;
    }
    if (rest.front() != '?') {
        throw std::invalid_argument("memory:// URL takes no host or path, only ?max_entries=N");
    }
    rest.remove_prefix(1);
    while (!rest.empty()) {
        const std::string_view param = rest.substr(0, rest.find('&'));
        rest.remove_prefix(std::min(rest.size(), param.size() + 1));
        const auto eq = param.find('=');
        const std::string_view name = param.substr(0, eq);
        const std::string_view value = eq == std::string_view::npos ? "" : param.substr(eq + 1);
        if (name == "max_entries") {
            options.max_entries = parse_count(name, value);
        } else {
            throw std::invalid_argument("memory:// URL: unknown parameter '" + std::string(name) +
                                        "' (known: max_entries)");
        }
    }
    return options;
}

}  // namespace

std::unique_ptr<AsyncRedis> Store::async_client() { return nullptr; }

std::unique_ptr<Store> open(const std::string& url) {
    const auto sep = url.find("://");
    if (sep == std::string::npos || sep == 0) {
        throw std::invalid_argument("kv URL must look like scheme://..., e.g. memory://");
    }
    const std::string scheme = url.substr(0, sep);
    // A scheme is letters, digits, '+', '-', '.'; anything else may be part of a secret
    // that was mistyped into the URL, so it is not echoed.
    const bool plain = std::all_of(scheme.begin(), scheme.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '+' || c == '-' || c == '.';
    });
    if (!plain) {
        throw std::invalid_argument("kv URL has a malformed scheme");
    }
    if (scheme == "memory") {
        return open_memory(parse_memory(std::string_view(url).substr(sep + 3)));
    }
    const std::string_view rest = std::string_view(url).substr(sep + 3);
    if (scheme == "memcached") {
        return detail::open_memcached(detail::parse_memcached_url(rest));
    }
    if (scheme == "redis") {
        return detail::open_redis(detail::parse_redis_url(rest));
    }
    if (scheme == "rediss") {
        throw std::invalid_argument("kv scheme 'rediss://' (Redis over TLS) is not supported: hiredis 0.14 has no TLS");
    }
    throw std::invalid_argument("unknown kv scheme '" + scheme + "://' (known: memory://, memcached://, redis://)");
}

}  // namespace photoshare::kv
