// What the HTML forms and the JSON API both do to photos, written once: store an upload
// (with retries made safe by an Idempotency-Key) and delete a photo. Both make the feed
// change on every server.
#pragma once

#include "app/database.hpp"
#include "app/feed.hpp"
#include "app/image_jobs.hpp"
#include "app/media_cache.hpp"
#include "app/routes.hpp"
#include "app/uploads.hpp"
#include "blob/blob.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace photoshare::app {

namespace asio = boost::asio;

struct UploadResult {
    std::vector<store::Photo> photos;
    std::vector<std::string> notes;    // for the uploader (Uploads::store); none for a replay
    bool replayed = false;             // an earlier upload with the same Idempotency-Key, not stored again
    std::int64_t feed_generation = 0;  // what the upload made the feed (Feed::changed), for the uploader's next pages
};

class Photos {
public:
    // media_cache: the copies of proxied photos this server keeps, if any (a delete drops them).
    // jobs: this server's image job runner, if it runs one (told when an upload queued jobs).
    Photos(Database& db, Uploads& uploads, blob::Store& blobs, MediaCache* media_cache, Feed& feed, http::Workers& workers,
           ImageJobs* jobs, std::size_t max_caption_chars)
        : db_(db),
          uploads_(uploads),
          blobs_(blobs),
          media_cache_(media_cache),
          feed_(feed),
          workers_(workers),
          jobs_(jobs),
          max_caption_chars_(max_caption_chars) {}

    // Reads, validates and stores the upload of a route with Body::upload for the member
    // asking, then changes the feed. With an Idempotency-Key header, a retry of an upload
    // that was stored (on any server) stores nothing, does not read the body, and answers
    // with what the first one stored.
    asio::awaitable<UploadResult> upload(Context& ctx);
    // Deletes a photo of the user's: its row, its files and every cached feed page. Throws
    // HttpError 404 (no such photo) or 403 (someone else's). Returns the feed generation the
    // delete produced (Feed::changed).
    asio::awaitable<std::int64_t> remove(const store::Session& session, const std::string& photo_id);
    // Replaces the caption of a photo of the user's (clean_caption: 422 for a bad one; 404,
    // 403 as for remove) and changes the feed, whose pages show it. Returns the photo as it
    // is now and the feed generation.
    asio::awaitable<std::pair<store::Photo, std::int64_t>> caption(const store::Session& session, const std::string& photo_id,
                                                                   std::string_view text);

private:
    // What the upload under `key` stored the first time, in upload order (photos deleted
    // since are left out); nullopt when no upload had that key.
    asio::awaitable<std::optional<UploadResult>> replay(const store::UploadKey& key);

    Database& db_;
    Uploads& uploads_;
    blob::Store& blobs_;
    MediaCache* media_cache_;
    Feed& feed_;
    http::Workers& workers_;
    ImageJobs* jobs_;
    const std::size_t max_caption_chars_;
};

}  // namespace photoshare::app
