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

// ?limit= of a listing: 1 to max_page_size, page_size when absent.
int page_limit(const http::Fields& query, int page_size, int max_page_size) {
    auto text = http::field(query, "limit");
    if (!text || text->empty()) return page_size;
    int v = 0;
    auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
    if (ec != std::errc{} || p != text->data() + text->size() || v < 1 || v > max_page_size)
        throw http::HttpError(400, "bad_limit", "'limit' must be a whole number from 1 to " + std::to_string(max_page_size) + ".");
    return v;
}

// A page of photos with the cursors of the pages older ("next") and newer ("previous").
boost::json::object page_json(const FeedPage& page, const MediaUrls& urls) {
    boost::json::array photos;
    for (const auto& p : page.photos) photos.push_back(photo_json(p, urls));
    const auto cursor = [](const std::optional<std::int64_t>& seq) {
        return seq ? boost::json::value(std::to_string(*seq)) : boost::json::value(nullptr);
    };
    return boost::json::object{{"photos", std::move(photos)}, {"next", cursor(page.next)}, {"previous", cursor(page.previous)}};
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
    const auto cursor = parse_cursor(query);
    auto view = co_await feed.page(cursor, page_limit(query, page_size, max_page_size), writes.seen(ctx.req));
    auto res = json_response(200, page_json(*view.page, urls));
    res.set("X-Feed-Source", header_value(view.source));
    co_return res;
}

asio::awaitable<http::Response> ListUserPhotos::operator()(Context& ctx) const {
    const std::string name(ctx.req.param("name"));
    auto query = http::parse_urlencoded(ctx.req.query);
    const FeedPageKey key{0, parse_cursor(query), page_limit(query, page_size, max_page_size)};
    auto page = co_await db.call("user_page", [&](store::Repository& repo) -> std::shared_ptr<FeedPage> {
        const auto user = repo.find_user(name);
        if (!user) return nullptr;
        return query_user_page(repo, user->id, key);
    });
    if (!page) throw http::HttpError(404, "no_such_user", "There is no user of that name.");
    co_return json_response(200, page_json(*page, urls));
}

asio::awaitable<http::Response> UpdatePhoto::operator()(Context& ctx) const {
    const auto caption = string_member(ctx.json, "caption");
    const auto [photo, generation] = co_await photos.caption(ctx.session(), std::string(ctx.req.param("id")), caption);
    co_return with_cookie(json_response(200, photo_json(photo, urls)), writes.cookie(generation));
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
