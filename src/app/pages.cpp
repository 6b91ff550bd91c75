#include "app/pages.hpp"

#include "app/downloads.hpp"
#include "app/grid.hpp"
#include "app/photo_files.hpp"
#include "app/responses.hpp"

#include <fmt/format.h>

namespace photoshare::app {

namespace {

// The login or register page, with the visitor's last username and a message.
http::Response account_page(const Layout& layout, const Context& ctx, bool register_form, int status, const std::string& username,
                            const std::string& message) {
    Data d;
    d.set("heading", register_form ? "Register" : "Log in");
    d.set("action", register_form ? "/register" : "/login");
    d.set("register", register_form);
    d.set("csrf_token", ctx.visitor.csrf_token);
    d.set("username", username);
    PageFrame frame = visitor_frame(ctx.visitor);
    if (!message.empty()) frame.flash_kind = "error", frame.flash_message = message;
    return html_response(status, layout.page(ctx.req, frame, register_form ? "Register" : "Log in", layout.render("account", d)));
}

std::string field_or_empty(const http::Fields& f, std::string_view name) {
    auto v = http::field(f, name);
    return v ? std::string(*v) : std::string();
}

// How wide the photo page shows the photo (web/static/style.css: .photo-page img, main):
// the content width, but no wider than 80vh of the photo's height allows, nor than the
// display variant itself (a browser shows an image at the width `sizes` promised, so a
// larger value would enlarge a small photo).
std::string shown_width(const store::Photo& photo) {
    const double height_bound = photo.height > 0 ? 80.0 * photo.width / photo.height : 100.0;
    return fmt::format("min(calc(100vw - 2.5rem), 1160px, {:.1f}vh, {}px)", height_bound, photo.width);
}

}  // namespace

asio::awaitable<http::Response> PhotoPage::operator()(Context& ctx) const {
    const std::string id(ctx.req.param("id"));
    auto query = http::parse_urlencoded(ctx.req.query);
    const bool in_user = http::field(query, "in").value_or("") == "user";  // came from the owner's page
    struct Found {
        std::optional<store::Photo> photo;
        std::vector<store::Photo> newer, older;  // at most one each, in the order the visitor pages
    };
    auto found = co_await db.call("photo_page", [&](store::Repository& repo) {
        Found f{repo.find_photo(id), {}, {}};
        if (!f.photo) return f;
        std::optional<std::int64_t> owner;
        if (in_user) owner = f.photo->user_id;
        f.newer = repo.photos({.user_id = owner, .after = f.photo->seq, .limit = 1});
        f.older = repo.photos({.user_id = owner, .before = f.photo->seq, .limit = 1});
        return f;
    });
    if (!found.photo) throw http::HttpError(404, "not_found", "There is no such photo. It may have been deleted.");
    const auto& photo = found.photo;
    const auto& visitor = ctx.visitor;
    Data d;
    d.set("id", photo->id);
    d.set("url", urls.url(display_key(photo->id)));
    d.set("srcset", srcset(*photo, urls, photo->width));
    d.set("sources", picture_sources(*photo, urls, photo->width));
    d.set("sizes", shown_width(*photo));
    d.set("width", std::to_string(photo->width));
    d.set("height", std::to_string(photo->height));
    d.set("username", photo->username);
    d.set("user_href", user_page(photo->username));
    d.set("alt", alt_text(*photo));
    if (!photo->caption.empty()) d.set("caption", photo->caption);  // (an empty string is true to mustache)
    d.set("max_caption_chars", std::to_string(max_caption_chars));
    d.set("uploaded_at", rfc3339(photo->created_at));
    d.set("uploaded_at_text", human_time(photo->created_at));
    const std::string nav_query = in_user ? "?in=user" : "";
    if (!found.newer.empty()) d.set("newer", "/photos/" + found.newer.front().id + nav_query);
    if (!found.older.empty()) d.set("older", "/photos/" + found.older.front().id + nav_query);
    d.set("back", in_user ? user_page(photo->username) : "/");
    d.set("back_text", in_user ? "All photos by " + photo->username : "The latest photos");
    const bool mine = visitor.is(photo->user_id);
    d.set("mine", mine);
    const auto offered = offered_downloads(*photo, mine, full_size_for_everyone);
    d.set("full_size", offered.full);
    d.set("full_width", std::to_string(offered.full_width));
    d.set("full_height", std::to_string(offered.full_height));
    d.set("original", offered.original);
    d.set("original_name", photo->original.name.empty() ? "as uploaded" : photo->original.name);
    d.set("original_size", fmt::format("{:.1f} MB", static_cast<double>(photo->original.bytes) / 1e6));
    d.set("csrf_token", visitor.csrf_token);
    co_return html_response(200, layout.page(ctx.req, visitor_frame(visitor), "Photo by " + photo->username, layout.render("photo", d)));
}

asio::awaitable<http::Response> UserPage::operator()(Context& ctx) const {
    const std::string name(ctx.req.param("name"));
    const auto cursor = parse_cursor(http::parse_urlencoded(ctx.req.query));
    struct Found {
        std::optional<store::User> user;
        std::shared_ptr<FeedPage> page;
    };
    auto found = co_await db.call("user_page", [&](store::Repository& repo) {
        Found f{repo.find_user(name), nullptr};
        if (!f.user) return f;
        f.page = query_user_page(repo, f.user->id, FeedPageKey{0, cursor, page_size});
        return f;
    });
    if (!found.user) throw http::HttpError(404, "no_such_user", "There is no user of that name.");
    const auto& username = found.user->username;  // as they spell it, whatever case the URL had
    Data grid = grid_data(*found.page, ctx.visitor.session.has_value(), urls,
                          GridLinks{.pager = user_page(username), .photo_query = "?in=user"});
    grid.set("empty_text", ctx.visitor.is(found.user->id) ? "You have not shared a photo yet." : username + " has not shared a photo yet.");
    Data d;
    d.set("username", username);
    d.set("grid", layout.render("grid", grid));
    d.set("mine", ctx.visitor.is(found.user->id));
    co_return html_response(200, layout.page(ctx.req, visitor_frame(ctx.visitor), "Photos by " + username, layout.render("user", d)));
}

asio::awaitable<http::Response> CaptionPost::operator()(Context& ctx) const {
    const std::string id(ctx.req.param("id"));
    const auto [photo, generation] = co_await photos.caption(ctx.session(), id, field_or_empty(ctx.form, "caption"));
    co_return with_cookie(with_cookie(redirect("/photos/" + photo.id), writes.cookie(generation)), flash.cookie(FlashCode::caption_saved));
}

asio::awaitable<http::Response> AccountForm::operator()(Context& ctx) const {
    if (ctx.visitor.session) co_return redirect("/");
    co_return account_page(layout, ctx, register_form, 200, "", "");
}

asio::awaitable<http::Response> AccountPost::operator()(Context& ctx) const {
    const auto username = field_or_empty(ctx.form, "username");
    const auto password = field_or_empty(ctx.form, "password");
    std::optional<store::User> user;
    std::optional<http::HttpError> failure;
    try {
        if (register_form) {
            user = co_await accounts.register_user(username, password);
        } else {
            user = co_await accounts.authenticate(ctx.req.client_address, username, password);
        }
    } catch (const http::HttpError& e) {
        failure = e;
    }
    if (failure) {
        auto res = account_page(layout, ctx, register_form, failure->status(), username, failure->what());
        for (const auto& h : failure->headers()) res.headers.push_back(h);
        co_return res;
    }
    auto created = co_await sessions.create(ctx.req, user->id, user->username);
    co_return with_cookie(with_cookie(redirect("/"), created.set_cookie),
                          flash.cookie(register_form ? FlashCode::registered : FlashCode::logged_in));
}

asio::awaitable<http::Response> UploadFormRedirect::operator()(Context&) const { co_return redirect("/#upload"); }

asio::awaitable<http::Response> LogoutPost::operator()(Context& ctx) const {
    if (ctx.visitor.sessions_unavailable) throw_sessions_unavailable();  // the session could not be ended
    auto cleared = co_await sessions.destroy(ctx.req);
    co_return with_cookie(with_cookie(redirect("/"), cleared), flash.cookie(FlashCode::logged_out));
}

asio::awaitable<http::Response> UploadPost::operator()(Context& ctx) const {
    auto result = co_await photos.upload(ctx);
    co_return with_cookie(with_cookie(redirect("/"), writes.cookie(result.feed_generation)),
                          flash.cookie(FlashCode::uploaded, static_cast<int>(result.photos.size())));
}

asio::awaitable<http::Response> DeletePost::operator()(Context& ctx) const {
    const auto generation = co_await photos.remove(ctx.session(), std::string(ctx.req.param("id")));
    co_return with_cookie(with_cookie(redirect("/"), writes.cookie(generation)), flash.cookie(FlashCode::deleted));
}

}  // namespace photoshare::app
