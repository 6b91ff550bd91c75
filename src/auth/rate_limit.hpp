// Login rate limit, built so that guessing is slow and an attacker cannot lock the owner out.
// Three progressive throttles (auth/throttle.hpp): failed logins count per (username,
// address) pair, per address (one address guessing many usernames) and per username from
// every address (guessing spread over many addresses). Past its free allowance, each makes
// further attempts wait a delay that doubles. An address a user has logged in from before
// is remembered, and for that user only the pair's own throttle applies there: a guesser
// elsewhere neither makes the owner wait nor locks them out. Counts live in a kv::Store, so
// with a shared store (memcached, Redis) every server sees the same ones.
#pragma once

#include "auth/throttle.hpp"
#include "kv/kv.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace photoshare::auth {

struct LoginPolicy {
    std::int64_t max_failures_per_user = 5;          // one username from one address
    std::int64_t max_failures_per_address = 20;      // one address, every username
    std::int64_t max_failures_per_user_total = 100;  // one username, every address
    std::chrono::seconds window{15 * 60};            // failures counted from the first one
    std::chrono::seconds first_delay{1};             // then doubled per failure...
    std::chrono::seconds lockout{15 * 60};           // ...up to this
    std::chrono::seconds remember_address{30 * 24 * 3600};  // a successful login's address is known this long
};

// Usage: if blocked() answers a time, refuse with 429 and Retry-After without checking the
// password; otherwise verify, then record_failure() (also for unknown usernames, so the
// limiter does not reveal which exist) or record_success(). kv::Unavailable from the store
// propagates: the caller decides whether a login may proceed without the limiter.
class LoginLimiter {
public:
    // Throws std::invalid_argument for a policy with a limit or duration below 1.
    // clock: empty means system_clock::now. The store must outlive the limiter.
    explicit LoginLimiter(kv::Store& store, LoginPolicy policy = {}, const WallClock& clock = {});

    // The remaining wait (at least 1 s) before this username may be tried from this address.
    std::optional<std::chrono::seconds> blocked(std::string_view address, std::string_view username);
    void record_failure(std::string_view address, std::string_view username);
    // Clears the pair's failures and remembers the address for the username. The address's
    // and the username's own counts stay, or an attacker with one valid account could reset
    // them between guesses at others.
    void record_success(std::string_view address, std::string_view username);

    const LoginPolicy& policy() const noexcept { return policy_; }

private:
    kv::Store& store_;
    LoginPolicy policy_;
    Throttle pairs_, addresses_, users_;
};

}  // namespace photoshare::auth
