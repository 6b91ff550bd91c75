// Login sessions: a random id in an HttpOnly cookie, only its hash stored (in the database
// or a key-value store), with the session's CSRF token beside it. Visitors who are not
// logged in get a CSRF token in a cookie of its own (double submit), so the login and
// register forms are protected too.
#pragma once

#include "codec/mac.hpp"
#include "config/config.hpp"
#include "http/message.hpp"
#include "http/runtime.hpp"
#include "kv/async_redis.hpp"
#include "kv/kv.hpp"
#include "store/repository.hpp"

#include <memory>
#include <optional>
#include <string>

namespace photoshare::app {

namespace asio = boost::asio;

// Where session records live. Calls block.
class SessionStore {
public:
    virtual ~SessionStore() = default;
    virtual std::optional<store::Session> find(const std::string& id_hash, std::int64_t now) = 0;
    // find() when the answer needs no waiting (an in-process store, or a SQLite file with
    // an idle connection): true with *session set; false having done nothing.
    virtual bool find_at_once(const std::string& /*id_hash*/, std::int64_t /*now*/,
                              std::optional<store::Session>& /*session*/) {
        return false;
    }
    // find() on the calling I/O thread, without a worker (Redis's asynchronous client), where
    // can_find_async(); find_async() may only be called then.
    virtual bool can_find_async() const { return false; }
    virtual asio::awaitable<std::optional<store::Session>> find_async(const std::string& id_hash, std::int64_t now);
    virtual void put(const store::Session& session) = 0;
    virtual void erase(const std::string& id_hash) = 0;
    // Known to be unreachable right now, without asking it (pages say that signing in is
    // unavailable).
    virtual bool down() const { return false; }
};

std::unique_ptr<SessionStore> database_sessions(store::Repository& repo);
// async: the same store's asynchronous client, if it has one (kv::open_async), for lookups.
std::unique_ptr<SessionStore> kv_sessions(kv::Store& store, kv::AsyncRedis* async = nullptr);

// Who a request's cookie says it is.
struct SessionLookup {
    std::optional<store::Session> session;
    // The session store could not be asked (or is known to be down): the visitor is shown as
    // logged out, and told that signing in is unavailable.
    bool unavailable = false;
};

struct NewSession {
    store::Session session;
    std::string set_cookie;  // header value that gives the browser its id
};

class Sessions {
public:
    // visitor_key: the site-wide key (the same on every server) that binds a visitor's CSRF
    // token to its cookie.
    Sessions(std::unique_ptr<SessionStore> store, http::Workers& workers, bool secure_cookies, config::Duration ttl,
             std::string_view visitor_key);

    const std::string& cookie_name() const { return cookie_name_; }
    const std::string& csrf_cookie_name() const { return csrf_cookie_name_; }

    // The session the request's cookie names, if it is valid and not expired. Never throws
    // kv::Unavailable: a store that cannot answer makes the visitor anonymous (unavailable).
    asio::awaitable<SessionLookup> load(const http::Request& req);
    // A new session with a new id: ids are never reused, so one set before login (session
    // fixation) dies at login. Destroys the session the request had, if any.
    asio::awaitable<NewSession> create(const http::Request& req, std::int64_t user_id, const std::string& username);
    // Destroys the request's session; returns the header value that clears the cookie.
    asio::awaitable<std::string> destroy(const http::Request& req);

    // The anonymous visitor's CSRF token: made from the visitor id in its cookie, if that is
    // well-formed.
    std::optional<std::string> visitor_token(const http::Request& req) const;
    // A new visitor token and the Set-Cookie header value of the visitor id it belongs to.
    std::pair<std::string, std::string> new_visitor_token() const;

    // Checks a submitted token: against the session's when logged in, else the visitor's.
    bool csrf_ok(const http::Request& req, const std::optional<store::Session>& session, std::string_view submitted) const;

    // A short, non-secret label for a session (for the page footer).
    static std::string fingerprint(const store::Session& session);

private:
    std::optional<std::string> cookie_value(const http::Request& req, const std::string& name) const;
    std::string visitor_token_for(std::string_view visitor_id) const;

    std::unique_ptr<SessionStore> store_;
    http::Workers& workers_;
    bool secure_;
    config::Duration ttl_;
    codec::Mac visitor_mac_;
    std::string cookie_name_;
    std::string csrf_cookie_name_;
};

}  // namespace photoshare::app
