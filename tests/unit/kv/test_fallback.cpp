#include "kv/fallback.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace photoshare::kv {
namespace {

using namespace std::chrono_literals;

// A shared store that can be switched off: every call then fails as a networked store's
// does when its server is down.
class Switchable final : public Store {
public:
    bool down = false;
    std::optional<std::string> get(std::string_view k) override { return live().get(k); }
    void set(std::string_view k, std::string_view v, std::chrono::seconds ttl) override { live().set(k, v, ttl); }
    bool add(std::string_view k, std::string_view v, std::chrono::seconds ttl) override { return live().add(k, v, ttl); }
    void erase(std::string_view k) override { live().erase(k); }
    std::int64_t incr(std::string_view k, std::int64_t d, std::chrono::seconds ttl) override { return live().incr(k, d, ttl); }
    void check() override { live(); }
    std::string describe() const override { return "switchable"; }

private:
    Store& live() {
        if (down) throw Unavailable("switchable: down");
        return *inner_;
    }
    std::unique_ptr<Store> inner_ = open_memory();
};

TEST(Fallback, UsesTheSharedStoreWhileItAnswersAndTheLocalOneWhileItDoesNot) {
    Switchable shared;
    auto local = open_memory();
    Fallback store(shared, *local);

    EXPECT_EQ(store.incr("n", 1, 60s), 1);
    EXPECT_EQ(store.incr("n", 1, 60s), 2);
    EXPECT_EQ(local->get("n"), std::nullopt) << "nothing went to the local store";

    shared.down = true;
    EXPECT_EQ(store.incr("n", 1, 60s), 1) << "counting goes on, locally, while the shared store is down";
    store.set("k", "v", 60s);
    EXPECT_EQ(store.get("k"), "v");
    EXPECT_TRUE(store.add("a", "1", 60s));
    EXPECT_FALSE(store.add("a", "2", 60s));
    store.erase("k");
    EXPECT_EQ(store.get("k"), std::nullopt);
    EXPECT_THROW(store.check(), Unavailable) << "check() reports the shared store's state";

    shared.down = false;
    EXPECT_EQ(store.incr("n", 1, 60s), 3) << "back on the shared count";
    EXPECT_NE(store.describe().find("switchable"), std::string::npos);
}

}  // namespace
}  // namespace photoshare::kv
