// A progressive throttle: counts events per key (a client address, a username) in a fixed
// window; once `free` of them have happened, the key must wait before the next, and each
// further event doubles the wait, up to a ceiling. Counts and waits live in a kv::Store, so with a
// shared store (memcached, Redis) every server sees the same ones.
#pragma once

#include "kv/kv.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace photoshare::auth {

using WallClock = std::function<std::chrono::system_clock::time_point()>;

struct ThrottlePolicy {
    std::int64_t free = 5;                         // events per window before the first wait
    std::chrono::seconds window{15 * 60};          // counted from the key's first event
    std::chrono::seconds first_delay{1};           // the wait after the first event over `free`
    std::chrono::seconds max_delay{15 * 60};       // doubling stops here
};

class Throttle {
public:
    // name: the throttle's own part of the key space ("login-pair", "admin-token", ...).
    // Throws std::invalid_argument for a policy with a count or duration below 1, or a
    // first delay above the maximum. clock: empty means system_clock::now. The store must
    // outlive the throttle.
    Throttle(kv::Store& store, std::string_view name, ThrottlePolicy policy, WallClock clock = {});

    // The remaining wait (at least 1 s) while the key must wait.
    std::optional<std::chrono::seconds> waiting(std::string_view key);
    // Counts an event; from the free-th in the window on, the key then waits first_delay,
    // doubled for each event since, capped at max_delay.
    void record(std::string_view key);
    // Forgets the key's count and wait.
    void clear(std::string_view key);

    const ThrottlePolicy& policy() const noexcept { return policy_; }

private:
    struct Keys {
        std::string count;
        std::string until;
    };
    Keys keys(std::string_view key) const;

    kv::Store& store_;
    std::string prefix_;
    ThrottlePolicy policy_;
    WallClock clock_;
};

}  // namespace photoshare::auth
