// What the HTML forms and the JSON API both do, written once: finding who is asking,
// checking CSRF tokens, storing an upload, deleting a photo.
#pragma once

#include "app/uploads.hpp"
#include "http/message.hpp"
#include "store/repository.hpp"

#include <optional>
#include <string>
#include <vector>

namespace photoshare::app {

namespace asio = boost::asio;

class App;

// Who is asking: their session if logged in, and the CSRF token their forms carry (the
// session's, or an anonymous visitor's with the cookie to set when it is new).
struct Visitor {
    std::optional<store::Session> session;
    std::string csrf_token;
    std::string set_cookie;  // empty unless a new visitor token was made
    bool sessions_unavailable = false;  // shown as logged out because the session store cannot answer
};

asio::awaitable<Visitor> load_visitor(App& app, const http::Request& req);
// Throws HttpError 401 when the request has no valid session, 503 when the session store
// cannot answer.
asio::awaitable<store::Session> require_session(App& app, const http::Request& req);
// The 503 for an action that needs the session store while it cannot answer.
[[noreturn]] void throw_sessions_unavailable();
// Throws HttpError 403 unless `submitted` is the token this visitor's forms carry.
void require_csrf(App& app, const http::Request& req, const std::optional<store::Session>& session, std::string_view submitted);

struct UploadResult {
    std::vector<store::Photo> photos;
    bool replayed = false;  // an earlier upload with the same Idempotency-Key, not stored again
    std::int64_t feed_generation = 0;  // what the upload made the feed (Feed::changed), for the uploader's next pages
};

// Reads, validates and stores an upload for the session's user, then invalidates the feed.
// With an Idempotency-Key header, a retry of an upload that was stored (on any server)
// stores nothing and answers with what the first one stored.
asio::awaitable<UploadResult> upload_photos(App& app, http::Request& req, const store::Session& session, bool token_in_header);
// Deletes a photo of the session's user: its row, its files and every cached feed page.
// Throws HttpError 404 (no such photo) or 403 (someone else's). Returns the feed generation
// the delete produced (Feed::changed).
asio::awaitable<std::int64_t> delete_photo(App& app, const store::Session& session, const std::string& photo_id);

// The `before` cursor of a feed request; throws HttpError 400 when malformed.
std::optional<std::int64_t> parse_before(std::string_view text);

}  // namespace photoshare::app
