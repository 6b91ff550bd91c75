#include "app/routes.hpp"

#include "app/responses.hpp"
#include "http/runtime.hpp"
#include "blob/blob.hpp"
#include "codec/compare.hpp"
#include "kv/kv.hpp"
#include "store/repository.hpp"

#include <boost/json/parse.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

namespace photoshare::app {

Context::~Context() {
    if (upload_) uploads_.discard(*upload_);
}

asio::awaitable<const UploadForm*> Context::upload() {
    if (!upload_) upload_ = co_await uploads_.receive(req);
    co_return &*upload_;
}

bool bears_token(const http::Request& req, std::string_view token) {
    const auto header = req.header("Authorization");
    constexpr std::string_view prefix = "Bearer ";
    return !token.empty() && header.starts_with(prefix) && codec::equal_constant_time(header.substr(prefix.size()), token);
}

void throw_sessions_unavailable() {
    throw http::HttpError(503, "sessions_unavailable", "Signing in is unavailable at the moment. Please try again in a little while.",
                          {{"Retry-After", "5"}});
}

namespace {

// Content types are checked before the body is read; the body is parsed after.
void require_content_type(const http::Request& req, Body body) {
    if (body == Body::form && !req.content_type_is("application/x-www-form-urlencoded"))
        throw http::HttpError(415, "unsupported_media_type", "Send this form as application/x-www-form-urlencoded.");
    // Requiring a JSON content type is also a CSRF defence: a cross-site form cannot send it,
    // and a cross-site script cannot without a CORS preflight we never grant.
    if (body == Body::json && !req.content_type_is("application/json"))
        throw http::HttpError(415, "unsupported_media_type", "Send a JSON body with Content-Type: application/json.");
}

boost::json::object json_body(const http::Request& req) {
    boost::system::error_code ec;
    auto v = boost::json::parse(req.body, ec);
    if (ec || !v.is_object()) throw http::HttpError(400, "bad_json", "The body is not a JSON object.");
    return std::move(v.as_object());
}

asio::awaitable<Visitor> load_visitor(Sessions& sessions, const http::Request& req) {
    Visitor v;
    auto found = co_await sessions.load(req);
    v.session = std::move(found.session);
    v.sessions_unavailable = found.unavailable;
    if (v.session) {
        v.csrf_token = v.session->csrf_token;
    } else if (auto token = sessions.visitor_token(req)) {
        v.csrf_token = *token;
    } else {
        std::tie(v.csrf_token, v.set_cookie) = sessions.new_visitor_token();
    }
    co_return v;
}

asio::awaitable<Visitor> load_member(Sessions& sessions, const http::Request& req) {
    auto found = co_await sessions.load(req);
    if (!found.session) {
        if (found.unavailable) throw_sessions_unavailable();
        throw http::HttpError(401, "not_logged_in", "Please log in first.");
    }
    Visitor v;
    v.csrf_token = found.session->csrf_token;
    v.session = std::move(found.session);
    co_return v;
}

}  // namespace

void Routes::require_csrf(const Context& ctx, std::string_view submitted) const {
    if (services_.sessions.csrf_ok(ctx.req, ctx.visitor.session, submitted)) return;
    // The visitor's session, whose token this may be, cannot be read right now.
    if (ctx.visitor.sessions_unavailable) throw_sessions_unavailable();
    throw http::HttpError(403, "bad_csrf_token", "This form has expired or did not come from this site. Reload the page and try again.");
}

// 429 while the client address must wait. The throttle's store may wait on the network:
// its calls run on a worker.
asio::awaitable<void> Routes::wait_for(auth::Throttle& throttle, const http::Request& req, std::string_view code,
                                       std::string_view refusal) const {
    if (auto wait = co_await services_.workers.call([&] { return throttle.waiting(req.client_address); }))
        throw http::HttpError(429, std::string(code), fmt::format("{} {}", refusal, try_again_in(*wait)),
                              {{"Retry-After", std::to_string(wait->count())}});
}

asio::awaitable<void> Routes::require_admin(const http::Request& req, auth::Throttle* failures) const {
    if (failures) co_await wait_for(*failures, req, "too_many_attempts", "Too many wrong admin tokens.");
    if (bears_token(req, services_.admin_token)) co_return;
    // A request without a token is no guess: only a wrong token counts.
    if (failures && !req.header("Authorization").empty()) co_await services_.workers.call([&] { failures->record(req.client_address); });
    throw http::HttpError(401, "admin_token_required", "Send the admin token as 'Authorization: Bearer <token>'.",
                          {{"WWW-Authenticate", "Bearer"}});
}

// The whole body, into req.body (routes that read it themselves; the parser holds it to the
// route's limit).
asio::awaitable<void> Routes::read_body(Context& ctx) const {
    auto* reader = ctx.req.body_reader;
    if (!reader) co_return;
    std::string body;
    if (auto declared = reader->content_length()) body.reserve(static_cast<std::size_t>(*declared));
    std::array<char, 16 * 1024> chunk{};
    while (auto n = co_await reader->read_some(chunk)) body.append(chunk.data(), n);
    ctx.req.body = std::move(body);
}

// The checks, in the order a request meets them: what it sends (content type), who is
// asking, a CSRF token in a header — all before the body is read — then the body and a
// CSRF token inside it.
asio::awaitable<void> Routes::admit(Context& ctx, const Access& access) {
    require_content_type(ctx.req, access.body);
    switch (access.who) {
        case Who::anyone: break;
        case Who::visitor:
            ctx.visitor = co_await load_visitor(services_.sessions, ctx.req);
            // A page shows what the form before it left; the API and forms never take it.
            if (ctx.req.method == http::Method::get && !is_api(ctx.req)) ctx.visitor.flash = services_.flash.read(ctx.req);
            break;
        case Who::member: ctx.visitor = co_await load_member(services_.sessions, ctx.req); break;
        case Who::admin: co_await require_admin(ctx.req, access.failures); break;
    }
    const auto header = ctx.req.header("X-CSRF-Token");
    const bool csrf_in_header = access.csrf == Csrf::header || (access.csrf == Csrf::form && !header.empty());
    if (csrf_in_header) require_csrf(ctx, header);
    if (access.body == Body::upload) {
        if (access.csrf == Csrf::form && !csrf_in_header) require_csrf(ctx, (co_await ctx.upload())->csrf_token);
        co_return;
    }
    co_await read_body(ctx);
    if (access.body == Body::form) ctx.form = http::parse_urlencoded(ctx.req.body);
    if (access.body == Body::json) ctx.json = json_body(ctx.req);
    if (access.csrf == Csrf::form && !csrf_in_header) require_csrf(ctx, http::field(ctx.form, "csrf_token").value_or(""));
}

asio::awaitable<http::Response> Routes::handle(const Handler& handler, const Access& access, http::Request& req) {
    if (access.knobs) co_await services_.knobs.apply(services_.workers);
    try {
        Context ctx(req, services_.uploads);
        auto* quota = access.quota.throttle;
        if (quota) co_await wait_for(*quota, req, "too_many_requests", access.quota.refusal);
        // Most routes (files, the feed API, operations) require nothing: no coroutine frame for them.
        if (access.who != Who::anyone || access.csrf != Csrf::none || access.body != Body::none || req.body_reader) co_await admit(ctx, access);
        auto response = with_cookie(co_await handler(ctx), ctx.visitor.set_cookie);
        if (ctx.visitor.flash && std::none_of(response.headers.begin(), response.headers.end(), [&](const auto& h) {
                return h.first == "Set-Cookie" && services_.flash.sets(h.second);
            }))
            response.set("Set-Cookie", services_.flash.clear());  // shown once
        if (quota && response.status < 400) co_await services_.workers.call([&] { quota->record(req.client_address); });
        co_return response;
    } catch (const store::Unavailable& e) {
        spdlog::warn("database unavailable: {}", e.what());
        throw http::HttpError(503, "database_unavailable", "The database is unavailable. Please try again in a moment.",
                              {{"Retry-After", "5"}});
    } catch (const kv::Unavailable& e) {
        spdlog::warn("key-value store unavailable: {}", e.what());
        throw http::HttpError(503, "sessions_unavailable", "The session store is unavailable. Please try again in a moment.",
                              {{"Retry-After", "5"}});
    } catch (const blob::OutOfSpace& e) {
        spdlog::error("media storage full: {}", e.what());
        throw http::HttpError(507, "insufficient_storage", "Photo storage is full, so the photo was not stored. Please try again later.");
    } catch (const blob::Unavailable& e) {
        spdlog::warn("media storage unavailable: {}", e.what());
        throw http::HttpError(503, "storage_unavailable", "Photo storage is unavailable. Please try again in a moment.",
                              {{"Retry-After", "5"}});
    }
}

void Routes::add(http::Method method, std::string pattern, Handler handler, Access access) {
    http::RouteOptions options;
    options.body_limit = access.body_limit;
    // Routes read the body themselves, after the checks that need none, wherever a body is
    // expected: GET and HEAD bodies (none, as a rule) are read by the server as before.
    options.stream_body = access.body != Body::none || (method != http::Method::get && method != http::Method::head);
    router_.add(
        method, std::move(pattern),
        [this, handler = std::move(handler), access](http::Request& req) { return handle(handler, access, req); }, options);
}

}  // namespace photoshare::app
