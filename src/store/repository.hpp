// The database, seen by the application as one API. Every backend (SQLite, PostgreSQL,
// MySQL/MariaDB) implements it with prepared statements only.
// Calls block: run them on the worker pool.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace photoshare::store {

// The database cannot be reached or failed in a way the caller cannot fix (HTTP 503).
class Unavailable : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The connection broke while a write was being committed: the database may or may not have
// kept it. A caller that owns files for the rows must keep them (fsck sorts it out later).
class OutcomeUnknown : public Unavailable {
public:
    using Unavailable::Unavailable;
};

// insert_photos() was given an upload key the user has used before: nothing was stored.
class DuplicateUploadKey : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A client's Idempotency-Key for an upload, scoped to its user.
struct UploadKey {
    std::int64_t user_id = 0;
    std::string key;
};

struct User {
    std::int64_t id = 0;
    std::string username;
    std::string password_hash;
    std::int64_t created_at = 0;  // unix seconds
};

// The file of a photo as it was uploaded, kept privately for its owner: it carries the
// metadata (GPS...) the served variants have not, so nothing serves it to anyone else.
struct Original {
    std::string key;   // in the media store; empty: not kept (older photos, or keep_originals off)
    std::string type;  // "image/heic"...
    std::string name;  // the uploader's file name, for the download's name only
    std::int64_t bytes = 0;
    int width = 0;  // as shown, after the EXIF rotation; 0: unknown (older photos)
    int height = 0;
};

struct NewPhoto {
    std::string id;  // random, url-safe: names the photo in URLs and its blobs
    std::int64_t user_id = 0;
    int width = 0;   // display variant
    int height = 0;
    int thumb_width = 0;
    int thumb_height = 0;
    std::int64_t bytes = 0;  // every variant
    // Pixel widths of the further variants pages pick from (srcset), ascending; the
    // display and thumbnail widths are not repeated. At most 12, each below 100000.
    std::vector<int> variant_widths;
    // Queue an image job (claim_image_job) for the further formats, in the same transaction.
    bool queue_formats = false;
    Original original;
    std::string caption;  // the uploader's words, shown with it and as its alt text; '' none
};

struct Photo {
    std::int64_t seq = 0;  // insertion order; the paging cursor
    std::string id;
    std::int64_t user_id = 0;
    std::string username;
    int width = 0;
    int height = 0;
    int thumb_width = 0;
    int thumb_height = 0;
    std::int64_t bytes = 0;
    std::int64_t created_at = 0;  // unix seconds
    std::vector<int> variant_widths;  // as in NewPhoto
    // The further formats made for every width, space-separated ("avif webp"); empty until
    // the photo's image job is done (or when there is none).
    std::string formats;
    Original original;
    std::string caption;
};

// Which photos a page shows, newest first: everyone's or one user's; those older than the
// photo `before`, or else the `limit` nearest above the photo `after` (the page before,
// going back towards the newest); neither: the newest.
struct PhotoRange {
    std::optional<std::int64_t> user_id;
    std::optional<std::int64_t> before;
    std::optional<std::int64_t> after;
    int limit = 0;
};

// A photo whose further formats are still to be made, as claimed by one server.
struct ImageJob {
    std::string photo_id;
    int attempts = 0;  // including this one
};

struct ImageJobCounts {
    std::int64_t waiting = 0;  // still to run (or running)
    std::int64_t failed = 0;   // given up after max_attempts
};

// What names a photo's files, for consistency checks.
struct PhotoFiles {
    std::string id;
    std::vector<int> variant_widths;
    std::string formats;
    std::string original_key;  // '' when none is kept
};

struct Session {
    std::string id_hash;  // the cookie's id is never stored, only its hash
    std::int64_t user_id = 0;
    std::string username;
    std::string csrf_token;
    std::int64_t expires_at = 0;  // unix seconds
};

class Repository {
public:
    virtual ~Repository() = default;

    // Brings the schema to the latest version; safe when several servers start at once.
    virtual void migrate() = 0;
    virtual int schema_version() = 0;

    // Usernames are stored as given but are unique regardless of ASCII letter case:
    // nullopt when the username is taken ("Alice" takes "alice"). find_user ignores case too.
    virtual std::optional<User> create_user(const std::string& username, const std::string& password_hash) = 0;
    virtual std::optional<User> find_user(const std::string& username) = 0;

    // All rows in one transaction; returns them as stored (with seq and created_at).
    // Throws std::invalid_argument, having stored nothing, when a photo id is already
    // taken (also within the batch) or a user id does not exist.
    virtual std::vector<Photo> insert_photos(std::span<const NewPhoto> photos, const UploadKey* upload_key) = 0;
    std::vector<Photo> insert_photos(std::span<const NewPhoto> photos) { return insert_photos(photos, nullptr); }
    // With an upload key, the key and the ids of the photos are recorded in the same
    // transaction: a retried upload stores nothing twice. A key the user has used before
    // throws DuplicateUploadKey and stores nothing.
    // The ids stored under an upload key, in upload order; nullopt when the key is unused.
    virtual std::optional<std::vector<std::string>> find_upload_key(const UploadKey& upload_key) = 0;
    // Forgets upload keys recorded before `older_than` (unix seconds); returns how many.
    virtual int purge_upload_keys(std::int64_t older_than) = 0;

