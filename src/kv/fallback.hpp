// A store that uses a shared one and, for each call the shared one cannot answer
// (Unavailable), a local one instead. For counters that must keep counting while a shared
// cache is down (failed logins): a dead cache must neither stop every login nor let
// guessing go unlimited, so each server counts on its own until the cache is back.
#pragma once

#include "kv/kv.hpp"

namespace photoshare::kv {

class Fallback final : public Store {
public:
    // Both must outlive this store.
    Fallback(Store& shared, Store& local) : shared_(shared), local_(local) {}

    std::optional<std::string> get(std::string_view key) override;
    void set(std::string_view key, std::string_view value, std::chrono::seconds ttl) override;
    bool add(std::string_view key, std::string_view value, std::chrono::seconds ttl) override;
    void erase(std::string_view key) override;
    std::int64_t incr(std::string_view key, std::int64_t delta, std::chrono::seconds ttl) override;
    void check() override { shared_.check(); }
    bool local() const override { return shared_.local(); }
    std::string describe() const override;

private:
    template <class F>
    auto either(F f) {
        try {
            return f(shared_);
        } catch (const Unavailable&) {
            return f(local_);
        }
    }

    Store& shared_;
    Store& local_;
};

}  // namespace photoshare::kv
