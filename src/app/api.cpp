// The JSON API (docs/API.md): the same actions as the HTML forms, for programs.
#include "app/accounts.hpp"
#include "app/actions.hpp"
#include "app/app.hpp"
#include "app/responses.hpp"
#include "http/form.hpp"

#include <boost/json.hpp>

#include <charconv>

namespace photoshare::app {

namespace {

// Requiring a JSON content type is also a CSRF defence: a cross-site form cannot send it,
// and a cross-site script cannot without a CORS preflight we never grant.
boost::json::object json_body(const http::Request& req) {
    if (!req.content_type_is("application/json"))
        throw http::HttpError(415, "unsupported_media_type", "Send a JSON body with Content-Type: application/json.");
    boost::system::error_code ec;
    auto v = boost::json::parse(req.body, ec);
    if (ec || !v.is_object()) throw http::HttpError(400, "bad_json", "The body is not a JSON object.");
    return std::move(v.as_object());
}

std::string string_member(const boost::json::object& o, std::string_view name) {
    auto it = o.find(name);
    if (it == o.end() || !it->value().is_string())
        throw http::HttpError(422, "missing_field", "The JSON object needs a string '" + std::string(name) + "'.");
    return std::string(it->value().as_string());
}

asio::awaitable<http::Response> create_user(App& app, http::Request& req) {
    auto body = json_body(req);
    auto user = co_await register_user(app, string_member(body, "username"), string_member(body, "password"));
    auto res = json_response(201, boost::json::object{{"username", user.username}});
    res.set("Location", "/api/v1/users/" + user.username);
    co_return res;
}

asio::awaitable<http::Response> create_session(App& app, http::Request& req) {
    auto body = json_body(req);
    auto user = co_await authenticate(app, req, string_member(body, "username"), string_member(body, "password"));
    auto created = co_await app.sessions->create(req, user.id, user.username);
    auto res = json_response(200, boost::json::object{{"username", user.username}, {"csrf_token", created.session.csrf_token}});
    res.set("Set-Cookie", created.set_cookie);
    co_return res;
}

asio::awaitable<http::Response> delete_session(App& app, http::Request& req) {
    auto session = co_await require_session(app, req);
    require_csrf(app, req, session, req.header("X-CSRF-Token"));
    auto clear = co_await app.sessions->destroy(req);
    http::Response res(204, "", "");
    res.set("Set-Cookie", clear);
    co_return res;
}

asio::awaitable<http::Response> current_session(App& app, http::Request& req) {
    auto session = co_await require_session(app, req);
    co_return json_response(200, boost::json::object{{"username", session.username}, {"csrf_token", session.csrf_token}});
}

asio::awaitable<http::Response> list_photos(App& app, http::Request& req) {
    auto query = http::parse_urlencoded(req.query);
    auto before = parse_before(http::field(query, "before").value_or(""));
    int limit = static_cast<int>(app.config.feed.page_size);
    if (auto text = http::field(query, "limit"); text && !text->empty()) {
        int v = 0;
        auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
        if (ec != std::errc{} || p != text->data() + text->size() || v < 1 || v > static_cast<int>(app.config.feed.max_page_size))
            throw http::HttpError(400, "bad_limit", "'limit' must be a whole number from 1 to " + std::to_string(app.config.feed.max_page_size) + ".");
        limit = v;
    }
    auto view = co_await app.feed->page(before, limit, app.writes.seen(req));
    boost::json::array photos;
    for (const auto& p : view.page->photos) photos.push_back(photo_json(p, *app.media_urls));
    boost::json::object out{{"photos", std::move(photos)}};
    out["next"] = view.page->next ? boost::json::value(std::to_string(*view.page->next)) : boost::json::value(nullptr);
    auto res = json_response(200, out);
    res.set("X-Feed-Source", header_value(view.source));
    co_return res;
}

asio::awaitable<http::Response> get_photo(App& app, http::Request& req) {
    const std::string id(req.param("id"));
    auto photo = co_await app.db("find_photo", [&] { return app.repo->find_photo(id); });
    if (!photo) throw http::HttpError(404, "not_found", "There is no such photo.");
    co_return json_response(200, photo_json(*photo, *app.media_urls));
}

asio::awaitable<http::Response> upload(App& app, http::Request& req) {
    auto session = co_await require_session(app, req);
    auto result = co_await upload_photos(app, req, session, true);
    boost::json::array out;
    for (const auto& p : result.photos) out.push_back(photo_json(p, *app.media_urls));
    auto res = json_response(201, boost::json::object{{"photos", std::move(out)}});
    if (result.replayed) res.set("Idempotency-Replayed", "true");
    if (auto cookie = app.writes.cookie(result.feed_generation); !cookie.empty()) res.set("Set-Cookie", cookie);
    co_return res;
}

asio::awaitable<http::Response> remove_photo(App& app, http::Request& req) {
    auto session = co_await require_session(app, req);
    require_csrf(app, req, session, req.header("X-CSRF-Token"));
    const auto generation = co_await delete_photo(app, session, std::string(req.param("id")));
    http::Response res(204, "", "");
    if (auto cookie = app.writes.cookie(generation); !cookie.empty()) res.set("Set-Cookie", cookie);
    co_return res;
}

}  // namespace

void add_api_routes(App& app, http::Router& router) {
    using http::Method;
    auto route = [&app](App::AppHandler fn) { return app.app_route(fn); };
    router.add(Method::post, "/api/v1/users", route(create_user));
    router.add(Method::post, "/api/v1/session", route(create_session));
    router.add(Method::get, "/api/v1/session", route(current_session));
    router.add(Method::del, "/api/v1/session", route(delete_session));
    router.add(Method::get, "/api/v1/photos", route(list_photos));
    router.add(Method::post, "/api/v1/photos", route(upload), {.body_limit = app.config.limits.max_upload_bytes, .stream_body = true});
    router.add(Method::get, "/api/v1/photos/{id}", route(get_photo));
    router.add(Method::del, "/api/v1/photos/{id}", route(remove_photo));
}

}  // namespace photoshare::app
