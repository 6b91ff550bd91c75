#include "app/sessions.hpp"

#include "auth/tokens.hpp"
#include "codec/compare.hpp"
#include "codec/hex.hpp"
#include "codec/sha256.hpp"
#include "http/cookies.hpp"

#include <boost/json.hpp>

#include <chrono>

namespace photoshare::app {

namespace {

constexpr std::size_t kIdBytes = 32;    // 256 random bits
constexpr std::size_t kCsrfBytes = 32;

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A token is what random_token() makes: base64url characters only. Anything else in a
// cookie is ignored rather than passed on to a store.
bool well_formed_token(std::string_view t) {
    if (t.size() < 16 || t.size() > 128) return false;
    for (char c : t)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
    return true;
}

class DatabaseSessions final : public SessionStore {
public:
    explicit DatabaseSessions(store::Repository& repo) : repo_(repo) {}
    std::optional<store::Session> find(const std::string& id_hash, std::int64_t now) override { return repo_.find_session(id_hash, now); }
    bool find_at_once(const std::string& id_hash, std::int64_t now, std::optional<store::Session>& session) override {
        return repo_.find_session_at_once(id_hash, now, session);
    }
    void put(const store::Session& s) override { repo_.put_session(s); }
    void erase(const std::string& id_hash) override { repo_.delete_session(id_hash); }

private:
    store::Repository& repo_;
};

class KvSessions final : public SessionStore {
public:
    KvSessions(kv::Store& kv, kv::AsyncRedis* async) : kv_(kv), async_(async) {}
    std::optional<store::Session> find(const std::string& id_hash, std::int64_t now) override {
        return parse(id_hash, kv_.get(key(id_hash)), now);
    }
    bool can_find_async() const override { return async_ != nullptr; }
    asio::awaitable<std::optional<store::Session>> find_async(const std::string& id_hash, std::int64_t now) override {
        co_return parse(id_hash, co_await async_->get(key(id_hash)), now);
    }
    static std::optional<store::Session> parse(const std::string& id_hash, const std::optional<std::string>& raw, std::int64_t now) {
        if (!raw) return std::nullopt;
        boost::system::error_code ec;
        auto v = boost::json::parse(*raw, ec);
        if (ec || !v.is_object()) return std::nullopt;
        const auto& o = v.as_object();
        try {
            store::Session s;
            s.id_hash = id_hash;
            s.user_id = o.at("user_id").as_int64();
            s.username = std::string(o.at("username").as_string());
            s.csrf_token = std::string(o.at("csrf").as_string());
            s.expires_at = o.at("expires_at").as_int64();
            if (s.expires_at <= now) return std::nullopt;
            return s;
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }
    bool find_at_once(const std::string& id_hash, std::int64_t now, std::optional<store::Session>& session) override {
        if (!kv_.local()) return false;
        session = find(id_hash, now);
        return true;
    }
    void put(const store::Session& s) override {
        boost::json::object o{{"user_id", s.user_id}, {"username", s.username}, {"csrf", s.csrf_token}, {"expires_at", s.expires_at}};
        auto ttl = std::chrono::seconds(std::max<std::int64_t>(1, s.expires_at - now_seconds()));
        kv_.set(key(s.id_hash), boost::json::serialize(o), ttl);
    }
    void erase(const std::string& id_hash) override { kv_.erase(key(id_hash)); }

private:
    static std::string key(const std::string& id_hash) { return "session:" + id_hash; }
    kv::Store& kv_;
    kv::AsyncRedis* async_;
};

}  // namespace

std::unique_ptr<SessionStore> database_sessions(store::Repository& repo) { return std::make_unique<DatabaseSessions>(repo); }
std::unique_ptr<SessionStore> kv_sessions(kv::Store& store, kv::AsyncRedis* async) { return std::make_unique<KvSessions>(store, async); }

asio::awaitable<std::optional<store::Session>> SessionStore::find_async(const std::string&, std::int64_t) {
    throw std::logic_error("SessionStore::find_async on a store that cannot");
}

Sessions::Sessions(std::unique_ptr<SessionStore> store, http::Workers& workers, bool secure_cookies, config::Duration ttl,
                   std::string_view visitor_key)
    : store_(std::move(store)),
      workers_(workers),
      secure_(secure_cookies),
      ttl_(ttl),
      visitor_mac_("visitor-csrf:" + std::string(visitor_key)),
      // The __Host- prefix (HTTPS only) stops a sibling subdomain from planting a cookie.
      cookie_name_(secure_cookies ? "__Host-ps_session" : "ps_session"),
      csrf_cookie_name_(secure_cookies ? "__Host-ps_csrf" : "ps_csrf") {}

std::optional<std::string> Sessions::cookie_value(const http::Request& req, const std::string& name) const {
    auto header = req.header("Cookie");
    if (header.empty()) return std::nullopt;
    auto value = http::find_cookie(header, name);
    if (!value || !well_formed_token(*value)) return std::nullopt;
    return std::string(*value);
}

asio::awaitable<SessionLookup> Sessions::load(const http::Request& req) {
    auto id = cookie_value(req, cookie_name_);
    if (!id) co_return SessionLookup{std::nullopt, store_->down()};
    auto hash = codec::sha256_hex(*id);
    // Most lookups are answered right here; handing one to a worker and back cost a member's
    // page about half its CPU (futex wake-ups and context switches; docs/PERFORMANCE.md).
    SessionLookup found;
    if (store_->find_at_once(hash, now_seconds(), found.session)) co_return found;
    try {
        if (store_->can_find_async())
            found.session = co_await store_->find_async(hash, now_seconds());
        else
            found.session = co_await workers_.call([this, hash] { return store_->find(hash, now_seconds()); });
    } catch (const kv::Unavailable&) {
        found.unavailable = true;
    } catch (const store::Unavailable&) {
        found.unavailable = true;  // sessions in the database, and the database down
    }
    co_return found;
}

asio::awaitable<NewSession> Sessions::create(const http::Request& req, std::int64_t user_id, const std::string& username) {
    auto old = cookie_value(req, cookie_name_);
    auto id = auth::random_token(kIdBytes);
    store::Session s;
    s.id_hash = codec::sha256_hex(id);
    s.user_id = user_id;
    s.username = username;
    s.csrf_token = auth::random_token(kCsrfBytes);
    s.expires_at = now_seconds() + std::chrono::duration_cast<std::chrono::seconds>(ttl_).count();
    co_await workers_.run([&] {
        if (old) store_->erase(codec::sha256_hex(*old));
        store_->put(s);
    });
    http::SetCookie cookie;
    cookie.name = cookie_name_;
    cookie.value = id;
    cookie.max_age = std::chrono::duration_cast<std::chrono::seconds>(ttl_).count();
    cookie.secure = secure_;
    co_return NewSession{std::move(s), http::format_set_cookie(cookie)};
}

asio::awaitable<std::string> Sessions::destroy(const http::Request& req) {
    if (auto id = cookie_value(req, cookie_name_)) {
        auto hash = codec::sha256_hex(*id);
        co_await workers_.run([this, hash] { store_->erase(hash); });
    }
    http::SetCookie cookie;
    cookie.name = cookie_name_;
    cookie.value = "";
    cookie.max_age = 0;
    cookie.secure = secure_;
    co_return http::format_set_cookie(cookie);
}

// Signed double submit: the cookie holds a random visitor id, the forms a MAC of it under the
// site's key. A token is good only with the cookie it was made for, and only this site can
// make one: a cookie and a token chosen together elsewhere (planted by a sibling subdomain
// or over plain HTTP) do not match.
std::string Sessions::visitor_token_for(std::string_view visitor_id) const {
    return codec::to_hex(visitor_mac_.of(visitor_id));
}

std::optional<std::string> Sessions::visitor_token(const http::Request& req) const {
    auto id = cookie_value(req, csrf_cookie_name_);
    if (!id) return std::nullopt;
    return visitor_token_for(*id);
}

std::pair<std::string, std::string> Sessions::new_visitor_token() const {
    auto id = auth::random_token(kCsrfBytes);
    http::SetCookie cookie;
    cookie.name = csrf_cookie_name_;
    cookie.value = id;
    cookie.secure = secure_;
    cookie.same_site = "Strict";
    return {visitor_token_for(id), http::format_set_cookie(cookie)};
}

bool Sessions::csrf_ok(const http::Request& req, const std::optional<store::Session>& session, std::string_view submitted) const {
    if (submitted.empty()) return false;
    if (session) return codec::equal_constant_time(submitted, session->csrf_token);
    auto visitor = visitor_token(req);
    return visitor && codec::equal_constant_time(submitted, *visitor);
}

std::string Sessions::fingerprint(const store::Session& session) { return codec::sha256_hex(session.id_hash).substr(0, 8); }

}  // namespace photoshare::app
