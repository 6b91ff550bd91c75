#include "app/actions.hpp"

#include "app/app.hpp"

#include <charconv>
#include <spdlog/spdlog.h>

namespace photoshare::app {

asio::awaitable<Visitor> load_visitor(App& app, const http::Request& req) {
    Visitor v;
    v.session = co_await app.sessions->load(req);
    if (v.session) {
        v.csrf_token = v.session->csrf_token;
    } else if (auto token = app.sessions->visitor_token(req)) {
        v.csrf_token = *token;
    } else {
        std::tie(v.csrf_token, v.set_cookie) = app.sessions->new_visitor_token();
    }
    co_return v;
}

asio::awaitable<store::Session> require_session(App& app, const http::Request& req) {
    auto session = co_await app.sessions->load(req);
    if (!session) throw http::HttpError(401, "not_logged_in", "Please log in first.");
    co_return *session;
}

void require_csrf(App& app, const http::Request& req, const std::optional<store::Session>& session, std::string_view submitted) {
    if (!app.sessions->csrf_ok(req, session, submitted))
        throw http::HttpError(403, "bad_csrf_token",
                              "This form has expired or did not come from this site. Reload the page and try again.");
}

asio::awaitable<std::vector<store::Photo>> upload_photos(App& app, http::Request& req, const store::Session& session,
                                                         bool token_in_header) {
    // An API client proves itself before sending a byte of the body.
    if (token_in_header) require_csrf(app, req, session, req.header("X-CSRF-Token"));
    auto form = co_await app.uploads->receive(req);
    struct Discard {
        App& app;
        const UploadForm& form;
        ~Discard() { app.uploads->discard(form); }
    } discard{app, form};
    if (!token_in_header) {
        auto header = req.header("X-CSRF-Token");
        require_csrf(app, req, session, header.empty() ? std::string_view(form.csrf_token) : header);
    }
    auto photos = co_await app.uploads->store(form, session.user_id, [&app](const std::vector<store::NewPhoto>& rows) {
        const auto start = std::chrono::steady_clock::now();
        auto stored = app.repo->insert_photos(rows);
        app.record_db_time("insert_photos", std::chrono::steady_clock::now() - start);
        return stored;
    });
    co_await app.feed->invalidate();
    spdlog::info("user {} uploaded {} photo(s)", session.username, photos.size());
    co_return photos;
}

asio::awaitable<void> delete_photo(App& app, const store::Session& session, const std::string& photo_id) {
    auto photo = co_await app.db("find_photo", [&] { return app.repo->find_photo(photo_id); });
    if (!photo) throw http::HttpError(404, "not_found", "There is no such photo.");
    if (photo->user_id != session.user_id) throw http::HttpError(403, "not_yours", "You can delete only your own photos.");
    // The row goes first: a file without a row is invisible (and found by a consistency
    // check), a row without its file would be a broken photo on every page.
    bool deleted = co_await app.db("delete_photo", [&] { return app.repo->delete_photo(photo_id, session.user_id); });
    if (!deleted) throw http::HttpError(404, "not_found", "There is no such photo.");
    co_await app.workers.run([&] {
        for (const auto& key : {Uploads::display_key(photo_id), Uploads::thumbnail_key(photo_id)}) {
            try {
                app.blobs->remove(key);
            } catch (const std::exception& e) {
                spdlog::error("photo {} deleted but its file {} could not be removed: {}", photo_id, key, e.what());
            }
        }
    });
    co_await app.feed->invalidate();
}

std::optional<std::int64_t> parse_before(std::string_view text) {
    if (text.empty()) return std::nullopt;
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || p != text.data() + text.size() || v <= 0)
        throw http::HttpError(400, "bad_cursor", "The 'before' parameter must be a positive whole number.");
    return v;
}

}  // namespace photoshare::app
