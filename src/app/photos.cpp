#include "app/photos.hpp"

#include "app/captions.hpp"
#include "app/photo_files.hpp"

#include <spdlog/spdlog.h>


namespace photoshare::app {

namespace {

// An Idempotency-Key is the client's name for one upload: visible ASCII, 1 to 128 chars.
std::optional<store::UploadKey> upload_key(const http::Request& req, const store::Session& session) {
    if (!req.headers || !req.headers->has("Idempotency-Key")) return std::nullopt;
    auto key = req.header("Idempotency-Key");
    bool ok = !key.empty() && key.size() <= 128;
    for (char c : key) ok = ok && c > 0x20 && c < 0x7f;
    if (!ok) throw http::HttpError(400, "bad_idempotency_key", "An Idempotency-Key has 1 to 128 visible ASCII characters.");
    return store::UploadKey{session.user_id, std::string(key)};
}

}  // namespace

asio::awaitable<std::optional<UploadResult>> Photos::replay(const store::UploadKey& key) {
    auto ids = co_await db_.call("find_upload_key", [&](store::Repository& repo) { return repo.find_upload_key(key); });
    if (!ids) co_return std::nullopt;
    auto photos = co_await db_.call("find_photo", [&](store::Repository& repo) {
        std::vector<store::Photo> found;
        for (const auto& id : *ids)
            if (auto p = repo.find_photo(id)) found.push_back(std::move(*p));
        return found;
    });
    co_return UploadResult{std::move(photos), {}, true};
}

asio::awaitable<UploadResult> Photos::upload(Context& ctx) {
    const auto& session = ctx.session();
    const auto key = upload_key(ctx.req, session);
    if (key) {
        // A retry of an upload that was stored: answer as the first time, without reading
        // the body again.
        if (auto first = co_await replay(*key)) co_return std::move(*first);
    }
    const UploadForm* form = co_await ctx.upload();
    StoredUpload stored;
    bool duplicate = false;
    try {
        stored = co_await uploads_.store(*form, session.user_id, key);
    } catch (const store::DuplicateUploadKey&) {
        duplicate = true;  // the same upload arrived twice at once, and the other won: its files stay, ours are gone
    }
    if (duplicate) {
        auto first = co_await replay(*key);
        co_return first ? std::move(*first) : UploadResult{{}, {}, true};
    }
    const auto generation = co_await feed_.changed();
    if (jobs_) jobs_->poke();
    spdlog::info("user {} uploaded {} photo(s)", session.username, stored.photos.size());
    co_return UploadResult{std::move(stored.photos), std::move(stored.notes), false, generation};
}

asio::awaitable<std::int64_t> Photos::remove(const store::Session& session, const std::string& photo_id) {
    auto photo = co_await db_.call("find_photo", [&](store::Repository& repo) { return repo.find_photo(photo_id); });
    if (!photo) throw http::HttpError(404, "not_found", "There is no such photo.");
    if (photo->user_id != session.user_id) throw http::HttpError(403, "not_yours", "You can delete only your own photos.");
    // The row goes first: a file without a row is invisible (and found by a consistency
    // check), a row without its file would be a broken photo on every page.
    bool deleted = co_await db_.call("delete_photo", [&](store::Repository& repo) { return repo.delete_photo(photo_id, session.user_id); });
    if (!deleted) throw http::HttpError(404, "not_found", "There is no such photo.");
    co_await workers_.run([&] {
        auto keys = photo_keys(photo_id, photo->variant_widths, photo->formats);
        for (auto& key : private_keys(photo->original.key)) keys.push_back(std::move(key));
        for (const auto& key : keys) {
            if (media_cache_) media_cache_->erase(key);
            try {
                blobs_.remove(key);
            } catch (const std::exception& e) {
                spdlog::error("photo {} deleted but its file {} could not be removed: {}", photo_id, key, e.what());
            }
        }
    });
    co_return co_await feed_.changed();
}

asio::awaitable<std::pair<store::Photo, std::int64_t>> Photos::caption(const store::Session& session, const std::string& photo_id,
                                                                       std::string_view text) {
    const std::string caption = clean_caption(text, max_caption_chars_);
    auto photo = co_await db_.call("find_photo", [&](store::Repository& repo) { return repo.find_photo(photo_id); });
    if (!photo) throw http::HttpError(404, "not_found", "There is no such photo.");
    if (photo->user_id != session.user_id) throw http::HttpError(403, "not_yours", "You can change only your own photos.");
    const bool changed =
        co_await db_.call("set_caption", [&](store::Repository& repo) { return repo.set_caption(photo_id, session.user_id, caption); });
    if (!changed) throw http::HttpError(404, "not_found", "There is no such photo.");  // deleted meanwhile
    photo->caption = caption;
    const auto generation = co_await feed_.changed();
    co_return std::pair{std::move(*photo), generation};
}

}  // namespace photoshare::app
