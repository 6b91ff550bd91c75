#include "app/actions.hpp"

#include "app/app.hpp"

#include <charconv>
#include <random>
#include <spdlog/spdlog.h>

namespace photoshare::app {

asio::awaitable<Visitor> load_visitor(App& app, const http::Request& req) {
    Visitor v;
    auto found = co_await app.sessions->load(req);
    v.session = std::move(found.session);
    v.sessions_unavailable = found.unavailable;
    if (v.session) {
        v.csrf_token = v.session->csrf_token;
    } else if (auto token = app.sessions->visitor_token(req)) {
        v.csrf_token = *token;
    } else {
        std::tie(v.csrf_token, v.set_cookie) = app.sessions->new_visitor_token();
    }
    co_return v;
}

void throw_sessions_unavailable() {
    throw http::HttpError(503, "sessions_unavailable", "Signing in is unavailable at the moment. Please try again in a little while.",
                          {{"Retry-After", "5"}});
}

asio::awaitable<store::Session> require_session(App& app, const http::Request& req) {
    auto found = co_await app.sessions->load(req);
    if (found.session) co_return *found.session;
    if (found.unavailable) throw_sessions_unavailable();
    throw http::HttpError(401, "not_logged_in", "Please log in first.");
}

void require_csrf(App& app, const http::Request& req, const std::optional<store::Session>& session, std::string_view submitted) {
    if (!app.sessions->csrf_ok(req, session, submitted))
        throw http::HttpError(403, "bad_csrf_token",
                              "This form has expired or did not come from this site. Reload the page and try again.");
}

namespace {

// An Idempotency-Key is the client's name for one upload: visible ASCII, 1 to 128 chars.
std::optional<store::UploadKey> upload_key(const http::Request& req, const store::Session& session) {
    auto key = req.header("Idempotency-Key");
    if (!req.headers || !req.headers->has("Idempotency-Key")) return std::nullopt;
    bool ok = !key.empty() && key.size() <= 128;
    for (char c : key) ok = ok && c > 0x20 && c < 0x7f;
    if (!ok) throw http::HttpError(400, "bad_idempotency_key", "An Idempotency-Key has 1 to 128 visible ASCII characters.");
    return store::UploadKey{session.user_id, std::string(key)};
}

// What an upload under `key` stored the first time, in upload order (photos deleted since
// are left out).
asio::awaitable<std::vector<store::Photo>> replay(App& app, const std::vector<std::string>& ids) {
    co_return co_await app.db("find_photo", [&] {
        std::vector<store::Photo> photos;
        for (const auto& id : ids)
            if (auto p = app.repo->find_photo(id)) photos.push_back(std::move(*p));
        return photos;
    });
}

}  // namespace

asio::awaitable<UploadResult> upload_photos(App& app, http::Request& req, const store::Session& session, bool token_in_header) {
    // An API client proves itself before sending a byte of the body.
    if (token_in_header) require_csrf(app, req, session, req.header("X-CSRF-Token"));
    const auto key = upload_key(req, session);
    if (key) {
        // A retry of an upload that was stored: answer as the first time, without reading
        // the body again.
        auto ids = co_await app.db("find_upload_key", [&] { return app.repo->find_upload_key(*key); });
        if (ids) co_return UploadResult{co_await replay(app, *ids), true};
    }
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
    std::vector<store::Photo> photos;
    bool duplicate = false;
    try {
        photos = co_await app.uploads->store(form, session.user_id, [&app, &key](const std::vector<store::NewPhoto>& rows) {
            const auto start = std::chrono::steady_clock::now();
            auto stored = app.repo->insert_photos(rows, key ? &*key : nullptr);
            app.record_db_time("insert_photos", std::chrono::steady_clock::now() - start);
            return stored;
        });
    } catch (const store::DuplicateUploadKey&) {
        duplicate = true;  // the same upload arrived twice at once, and the other won: its files stay, ours are gone
    }
    if (duplicate) {
        auto ids = co_await app.db("find_upload_key", [&] { return app.repo->find_upload_key(*key); });
        co_return UploadResult{ids ? co_await replay(app, *ids) : std::vector<store::Photo>{}, true};
    }
    const auto generation = co_await app.feed->changed();
    thread_local std::mt19937_64 rng{std::random_device{}()};
    if (key && std::uniform_int_distribution<int>(0, 99)(rng) == 0) {  // one upload in a hundred purges
        // Keys are for retries, which come within minutes: a day is plenty.
        const auto day_ago = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() - 86'400;
        co_await app.db("purge_upload_keys", [&] { return app.repo->purge_upload_keys(day_ago); });
    }
    spdlog::info("user {} uploaded {} photo(s)", session.username, photos.size());
    co_return UploadResult{std::move(photos), false, generation};
}

asio::awaitable<std::int64_t> delete_photo(App& app, const store::Session& session, const std::string& photo_id) {
    auto photo = co_await app.db("find_photo", [&] { return app.repo->find_photo(photo_id); });
    if (!photo) throw http::HttpError(404, "not_found", "There is no such photo.");
    if (photo->user_id != session.user_id) throw http::HttpError(403, "not_yours", "You can delete only your own photos.");
    // The row goes first: a file without a row is invisible (and found by a consistency
    // check), a row without its file would be a broken photo on every page.
    bool deleted = co_await app.db("delete_photo", [&] { return app.repo->delete_photo(photo_id, session.user_id); });
    if (!deleted) throw http::HttpError(404, "not_found", "There is no such photo.");
    co_await app.workers.run([&] {
        for (const auto& key : {Uploads::display_key(photo_id), Uploads::thumbnail_key(photo_id)}) {
            if (app.media_cache) app.media_cache->erase(key);
            try {
                app.blobs->remove(key);
            } catch (const std::exception& e) {
                spdlog::error("photo {} deleted but its file {} could not be removed: {}", photo_id, key, e.what());
            }
        }
    });
    co_return co_await app.feed->changed();
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
