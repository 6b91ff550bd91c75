#include "app/pages.hpp"

#include "app/accounts.hpp"
#include "app/actions.hpp"
#include "app/app.hpp"
#include "app/responses.hpp"
#include "http/form.hpp"

#include <fmt/format.h>

namespace photoshare::app {

// A page rendered once with markers where its per-request values go: text[i] is followed by
// the value of slot[i] (none when -1).
struct SplitPage {
    std::vector<std::string> text;
    std::vector<int> slot;
};

// Rendered forms of one feed page, kept with it: the grid for each kind of visitor, and the
// whole front page for each, split around its per-request values. Rendering a page for every
// request cost a member's page about a quarter of its CPU (docs/PERFORMANCE.md).
struct RenderedFeed {
    std::chrono::steady_clock::time_point made;  // pages with expiring (presigned) URLs are made again
    std::string grid_anonymous;
    std::string grid_member;
    SplitPage anonymous;
    SplitPage member;
};

namespace {

// Slot markers survive HTML escaping and never occur in templates or user data (control
// characters are refused in every field that is shown).
enum Slot { kCsrf = 0, kRequestId = 1, kFeedSource = 2, kUsername = 3, kFingerprint = 4, kSlots };
const char* const kMarkers[kSlots] = {"\x1f" "csrf" "\x1f", "\x1f" "rid" "\x1f", "\x1f" "src" "\x1f",
                                      "\x1f" "user" "\x1f", "\x1f" "fp" "\x1f"};

void split_slots(const std::string& page, SplitPage& out) {
    std::size_t pos = 0;
    for (;;) {
        std::size_t best = std::string::npos;
        int which = -1;
        for (int s = 0; s < kSlots; ++s) {
            auto at = page.find(kMarkers[s], pos);
            if (at < best) best = at, which = s;
        }
        if (which < 0) {
            out.text.push_back(page.substr(pos));
            out.slot.push_back(-1);
            return;
        }
        out.text.push_back(page.substr(pos, best - pos));
        out.slot.push_back(which);
        pos = best + std::strlen(kMarkers[which]);
    }
}

// Every value must already be escaped for HTML, as the template would have escaped it.
std::string assemble(const SplitPage& r, const std::string_view (&values)[kSlots]) {
    std::size_t size = 0;
    for (std::size_t i = 0; i < r.text.size(); ++i) size += r.text[i].size() + (r.slot[i] >= 0 ? values[r.slot[i]].size() : 0);
    std::string out;
    out.reserve(size);
    for (std::size_t i = 0; i < r.text.size(); ++i) {
        out += r.text[i];
        if (r.slot[i] >= 0) out += values[r.slot[i]];
    }
    return out;
}

Data grid_data(const FeedPage& page, bool logged_in, const MediaUrls& urls) {
    Data items{Data::type::list};
    for (const auto& p : page.photos) {
        Data item;
        item.set("id", p.id);
        item.set("thumbnail_url", urls.url(Uploads::thumbnail_key(p.id)));
        item.set("thumb_width", std::to_string(p.thumb_width));
        item.set("thumb_height", std::to_string(p.thumb_height));
        item.set("username", p.username);
        item.set("uploaded_at", rfc3339(p.created_at));
        item.set("uploaded_at_text", human_time(p.created_at));
        items.push_back(item);
    }
    Data d;
    if (!page.photos.empty()) {
        Data photos;
        photos.set("items", items);
        d.set("photos", photos);
    }
    d.set("logged_in", logged_in);
    d.set("newer", page.before.has_value());
    if (page.next) d.set("older", std::to_string(*page.next));
    return d;
}

Data home_data(App& app, const std::string& grid, bool logged_in, const std::string& csrf, const std::string& username) {
    Data d;
    if (logged_in) {
        Data user;
        user.set("username", username);
        d.set("user", user);
    }
    d.set("csrf_token", csrf);
    d.set("grid", grid);
    d.set("max_upload_bytes", std::to_string(app.config.limits.max_upload_bytes));
    d.set("max_upload_mib", std::to_string(app.config.limits.max_upload_bytes / (1024 * 1024)));
    return d;
}

// Shared, not a reference: another request may replace the rendering while this one uses it.
std::shared_ptr<const RenderedFeed> rendered(App& app, const FeedPage& page) {
    std::lock_guard lock(page.rendered_mutex);
    const auto lifetime = app.media_urls->lifetime();
    const bool expired = page.rendered && lifetime && std::chrono::steady_clock::now() - page.rendered->made > *lifetime / 2;
    if (!page.rendered || expired) {
        auto r = std::make_shared<RenderedFeed>();
        r->made = std::chrono::steady_clock::now();
        r->grid_anonymous = app.views.render("grid", grid_data(page, false, *app.media_urls));
        r->grid_member = app.views.render("grid", grid_data(page, true, *app.media_urls));
        // The anonymous front page is the same for every visitor but for three values.
        http::Request none;
        PageFrame frame;
        frame.csrf_token = kMarkers[kCsrf];
        frame.feed_source = kMarkers[kFeedSource];
        none.request_id = kMarkers[kRequestId];
        auto content = app.views.render("home", home_data(app, r->grid_anonymous, false, kMarkers[kCsrf], ""));
        split_slots(render_page(app, none, frame, "Latest photos", content), r->anonymous);
        // A member's front page differs from another's by their name, session and token too.
        store::Session marked;
        marked.username = kMarkers[kUsername];
        PageFrame member_frame{marked, kMarkers[kCsrf], kMarkers[kFeedSource], "", "", kMarkers[kFingerprint]};
        auto member_content = app.views.render("home", home_data(app, r->grid_member, true, kMarkers[kCsrf], kMarkers[kUsername]));
        split_slots(render_page(app, none, member_frame, "Latest photos", member_content), r->member);
        page.rendered = std::move(r);
    }
    return page.rendered;
}

http::Fields form_fields(const http::Request& req) {
    if (!req.content_type_is("application/x-www-form-urlencoded"))
        throw http::HttpError(415, "unsupported_media_type", "Send this form as application/x-www-form-urlencoded.");
    return http::parse_urlencoded(req.body);
}

std::string field_or_empty(const http::Fields& f, std::string_view name) {
    auto v = http::field(f, name);
    return v ? std::string(*v) : std::string();
}

http::Response with_cookie(http::Response res, const std::string& set_cookie) {
    if (!set_cookie.empty()) res.set("Set-Cookie", set_cookie);
    return res;
}

// What a page says while the session store cannot answer: the visitor sees the site as
// anyone would, and knows why they are not signed in.
constexpr const char* kSigninUnavailable = "Signing in is unavailable at the moment, so you are seeing the site as a visitor.";

PageFrame visitor_frame(const Visitor& v) {
    PageFrame frame{v.session, v.csrf_token, nullptr, "", "", ""};
    if (v.sessions_unavailable) {
        frame.flash_kind = "error";
        frame.flash_message = kSigninUnavailable;
    }
    return frame;
}

// The login and register pages, with the visitor's last username and a message.
http::Response account_page(App& app, const http::Request& req, const Visitor& v, bool register_form, int status,
                            const std::string& username, const std::string& message) {
    Data d;
    d.set("heading", register_form ? "Register" : "Log in");
    d.set("action", register_form ? "/register" : "/login");
    d.set("register", register_form);
    d.set("csrf_token", v.csrf_token);
    d.set("username", username);
    PageFrame frame = visitor_frame(v);
    if (!message.empty()) frame.flash_kind = "error", frame.flash_message = message;
    auto res = html_response(status, render_page(app, req, frame, register_form ? "Register" : "Log in", app.views.render("account", d)));
    return with_cookie(std::move(res), v.set_cookie);
}

asio::awaitable<http::Response> home(App& app, http::Request& req) {
    auto query = http::parse_urlencoded(req.query);
    auto before = parse_before(http::field(query, "before").value_or(""));
    auto visitor = co_await load_visitor(app, req);
    auto view = co_await app.feed->page(before, static_cast<int>(app.config.feed.page_size), app.writes.seen(req));
    const auto rendering = rendered(app, *view.page);
    const auto& r = *rendering;
    http::Response res;
    const std::string request_id = html_escape(req.request_id);  // plain tokens, but this is HTML
    const std::string_view source = footer_text(view.source);   // text of ours, nothing to escape
    if (visitor.sessions_unavailable) {
        // Rare (an outage), so rendered for the request, with its notice.
        PageFrame frame = visitor_frame(visitor);
        frame.feed_source = footer_text(view.source);
        auto content = app.views.render("home", home_data(app, r.grid_anonymous, false, visitor.csrf_token, ""));
        res = html_response(200, render_page(app, req, frame, "Latest photos", content));
    } else if (!visitor.session) {
        // A visitor's token is one we made or a cookie that passed well_formed_token:
        // base64url only, nothing to escape.
        const std::string_view values[kSlots] = {visitor.csrf_token, request_id, source, "", ""};
        res = html_response(200, assemble(r.anonymous, values));
    } else {
        // What comes from the session store is escaped, as the template escaped it; the
        // fingerprint is hex made here.
        const std::string csrf_token = html_escape(visitor.csrf_token);
        const std::string username = html_escape(visitor.session->username);
        const std::string fingerprint = Sessions::fingerprint(*visitor.session);
        const std::string_view values[kSlots] = {csrf_token, request_id, source, username, fingerprint};
        res = html_response(200, assemble(r.member, values));
    }
    co_return with_cookie(std::move(res), visitor.set_cookie);
}

asio::awaitable<http::Response> photo_page(App& app, http::Request& req) {
    const std::string id(req.param("id"));
    auto visitor = co_await load_visitor(app, req);
    auto photo = co_await app.db("find_photo", [&] { return app.repo->find_photo(id); });
    if (!photo) throw http::HttpError(404, "not_found", "There is no such photo. It may have been deleted.");
    Data d;
    d.set("id", photo->id);
    d.set("url", app.media_urls->url(Uploads::display_key(photo->id)));
    d.set("width", std::to_string(photo->width));
    d.set("height", std::to_string(photo->height));
    d.set("username", photo->username);
    d.set("uploaded_at", rfc3339(photo->created_at));
    d.set("uploaded_at_text", human_time(photo->created_at));
    d.set("mine", visitor.session && visitor.session->user_id == photo->user_id);
    d.set("csrf_token", visitor.csrf_token);
    co_return with_cookie(html_response(200, render_page(app, req, visitor_frame(visitor), "Photo by " + photo->username, app.views.render("photo", d))),
                          visitor.set_cookie);
}

asio::awaitable<http::Response> account_form(App& app, http::Request& req, bool register_form) {
    auto visitor = co_await load_visitor(app, req);
    if (visitor.session) co_return redirect("/");
    co_return account_page(app, req, visitor, register_form, 200, "", "");
}

asio::awaitable<http::Response> account_post(App& app, http::Request& req, bool register_form) {
    auto fields = form_fields(req);
    auto visitor = co_await load_visitor(app, req);
    require_csrf(app, req, visitor.session, field_or_empty(fields, "csrf_token"));
    const auto username = field_or_empty(fields, "username");
    const auto password = field_or_empty(fields, "password");
    std::optional<store::User> user;
    std::optional<http::HttpError> failure;
    try {
        if (register_form) {
            user = co_await register_user(app, username, password);
        } else {
            user = co_await authenticate(app, req, username, password);
        }
    } catch (const http::HttpError& e) {
        failure = e;
    }
    if (failure) {
        auto res = account_page(app, req, visitor, register_form, failure->status(), username, failure->what());
        for (const auto& h : failure->headers()) res.headers.push_back(h);
        co_return res;
    }
    auto created = co_await app.sessions->create(req, user->id, user->username);
    auto res = redirect("/");
    res.set("Set-Cookie", created.set_cookie);
    co_return res;
}

asio::awaitable<http::Response> logout(App& app, http::Request& req) {
    auto fields = form_fields(req);
    auto visitor = co_await load_visitor(app, req);
    if (visitor.sessions_unavailable) throw_sessions_unavailable();  // the session could not be ended
    require_csrf(app, req, visitor.session, field_or_empty(fields, "csrf_token"));
    auto clear = co_await app.sessions->destroy(req);
    auto res = redirect("/");
    res.set("Set-Cookie", clear);
    co_return res;
}

asio::awaitable<http::Response> upload_form(App& app, http::Request& req) {
    auto session = co_await require_session(app, req);
    auto result = co_await upload_photos(app, req, session, false);
    co_return with_cookie(redirect("/"), app.writes.cookie(result.feed_generation));
}

asio::awaitable<http::Response> delete_form(App& app, http::Request& req) {
    auto fields = form_fields(req);
    auto session = co_await require_session(app, req);
    require_csrf(app, req, session, field_or_empty(fields, "csrf_token"));
    const auto generation = co_await delete_photo(app, session, std::string(req.param("id")));
    co_return with_cookie(redirect("/"), app.writes.cookie(generation));
}

}  // namespace

std::string render_page(App& app, const http::Request& req, const PageFrame& frame, const std::string& title, const std::string& content) {
    Data d;
    d.set("title", title);
    d.set("content", content);
    d.set("asset_css", app.views.asset_url("style.css"));
    d.set("asset_js", app.views.asset_url("app.js"));
    d.set("asset_icon", app.views.asset_url("favicon.svg"));
    if (frame.session) {
        Data user;
        user.set("username", frame.session->username);
        user.set("csrf_token", frame.csrf_token);
        d.set("user", user);
        d.set("session_fingerprint", frame.session_fingerprint.empty() ? Sessions::fingerprint(*frame.session) : frame.session_fingerprint);
    }
    if (!frame.flash_message.empty()) {
        Data flash;
        flash.set("kind", frame.flash_kind);
        flash.set("message", frame.flash_message);
        d.set("flash", flash);
    }
    if (frame.feed_source) d.set("feed_source", std::string(frame.feed_source));
    d.set("server_name", app.info.name);
    d.set("server_address", app.info.address);
    d.set("server_pid", std::to_string(app.info.pid));
    d.set("request_id", req.request_id);
    return app.views.render("layout", d);
}

void add_page_routes(App& app, http::Router& router) {
    using http::Method;
    auto route = [&app](App::AppHandler fn) { return app.app_route(fn); };
    router.add(Method::get, "/", route(home));
    router.add(Method::get, "/photos/{id}", route(photo_page));
    router.add(Method::get, "/login", route([](App& a, http::Request& r) { return account_form(a, r, false); }));
    router.add(Method::get, "/register", route([](App& a, http::Request& r) { return account_form(a, r, true); }));
    router.add(Method::post, "/login", route([](App& a, http::Request& r) { return account_post(a, r, false); }));
    router.add(Method::post, "/register", route([](App& a, http::Request& r) { return account_post(a, r, true); }));
    router.add(Method::post, "/logout", route(logout));
    router.add(Method::post, "/upload", route(upload_form), {.body_limit = app.config.limits.max_upload_bytes, .stream_body = true});
    router.add(Method::post, "/photos/{id}/delete", route(delete_form));
}

}  // namespace photoshare::app
