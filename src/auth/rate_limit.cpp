#include "auth/rate_limit.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

#include "codec/sha256.hpp"

namespace photoshare::auth {

namespace {

using std::chrono::seconds;

// Versioned prefix: a change of key layout must not read another version's counters.
constexpr std::string_view prefix = "login:v1:";

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::int64_t unix_seconds(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<seconds>(t.time_since_epoch()).count();
}

}  // namespace

LoginLimiter::LoginLimiter(kv::Store& store, LoginPolicy policy, WallClock clock)
    : store_(store), policy_(policy), clock_(std::move(clock)) {
    if (policy_.max_failures_per_user < 1 || policy_.max_failures_per_address < 1 ||
        policy_.window < seconds(1) || policy_.lockout < seconds(1)) {
        throw std::invalid_argument("login rate limit: limits and durations must be at least 1");
    }
    if (!clock_) {
        clock_ = [] { return std::chrono::system_clock::now(); };
    }
}

// Both inputs come from the request. Hashing them gives fixed-length keys of hex digits,
// so nothing a client sends can reach into another key or break a memcached key's rules
// (no spaces, at most 250 bytes). Usernames are folded (ASCII) so "Alice" and "alice"
// share one count, as they name one account.
LoginLimiter::Keys LoginLimiter::user_keys(std::string_view username) {
    const std::string id = codec::sha256_hex(ascii_lower(username));
    return {std::string(prefix) + "fail:user:" + id, std::string(prefix) + "lock:user:" + id};
}

LoginLimiter::Keys LoginLimiter::address_keys(std::string_view address) {
    const std::string id = codec::sha256_hex(address);
    return {std::string(prefix) + "fail:addr:" + id, std::string(prefix) + "lock:addr:" + id};
}

std::optional<seconds> LoginLimiter::blocked(std::string_view address, std::string_view username) {
    const auto by_user = remaining(user_keys(username).lock);
    const auto by_address = remaining(address_keys(address).lock);
    if (by_user && by_address) {
        return std::max(*by_user, *by_address);
    }
    return by_user ? by_user : by_address;
}

void LoginLimiter::record_failure(std::string_view address, std::string_view username) {
    count_failure(user_keys(username), policy_.max_failures_per_user);
    count_failure(address_keys(address), policy_.max_failures_per_address);
}

void LoginLimiter::record_success(std::string_view, std::string_view username) {
    store_.erase(user_keys(username).failures);
}

// The lock key's own TTL ends the lock, so no server has to remember to lift it. Its value
// is the wall-clock end (Unix seconds), because kv stores do not report a key's remaining
// TTL and every server must give the same Retry-After.
std::optional<seconds> LoginLimiter::remaining(const std::string& lock_key) {
    const auto value = store_.get(lock_key);
    if (!value) {
        return std::nullopt;
    }
    std::int64_t until = 0;
    const char* end = value->data() + value->size();
    auto [ptr, ec] = std::from_chars(value->data(), end, until);
    if (ec != std::errc() || ptr != end) {
        return policy_.lockout;  // unreadable but present: still locked
    }
    // Clamped: clocks of different servers disagree a little, and the key exists, so the
    // lock holds for at least a second and never for longer than the policy allows.
    return std::clamp(seconds(until - unix_seconds(clock_())), seconds(1), policy_.lockout);
}

void LoginLimiter::count_failure(const Keys& keys, std::int64_t limit) {
    if (store_.incr(keys.failures, 1, policy_.window) < limit) {
        return;
    }
    const auto until = unix_seconds(clock_()) + policy_.lockout.count();
    store_.set(keys.lock, std::to_string(until), policy_.lockout);
    // A fresh count after the lock ends: otherwise, with a window longer than the lockout,
    // the very next failure would lock again.
    store_.erase(keys.failures);
}

}  // namespace photoshare::auth
