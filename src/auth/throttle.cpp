#include "auth/throttle.hpp"

#include "codec/sha256.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace photoshare::auth {

namespace {

using std::chrono::seconds;

std::int64_t unix_seconds(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<seconds>(t.time_since_epoch()).count();
}

}  // namespace

Throttle::Throttle(kv::Store& store, std::string_view name, ThrottlePolicy policy, WallClock clock)
    : store_(store), prefix_("throttle:v1:" + std::string(name) + ":"), policy_(policy), clock_(std::move(clock)) {
    if (policy_.free < 1 || policy_.window < seconds(1) || policy_.first_delay < seconds(1) || policy_.max_delay < policy_.first_delay)
        throw std::invalid_argument("throttle " + std::string(name) + ": counts and durations must be at least 1, the first delay at most the maximum");
    if (!clock_) clock_ = [] { return std::chrono::system_clock::now(); };
}

// Keys come from requests. Hashing gives fixed-length hex keys, so nothing a client sends
// can reach into another key or break a memcached key's rules (no spaces, at most 250 bytes).
Throttle::Keys Throttle::keys(std::string_view key) const {
    const std::string id = codec::sha256_hex(key);
    return {prefix_ + "n:" + id, prefix_ + "wait:" + id};
}

// The wait key's own TTL ends the wait, so no server has to remember to lift it. Its value
// is the wall-clock end (Unix seconds), because kv stores do not report a key's remaining
// TTL and every server must give the same Retry-After.
std::optional<seconds> Throttle::waiting(std::string_view key) {
    const auto value = store_.get(keys(key).until);
    if (!value) return std::nullopt;
    std::int64_t until = 0;
    const char* end = value->data() + value->size();
    auto [ptr, ec] = std::from_chars(value->data(), end, until);
    if (ec != std::errc() || ptr != end) return policy_.max_delay;  // unreadable but present: still waiting
    // Clamped: clocks of different servers disagree a little, and the key exists, so the
    // wait holds for at least a second and never for longer than the policy allows.
    return std::clamp(seconds(until - unix_seconds(clock_())), seconds(1), policy_.max_delay);
}

void Throttle::record(std::string_view key) {
    const auto k = keys(key);
    const std::int64_t n = store_.incr(k.count, 1, policy_.window);
    if (n < policy_.free) return;
    // first_delay * 2^(n - free), without overflowing on a long run of failures.
    seconds delay = policy_.first_delay;
    for (std::int64_t i = n - policy_.free; i > 0 && delay < policy_.max_delay; --i) delay *= 2;
    delay = std::min(delay, policy_.max_delay);
    store_.set(k.until, std::to_string(unix_seconds(clock_()) + delay.count()), delay);
}

void Throttle::clear(std::string_view key) {
    const auto k = keys(key);
    store_.erase(k.count);
    store_.erase(k.until);
}

}  // namespace photoshare::auth
