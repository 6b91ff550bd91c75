// What the throttle and login-limiter tests share: a store that records the keys used, and
// one fake "now" that drives both the store's expiry and the wall clock, as on a real server
// where both follow the same time.
#pragma once

#include "kv/kv.hpp"

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <string_view>

namespace photoshare::auth::testing {

using namespace std::chrono_literals;
using std::chrono::seconds;

class RecordingStore final : public kv::Store {
public:
    explicit RecordingStore(kv::Store& inner) : inner_(inner) {}
    std::optional<std::string> get(std::string_view k) override { return inner_.get(note(k)); }
    void set(std::string_view k, std::string_view v, seconds ttl) override { inner_.set(note(k), v, ttl); }
    bool add(std::string_view k, std::string_view v, seconds ttl) override { return inner_.add(note(k), v, ttl); }
    void erase(std::string_view k) override { inner_.erase(note(k)); }
    std::int64_t incr(std::string_view k, std::int64_t d, seconds ttl) override { return inner_.incr(note(k), d, ttl); }
    void check() override {}
    std::string describe() const override { return "recording"; }
    std::set<std::string> keys;

private:
    std::string_view note(std::string_view k) {
        keys.emplace(k);
        return k;
    }
    kv::Store& inner_;
};

// throttle:v1:NAME:(n|wait|...):<64 hex digits>. Checked by hand: <regex> trips a false
// -Wmaybe-uninitialized in GCC 12 under the sanitizer build.
inline bool has_throttle_key_shape(const std::string& key) {
    constexpr std::string_view prefix = "throttle:v1:";
    if (!key.starts_with(prefix)) return false;
    const auto colon = key.rfind(':');
    const std::string_view hash = std::string_view(key).substr(colon + 1);
    return hash.size() == 64 && hash.find_first_not_of("0123456789abcdef") == std::string_view::npos &&
           key.find_first_of(" \r\n") == std::string::npos && key.size() < 250;
}

struct FakeTime {
    seconds elapsed{0};
    std::unique_ptr<kv::Store> store() {
        return kv::open_memory({.max_entries = 10'000, .clock = [this] { return std::chrono::steady_clock::time_point{} + 1h + elapsed; }});
    }
    std::function<std::chrono::system_clock::time_point()> wall_clock() {
        return [this] { return std::chrono::system_clock::time_point{} + seconds(1'700'000'000) + elapsed; };
    }
};

}  // namespace photoshare::auth::testing
