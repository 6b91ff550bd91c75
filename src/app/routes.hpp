// The site's route table. Each route declares what a request must bring before its handler
// runs — who may call it, a CSRF token, what its body is and how large, how often a client
// may fail those checks — and Routes enforces all of it here, in one place, for every
// route; a handler receives a Context in which those checks have passed. Every check that
// needs no body is made before a byte of the body is read: a refused request never makes
// its client send the body ("Expect: 100-continue" is answered only when the body is read).
// Routes also applies the run-time knobs to pages and the API, and turns backend failures
// into 503 (507 for a full disk) with a message saying which part is down.
#pragma once

#include "app/knobs.hpp"
#include "app/sessions.hpp"
#include "app/uploads.hpp"
#include "app/visitor.hpp"
#include "auth/throttle.hpp"
#include "http/form.hpp"
#include "http/router.hpp"

#include <boost/json/object.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

namespace photoshare::app {

namespace asio = boost::asio;

enum class Who {
    anyone,   // no session is looked up (health, media, static files)
    visitor,  // the session is looked up; anonymous visitors get a CSRF token of their own
    member,   // 401 without a valid session (503 when the session store cannot answer)
    admin,    // 401 without the admin token (Authorization: Bearer)
};

enum class Csrf {
    none,
    header,  // X-CSRF-Token, checked before a byte of the body is read
    form,    // X-CSRF-Token if sent (checked before the body), else the form's csrf_token field
};

enum class Body {
    none,    // nothing, or req.body as the server read it
    form,    // application/x-www-form-urlencoded (415 otherwise): Context::form
    json,    // application/json holding an object (415, 400 otherwise): Context::json
    upload,  // multipart, streamed to temporary files: Context::upload()
};

struct Access {
    Who who = Who::anyone;
    Csrf csrf = Csrf::none;
    Body body = Body::none;
    std::size_t body_limit = 0;  // 0: the server's default
    bool knobs = true;           // the latency/CPU/slots knobs apply (pages and API; not operations)
    // Counts the client address's wrong credentials (Who::admin: a wrong admin token); past
    // the throttle's allowance, its requests get 429 with Retry-After before any check.
    auth::Throttle* failures = nullptr;
    // Counts the requests the route accepts (answered below 400) per client address, such as
    // new accounts; past the throttle's allowance, the address's next ones get 429 with
    // Retry-After before any check.
    struct Quota {
        auth::Throttle* throttle = nullptr;
        std::string_view refusal;  // the 429's first sentence
    } quota;
};

// A request whose route's checks have passed.
class Context {
public:
    Context(http::Request& req, Uploads& uploads) : req(req), uploads_(uploads) {}
    ~Context();
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    http::Request& req;
    Visitor visitor;           // Who::visitor and Who::member
    http::Fields form;         // Body::form
    boost::json::object json;  // Body::json

    // Who::member: the session.
    const store::Session& session() const { return *visitor.session; }
    // Body::upload: the files and fields, streamed to temporary files on first use (so a
    // handler may answer without reading the body) and removed after the response. Never
    // null; a pointer because an awaitable cannot hold a reference.
    asio::awaitable<const UploadForm*> upload();

private:
    friend class Routes;
    Uploads& uploads_;
    std::optional<UploadForm> upload_;
};

// Whether the request carries `token` as "Authorization: Bearer <token>" (compared in
// constant time; an empty token is never carried).
bool bears_token(const http::Request& req, std::string_view token);

// The 503 for an action that needs the session store while it cannot answer.
[[noreturn]] void throw_sessions_unavailable();

class Routes {
public:
    using Handler = std::function<asio::awaitable<http::Response>(Context&)>;

    struct Services {
        Sessions& sessions;
        Uploads& uploads;
        Knobs& knobs;
        const Flash& flash;
        http::Workers& workers;  // where the CPU knob burns, and blocking throttle calls run
        std::string admin_token;
    };
    Routes(http::Router& router, Services services) : router_(router), services_(std::move(services)) {}

    void add(http::Method method, std::string pattern, Handler handler, Access access = {});

private:
    asio::awaitable<http::Response> handle(const Handler& handler, const Access& access, http::Request& req);
    asio::awaitable<void> admit(Context& ctx, const Access& access);
    void require_csrf(const Context& ctx, std::string_view submitted) const;
    asio::awaitable<void> require_admin(const http::Request& req, auth::Throttle* failures) const;
    asio::awaitable<void> read_body(Context& ctx) const;
    asio::awaitable<void> wait_for(auth::Throttle& throttle, const http::Request& req, std::string_view code,
                                   std::string_view refusal) const;

    http::Router& router_;
    Services services_;
};

}  // namespace photoshare::app
