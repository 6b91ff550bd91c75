// Sessions read without a round trip per view: a session kept in memcached or Redis is
// remembered by the server that read it, and a logout (or anything else that ends a
// session) on any server reaches every server's copy within sessions.max_staleness.
//
// How: every session that ends bumps a counter in the session store ("sessions:revoked",
// a kv::SharedCounter, pushed at once by Redis and polled every max_staleness / 2). A
// remembered session is tagged with the counter's value from before it was read, and is used
// only while this server's copy of the counter is fresh and still has that value: any
// revocation anywhere makes every remembered session stale on every server, which then reads
// the store again. A session read while a revocation was in flight is never remembered.
// Sessions that do not exist are not remembered (a cookie from a login on another server a
// moment ago must find its session).
#pragma once

#include "app/sessions.hpp"
#include "kv/shared_counter.hpp"

#include <mutex>
#include <unordered_map>

namespace photoshare::app {

class NearSessions final : public SessionStore {
public:
    struct Options {
        std::chrono::milliseconds max_staleness{100};
        std::size_t max_entries = 10'000;  // sessions remembered at once; when full, all are forgotten
    };
    // counter_store: the store the sessions live in (where the revocation counter goes).
    NearSessions(std::unique_ptr<SessionStore> inner, kv::Store& counter_store, Options options);

    std::optional<store::Session> find(const std::string& id_hash, std::int64_t now) override;
    bool find_at_once(const std::string& id_hash, std::int64_t now, std::optional<store::Session>& session) override;
    bool can_find_async() const override { return inner_->can_find_async(); }
    asio::awaitable<std::optional<store::Session>> find_async(const std::string& id_hash, std::int64_t now) override;
    void put(const store::Session& session) override;
    void erase(const std::string& id_hash) override;
    bool down() const override;

    const kv::SharedCounter& revocations() const { return revoked_; }

private:
    void remember(const store::Session& session, std::int64_t tag);

    std::unique_ptr<SessionStore> inner_;
    kv::SharedCounter revoked_;
    const std::size_t max_entries_;
    struct Entry {
        store::Session session;
        std::int64_t tag;  // the revocation count it was read under
    };
    std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;
};

}  // namespace photoshare::app