    // The site-wide secret `name`: the one stored, or else `candidate`, stored now. Whichever
    // server asks first decides; every server then gets the same value.
    virtual std::string shared_secret(const std::string& name, const std::string& candidate) = 0;
    // Newest first (see PhotoRange). limit < 0, or both before and after: invalid_argument.
    virtual std::vector<Photo> photos(const PhotoRange& range) = 0;
    // Everyone's, newest first; only photos with seq < before when given.
    std::vector<Photo> latest_photos(std::optional<std::int64_t> before, int limit) {
        return photos(PhotoRange{.before = before, .limit = limit});
    }
    virtual std::optional<Photo> find_photo(const std::string& id) = 0;
    // Replaces the caption when the photo belongs to user_id; returns whether it did.
    virtual bool set_caption(const std::string& id, std::int64_t user_id, const std::string& caption) = 0;
    // Deletes the row when it belongs to user_id; returns whether a row was deleted.
    virtual bool delete_photo(const std::string& id, std::int64_t user_id) = 0;
    virtual std::vector<PhotoFiles> all_photo_files() = 0;  // in upload order, for consistency checks
    std::vector<std::string> all_photo_ids() {
        std::vector<std::string> ids;
        for (auto& photo : all_photo_files()) ids.push_back(std::move(photo.id));
        return ids;
    }

    // Image jobs: durable, on any server. The job whose run_after has come, with fewer than
    // max_attempts attempts, is taken for this caller until lease_until (its run_after
    // becomes that: a server that dies holding it loses it then); nullopt when none is due.
    // Two callers never take the same job at once.
    virtual std::optional<ImageJob> claim_image_job(std::int64_t now, std::int64_t lease_until, int max_attempts) = 0;
    // Records the formats made and removes the job, in one transaction; false when the photo
    // is gone (deleted meanwhile: its job went with it, and the caller removes the files).
    virtual bool finish_image_job(const std::string& photo_id, const std::string& formats) = 0;
    // The attempt failed: the job runs again from run_after on (error: why, kept for fsck).
    virtual void retry_image_job(const std::string& photo_id, std::int64_t run_after, const std::string& error) = 0;
    virtual ImageJobCounts image_job_counts(int max_attempts) = 0;
    // Forgets the photo's further formats and queues its job afresh (due at `now`, no
    // attempts): for a photo whose files went missing. False when there is no such photo.
    virtual bool requeue_image_job(const std::string& photo_id, std::int64_t now) = 0;

    // Inserts or replaces by id_hash. A session goes when its user does.
    virtual void put_session(const Session& session) = 0;
    // nullopt once expires_at <= now.
    virtual std::optional<Session> find_session(const std::string& id_hash, std::int64_t now) = 0;
    // find_session, but only when it cannot wait: the database is a file read in process
    // and a pooled connection is idle. Returns true with *session set, or false having
    // done nothing (the caller then uses find_session on a worker thread). Lets an I/O
    // thread read a session without handing the request to a worker and back.
    virtual bool find_session_at_once(const std::string& /*id_hash*/, std::int64_t /*now*/,
                                      std::optional<Session>& /*session*/) {
        return false;
    }
    virtual void delete_session(const std::string& id_hash) = 0;
    virtual int purge_expired_sessions(std::int64_t now) = 0;

    // Throws Unavailable when the database cannot be used.
    virtual void ping() = 0;
    virtual std::string describe() const = 0;  // backend and location, without secrets
};

struct Options {
    // Connections kept open at most; a caller finding all in use waits acquire_timeout,
    // then gets Unavailable.
    int pool_size = 8;
    std::chrono::milliseconds acquire_timeout{5000};
    // How long a write waits for another writer's lock (in this or another process)
    // before Unavailable. SQLite: the busy timeout. PostgreSQL: lock_timeout. MySQL:
    // innodb_lock_wait_timeout and lock_wait_timeout (whole seconds, at least 1).
    std::chrono::milliseconds lock_timeout{5000};
    // Network databases only: the longest one statement may run on the server before it
    // is cancelled (Unavailable); MySQL counts it in whole seconds, at least 1. The client
    // gives up a couple of seconds later on its own, so a server that stopped answering
    // cannot hold a worker thread for longer.
    std::chrono::milliseconds statement_timeout{10000};
};

// The database URLs:
//   sqlite:///absolute/path.db or sqlite://relative/path.db (relative to the working
//     directory; the file and its directory are created when missing);
//   postgresql://user:password@host:port/dbname?connect_timeout=3&sslmode=... (also
//     postgres://): libpq's own URI syntax, with any of its parameters;
//   mysql://user:password@host:port/dbname?connect_timeout=3 (also mariadb://); see
//     mysql.hpp for the parameters.
// Network databases are connected to on first use (migrate(), usually), not here.
// Throws std::invalid_argument for an unknown or malformed URL (the message never repeats
// the password), Unavailable when it cannot open.
std::unique_ptr<Repository> open(const std::string& url, const Options& options);

}  // namespace photoshare::store
