#include "auth/rate_limit.hpp"

#include "codec/sha256.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace photoshare::auth {

namespace {

using std::chrono::seconds;

// Usernames are folded (ASCII) so "Alice" and "alice" share one count, as they name one account.
std::string ascii_lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

// Length-prefixed, so no username can be chosen to end in another pair's address.
std::string pair_key(std::string_view address, std::string_view username) {
    return std::to_string(username.size()) + ':' + ascii_lower(username) + std::string(address);
}

ThrottlePolicy throttle(const LoginPolicy& p, std::int64_t free) {
    return {.free = free, .window = p.window, .first_delay = p.first_delay, .max_delay = p.lockout};
}

LoginPolicy checked(const LoginPolicy& p) {
    if (p.max_failures_per_user < 1 || p.max_failures_per_address < 1 || p.max_failures_per_user_total < 1 || p.window < seconds(1) ||
        p.first_delay < seconds(1) || p.lockout < p.first_delay || p.remember_address < seconds(1))
        throw std::invalid_argument("login rate limit: limits and durations must be at least 1, the first delay at most the lockout");
    return p;
}

}  // namespace

LoginLimiter::LoginLimiter(kv::Store& store, LoginPolicy policy, const WallClock& clock)
    : store_(store),
      policy_(checked(policy)),
      pairs_(store, "login-pair", throttle(policy_, policy_.max_failures_per_user), clock),
      addresses_(store, "login-address", throttle(policy_, policy_.max_failures_per_address), clock),
      users_(store, "login-user", throttle(policy_, policy_.max_failures_per_user_total), clock) {}

namespace {

std::string known_key(std::string_view pair) { return "throttle:v1:login-known:" + codec::sha256_hex(pair); }

std::optional<seconds> longer(std::optional<seconds> a, std::optional<seconds> b) {
    if (a && b) return std::max(*a, *b);
    return a ? a : b;
}

}  // namespace

std::optional<seconds> LoginLimiter::blocked(std::string_view address, std::string_view username) {
    const std::string pair = pair_key(address, username);
    auto wait = pairs_.waiting(pair);
    if (store_.get(known_key(pair))) return wait;
    wait = longer(wait, addresses_.waiting(address));
    return longer(wait, users_.waiting(ascii_lower(username)));
}

void LoginLimiter::record_failure(std::string_view address, std::string_view username) {
    pairs_.record(pair_key(address, username));
    addresses_.record(address);
    users_.record(ascii_lower(username));
}

void LoginLimiter::record_success(std::string_view address, std::string_view username) {
    const std::string pair = pair_key(address, username);
    pairs_.clear(pair);
    store_.set(known_key(pair), "1", policy_.remember_address);
}

}  // namespace photoshare::auth
