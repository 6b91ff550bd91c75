#include "app/pages.hpp"

#include "app/downloads.hpp"
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
    auto photo = co_await db.call("find_photo", [&](store::Repository& repo) { return repo.find_photo(id); });
    if (!photo) throw http::HttpError(404, "not_found", "There is no such photo. It may have been deleted.");
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
    d.set("uploaded_at", rfc3339(photo->created_at));
    d.set("uploaded_at_text", human_time(photo->created_at));
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
    co_return with_cookie(redirect("/"), created.set_cookie);
}

asio::awaitable<http::Response> UploadFormRedirect::operator()(Context&) const { co_return redirect("/#upload"); }

asio::awaitable<http::Response> LogoutPost::operator()(Context& ctx) const {
    if (ctx.visitor.sessions_unavailable) throw_sessions_unavailable();  // the session could not be ended
    co_return with_cookie(redirect("/"), co_await sessions.destroy(ctx.req));
}

asio::awaitable<http::Response> UploadPost::operator()(Context& ctx) const {
    auto result = co_await photos.upload(ctx);
    co_return with_cookie(redirect("/"), writes.cookie(result.feed_generation));
}

asio::awaitable<http::Response> DeletePost::operator()(Context& ctx) const {
    const auto generation = co_await photos.remove(ctx.session(), std::string(ctx.req.param("id")));
    co_return with_cookie(redirect("/"), writes.cookie(generation));
}

}  // namespace photoshare::app
