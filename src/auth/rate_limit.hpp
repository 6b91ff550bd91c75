// Login rate limit: after too many failed logins for one username, or from one address,
// further attempts are refused for a while. Counts live in a kv::Store, so with a shared
// store (memcached, Redis) every server sees the same counts and locks.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "kv/kv.hpp"

namespace photoshare::auth {

struct LoginPolicy {
    std::int64_t max_failures_per_user = 5;
    // Higher than per user: many people can share one address (NAT, an office).
    std::int64_t max_failures_per_address = 20;
    // Failures are counted in a fixed window starting at the first one.
    std::chrono::seconds window{15 * 60};
    std::chrono::seconds lockout{15 * 60};
};

// Usage: if blocked() answers a time, refuse with 429 and Retry-After without checking the
// password; otherwise verify, then record_failure() (also for unknown usernames, so the
// limiter does not reveal which exist) or record_success(). kv::Unavailable from the store
// propagates: the caller decides whether a login may proceed without the limiter.
class LoginLimiter {
public:
    using WallClock = std::function<std::chrono::system_clock::time_point()>;

    // Throws std::invalid_argument for a policy with a limit or duration below 1.
    // clock: empty means system_clock::now. The store must outlive the limiter.
    explicit LoginLimiter(kv::Store& store, LoginPolicy policy = {}, WallClock clock = {});

    // The remaining lock time (at least 1 s) when the username or the address is locked.
    std::optional<std::chrono::seconds> blocked(std::string_view address,
                                                std::string_view username);
    void record_failure(std::string_view address, std::string_view username);
    // Clears the username's failures; the address keeps its count, or an attacker with one
    // valid account could reset it between guesses at other accounts.
    void record_success(std::string_view address, std::string_view username);

    const LoginPolicy& policy() const noexcept { return policy_; }

private:
    struct Keys {
        std::string failures;
        std::string lock;
    };
    static Keys user_keys(std::string_view username);
    static Keys address_keys(std::string_view address);
    std::optional<std::chrono::seconds> remaining(const std::string& lock_key);
    void count_failure(const Keys& keys, std::int64_t limit);

    kv::Store& store_;
    LoginPolicy policy_;
    WallClock clock_;
};

}  // namespace photoshare::auth
