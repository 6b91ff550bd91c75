#include "app/api.hpp"

#include "app/downloads.hpp"

#include "app/responses.hpp"
#include "http/form.hpp"

#include <boost/json.hpp>

#include <charconv>

namespace photoshare::app::api {

namespace {

std::string string_member(const boost::json::object& o, std::string_view name) {
    auto it = o.find(name);
    if (it == o.end() || !it->value().is_string())
        throw http::HttpError(422, "missing_field", "The JSON object needs a string '" + std::string(name) + "'.");
    return std::string(it->value().as_string());
}

}  // namespace

asio::awaitable<http::Response> CreateUser::operator()(Context& ctx) const {
    auto user = co_await accounts.register_user(string_member(ctx.json, "username"), string_member(ctx.json, "password"));
    auto res = json_response(201, boost::json::object{{"username", user.username}});
    res.set("Location", "/api/v1/users/" + user.username);
    co_return res;
}

asio::awaitable<http::Response> CreateSession::operator()(Context& ctx) const {
    auto user = co_await accounts.authenticate(ctx.req.client_address, string_member(ctx.json, "username"),
                                               string_member(ctx.json, "password"));
    auto created = co_await sessions.create(ctx.req, user.id, user.username);
    auto res = json_response(200, boost::json::object{{"username", user.username}, {"csrf_token", created.session.csrf_token}});
    res.set("Set-Cookie", created.set_cookie);
    co_return res;
}

asio::awaitable<http::Response> CurrentSession::operator()(Context& ctx) const {
    co_return json_response(200, boost::json::object{{"username", ctx.session().username}, {"csrf_token", ctx.session().csrf_token}});
}

asio::awaitable<http::Response> DeleteSession::operator()(Context& ctx) const {
    auto clear = co_await sessions.destroy(ctx.req);
    http::Response res(204, "", "");
    res.set("Set-Cookie", clear);
    co_return res;
}

asio::awaitable<http::Response> ListPhotos::operator()(Context& ctx) const {
    auto query = http::parse_urlencoded(ctx.req.query);
    auto before = parse_before(http::field(query, "before").value_or(""));
    int limit = page_size;
    if (auto text = http::field(query, "limit"); text && !text->empty()) {
        int v = 0;
        auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
        if (ec != std::errc{} || p != text->data() + text->size() || v < 1 || v > max_page_size)
            throw http::HttpError(400, "bad_limit", "'limit' must be a whole number from 1 to " + std::to_string(max_page_size) + ".");
        limit = v;
    }
    auto view = co_await feed.page(before, limit, writes.seen(ctx.req));
    boost::json::array photos;
    for (const auto& p : view.page->photos) photos.push_back(photo_json(p, urls));
    boost::json::object out{{"photos", std::move(photos)}};
    out["next"] = view.page->next ? boost::json::value(std::to_string(*view.page->next)) : boost::json::value(nullptr);
    auto res = json_response(200, out);
    res.set("X-Feed-Source", header_value(view.source));
    co_return res;
}

asio::awaitable<http::Response> GetPhoto::operator()(Context& ctx) const {
    const std::string id(ctx.req.param("id"));
    auto photo = co_await db.call("find_photo", [&](store::Repository& repo) { return repo.find_photo(id); });
    if (!photo) throw http::HttpError(404, "not_found", "There is no such photo.");
    auto out = photo_json(*photo, urls);
    const bool owner = ctx.visitor.is(photo->user_id);
    out["downloads"] = downloads_json(*photo, offered_downloads(*photo, owner, full_size_for_everyone));
    co_return json_response(200, out);
}

asio::awaitable<http::Response> UploadPhotos::operator()(Context& ctx) const {
    auto result = co_await photos.upload(ctx);
    boost::json::array out;
    for (const auto& p : result.photos) out.push_back(photo_json(p, urls));
    boost::json::array notes;
    for (const auto& n : result.notes) notes.emplace_back(n);
    auto res = json_response(201, boost::json::object{{"photos", std::move(out)}, {"notes", std::move(notes)}});
    if (result.replayed) res.set("Idempotency-Replayed", "true");
    co_return with_cookie(std::move(res), writes.cookie(result.feed_generation));
}

asio::awaitable<http::Response> DeletePhoto::operator()(Context& ctx) const {
    const auto generation = co_await photos.remove(ctx.session(), std::string(ctx.req.param("id")));
    co_return with_cookie(http::Response(204, "", ""), writes.cookie(generation));
}

}  // namespace photoshare::app::api
