#include "app/near_sessions.hpp"

namespace photoshare::app {

using State = kv::SharedCounter::State;

NearSessions::NearSessions(std::unique_ptr<SessionStore> inner, kv::Store& counter_store, Options options)
    : inner_(std::move(inner)), revoked_(counter_store, "sessions:revoked", options.max_staleness), max_entries_(options.max_entries) {}

void NearSessions::remember(const store::Session& session, std::int64_t tag) {
    std::lock_guard lock(mutex_);
    // A revocation seen since the read began: what was read may be what it revoked.
    if (revoked_.near().value != tag) return;
    if (entries_.size() >= max_entries_) entries_.clear();
    entries_.insert_or_assign(session.id_hash, Entry{session, tag});
}

bool NearSessions::find_at_once(const std::string& id_hash, std::int64_t now, std::optional<store::Session>& session) {
    const auto near = revoked_.near();
    if (near.state == State::fresh) {
        std::lock_guard lock(mutex_);
        if (auto it = entries_.find(id_hash); it != entries_.end()) {
            if (it->second.tag == near.value && it->second.session.expires_at > now) {
                session = it->second.session;
                return true;
            }
            entries_.erase(it);
        }
    }
    return inner_->find_at_once(id_hash, now, session);
}

std::optional<store::Session> NearSessions::find(const std::string& id_hash, std::int64_t now) {
    const auto before = revoked_.near();
    auto session = inner_->find(id_hash, now);
    if (session && before.state == State::fresh) remember(*session, before.value);
    return session;
}

asio::awaitable<std::optional<store::Session>> NearSessions::find_async(const std::string& id_hash, std::int64_t now) {
    const auto before = revoked_.near();
    auto session = co_await inner_->find_async(id_hash, now);
    if (session && before.state == State::fresh) remember(*session, before.value);
    co_return session;
}

void NearSessions::put(const store::Session& session) {
    const auto before = revoked_.near();
    inner_->put(session);
    if (before.state == State::fresh) remember(session, before.value);
}

void NearSessions::erase(const std::string& id_hash) {
    inner_->erase(id_hash);
    {
        std::lock_guard lock(mutex_);
        entries_.erase(id_hash);
    }
    try {
        revoked_.bump();
    } catch (const kv::Unavailable&) {
        // The session is gone from the store; the bump is made as soon as the store answers
        // again, and until then no server can confirm its copy of the counter, so none uses
        // what it remembered.
    }
}

bool NearSessions::down() const { return revoked_.near().state == State::down; }

}  // namespace photoshare::app
