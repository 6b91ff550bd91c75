#include "store/sql_repository.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <limits>
#include <map>
#include <stdexcept>
#include <utility>

#include "store/migrations.hpp"
#include "store/sql.hpp"

namespace photoshare::store {
namespace {

using sql::as_int;
using sql::as_text;
using sql::Value;

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Case folding is done here rather than with the database's LOWER() or collations, so that
// every dialect agrees on which names clash. ASCII only: other bytes compare exactly, as
// folding Unicode correctly needs tables no database here applies identically.
std::string username_key(std::string_view username) {
    std::string key(username);
    for (char& c : key) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return key;
}

// The shared SQL, translated once into the dialect's placeholders.
struct Statements {
    explicit Statements(const Dialect& d)
        : insert_user(with_placeholders(
              std::string("INSERT INTO users (username, username_key, password_hash, created_at) "
                          "VALUES (?, ?, ?, ?)") +
                  (d.returning.empty() ? "" : std::string(d.returning) + "id"),
              d.placeholders)),
          find_user(with_placeholders(
              "SELECT id, username, password_hash, created_at FROM users WHERE username_key = ?",
              d.placeholders)),
          username_of(with_placeholders("SELECT username FROM users WHERE id = ?", d.placeholders)),
          insert_photo(with_placeholders(
              std::string("INSERT INTO photos (id, user_id, width, height, thumb_width, thumb_height, "
                          "bytes, created_at, variant_widths, original_key, original_type, original_name, original_bytes, "
                          "original_width, original_height, caption) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)") +
                  (d.returning.empty() ? "" : std::string(d.returning) + "seq"),
              d.placeholders)),
          // Each walks an index in order: the primary key, or (user_id, seq).
          photos_before(with_placeholders(std::string(photo_columns) + " WHERE p.seq < ? ORDER BY p.seq DESC LIMIT ?",
                                          d.placeholders)),
          photos_after(with_placeholders(std::string(photo_columns) + " WHERE p.seq > ? ORDER BY p.seq LIMIT ?",
                                         d.placeholders)),
          user_photos_before(with_placeholders(
              std::string(photo_columns) + " WHERE p.user_id = ? AND p.seq < ? ORDER BY p.seq DESC LIMIT ?", d.placeholders)),
          user_photos_after(with_placeholders(
              std::string(photo_columns) + " WHERE p.user_id = ? AND p.seq > ? ORDER BY p.seq LIMIT ?", d.placeholders)),
          set_caption(with_placeholders("UPDATE photos SET caption = ? WHERE id = ? AND user_id = ?", d.placeholders)),
          owns_photo(with_placeholders("SELECT 1 FROM photos WHERE id = ? AND user_id = ?", d.placeholders)),
          find_photo(with_placeholders(std::string(photo_columns) + " WHERE p.id = ?", d.placeholders)),
          delete_photo(with_placeholders("DELETE FROM photos WHERE id = ? AND user_id = ?", d.placeholders)),
          all_photo_files("SELECT id, variant_widths, formats, original_key FROM photos ORDER BY seq"),
          insert_job(with_placeholders("INSERT INTO image_jobs (photo_id, attempts, run_after, last_error) VALUES (?, 0, ?, '')",
                                       d.placeholders)),
          due_job(with_placeholders(
              "SELECT photo_id, attempts FROM image_jobs WHERE run_after <= ? AND attempts < ? ORDER BY run_after LIMIT 1",
              d.placeholders)),
          take_job(with_placeholders(
              "UPDATE image_jobs SET attempts = attempts + 1, run_after = ? WHERE photo_id = ? AND attempts = ? AND run_after <= ?",
              d.placeholders)),
          set_formats(with_placeholders("UPDATE photos SET formats = ? WHERE id = ?", d.placeholders)),
          photo_exists(with_placeholders("SELECT 1 FROM photos WHERE id = ?", d.placeholders)),
          delete_job(with_placeholders("DELETE FROM image_jobs WHERE photo_id = ?", d.placeholders)),
          retry_job(with_placeholders("UPDATE image_jobs SET run_after = ?, last_error = ? WHERE photo_id = ?", d.placeholders)),
          count_waiting_jobs(with_placeholders("SELECT COUNT(*) FROM image_jobs WHERE attempts < ?", d.placeholders)),
          count_failed_jobs(with_placeholders("SELECT COUNT(*) FROM image_jobs WHERE attempts >= ?", d.placeholders)),
          find_session(with_placeholders(
              "SELECT id_hash, user_id, username, csrf_token, expires_at FROM sessions "
              "WHERE id_hash = ? AND expires_at > ?",
              d.placeholders)),
          delete_session(with_placeholders("DELETE FROM sessions WHERE id_hash = ?", d.placeholders)),
          purge_sessions(with_placeholders("DELETE FROM sessions WHERE expires_at <= ?", d.placeholders)),
          insert_upload_key(with_placeholders(
              "INSERT INTO upload_keys (user_id, idem_key, photo_ids, created_at) VALUES (?, ?, ?, ?)", d.placeholders)),
          find_upload_key(with_placeholders("SELECT photo_ids FROM upload_keys WHERE user_id = ? AND idem_key = ?", d.placeholders)),
          purge_upload_keys(with_placeholders("DELETE FROM upload_keys WHERE created_at < ?", d.placeholders)),
          insert_secret(with_placeholders(d.insert_secret, d.placeholders)),
          find_secret(with_placeholders("SELECT value FROM secrets WHERE name = ?", d.placeholders)) {}

    // The photo and its owner's current name, in the order photo_from() reads them.
    static constexpr std::string_view photo_columns =
        "SELECT p.seq, p.id, p.user_id, u.username, p.width, p.height, p.thumb_width, "
        "p.thumb_height, p.bytes, p.created_at, p.variant_widths, p.formats, p.original_key, p.original_type, "
        "p.original_name, p.original_bytes, p.original_width, p.original_height, p.caption "
        "FROM photos p JOIN users u ON u.id = p.user_id";

    std::string insert_user;
    std::string find_user;
    std::string username_of;
    std::string insert_photo;
    std::string photos_before;
    std::string photos_after;
    std::string user_photos_before;
    std::string user_photos_after;
    std::string set_caption;
    std::string owns_photo;
    std::string find_photo;
    std::string delete_photo;
    std::string all_photo_files;
    std::string insert_job;
    std::string due_job;
    std::string take_job;
    std::string set_formats;
    std::string photo_exists;
    std::string delete_job;
    std::string retry_job;
    std::string count_waiting_jobs;
    std::string count_failed_jobs;
    std::string find_session;
    std::string delete_session;
    std::string purge_sessions;
    std::string insert_upload_key;
    std::string find_upload_key;
    std::string purge_upload_keys;
    std::string insert_secret;
    std::string find_secret;
};

std::optional<Session> session_from(const sql::Rows& rows) {
    if (rows.empty()) {
        return std::nullopt;
    }
    const sql::Row& row = rows.front();
    return Session{.id_hash = as_text(row.at(0)),
                   .user_id = as_int(row.at(1)),
                   .username = as_text(row.at(2)),
                   .csrf_token = as_text(row.at(3)),
                   .expires_at = as_int(row.at(4))};
}

// variant_widths as stored: "320 640 1024". Anything else in the column is ignored.
std::string widths_text(const std::vector<int>& widths) {
    std::string out;
    for (const int w : widths) out += (out.empty() ? "" : " ") + std::to_string(w);
    return out;
}

std::vector<int> widths_from(std::string_view text) {
    std::vector<int> widths;
    int value = 0;
    bool digits = false;
    for (const char c : text) {
        if (c >= '0' && c <= '9' && value < 100000) {
            value = value * 10 + (c - '0');
            digits = true;
        } else if (c == ' ' && digits) {
            widths.push_back(value);
            value = 0;
            digits = false;
        } else if (c != ' ') {
            return {};
        }
    }
    if (digits) widths.push_back(value);
    return widths;
}

Photo photo_from(const sql::Row& row) {
    return Photo{
        .seq = as_int(row.at(0)),
        .id = as_text(row.at(1)),
        .user_id = as_int(row.at(2)),
        .username = as_text(row.at(3)),
        .width = static_cast<int>(as_int(row.at(4))),
        .height = static_cast<int>(as_int(row.at(5))),
        .thumb_width = static_cast<int>(as_int(row.at(6))),
        .thumb_height = static_cast<int>(as_int(row.at(7))),
        .bytes = as_int(row.at(8)),
        .created_at = as_int(row.at(9)),
        .variant_widths = widths_from(as_text(row.at(10))),
        .formats = as_text(row.at(11)),
        .original = Original{.key = as_text(row.at(12)),
                             .type = as_text(row.at(13)),
                             .name = as_text(row.at(14)),
                             .bytes = as_int(row.at(15)),
                             .width = static_cast<int>(as_int(row.at(16))),
                             .height = static_cast<int>(as_int(row.at(17)))},
        .caption = as_text(row.at(18)),
    };
}

// Whether an operation may be run again on a fresh connection after the first one broke.
enum class Retry {
    always,           // reads and idempotent writes (an upsert, a delete by key)
    unless_committed, // everything else: only when the server cannot have committed it
};

class SqlRepository final : public Repository {
public:
    SqlRepository(const Dialect& dialect, Pool::Factory connect, const Options& options,
                  std::string description)
        : dialect_(dialect),
          sql_(dialect),
          description_(std::move(description)),
          pool_(std::move(connect), static_cast<std::size_t>(std::max(options.pool_size, 0)),
                options.acquire_timeout, description_) {}

    // Every migration re-reads the version under the migration lock, so running it again
    // after a lost connection is safe (MySQL's DDL steps are each re-runnable).
    void migrate() override {
        with_connection(Retry::always, [&](sql::Connection& connection) { store::migrate(connection, dialect_); });
    }

    int schema_version() override {
        return with_connection(Retry::always, [&](sql::Connection& connection) {
            return store::schema_version(connection, dialect_);
        });
    }

    std::optional<User> create_user(const std::string& username, const std::string& password_hash) override {
        const std::int64_t created_at = now_seconds();
        const std::array<Value, 4> row{username, username_key(username), password_hash, created_at};
        return with_connection(Retry::unless_committed, [&](sql::Connection& connection) -> std::optional<User> {
            try {
                const std::int64_t id = connection.insert(sql_.insert_user, row);
                return User{.id = id, .username = username, .password_hash = password_hash, .created_at = created_at};
            } catch (const sql::UniqueViolation&) {
                return std::nullopt;  // the name (in any letter case) is taken
            }
        });
    }

    std::optional<User> find_user(const std::string& username) override {
        const std::array<Value, 1> key{username_key(username)};
        const sql::Rows rows = with_connection(Retry::always, [&](sql::Connection& connection) {
            return connection.query(sql_.find_user, key);
        });
        if (rows.empty()) {
            return std::nullopt;
        }
        const sql::Row& row = rows.front();
        return User{.id = as_int(row.at(0)),
                    .username = as_text(row.at(1)),
                    .password_hash = as_text(row.at(2)),
                    .created_at = as_int(row.at(3))};
    }

    std::vector<Photo> insert_photos(std::span<const NewPhoto> photos, const UploadKey* upload_key) override {
        std::vector<Photo> stored;
        if (photos.empty()) {
            return stored;
        }
        const std::int64_t created_at = now_seconds();
        // A retry starts from scratch: the server rolled the first attempt back.
        return with_connection(Retry::unless_committed, [&](sql::Connection& connection) {
            return insert_batch(connection, photos, created_at, upload_key);
        });
    }

    std::optional<std::vector<std::string>> find_upload_key(const UploadKey& upload_key) override {
        const std::array<Value, 2> key{upload_key.user_id, upload_key.key};
        const sql::Rows rows = with_connection(Retry::always, [&](sql::Connection& connection) {
            return connection.query(sql_.find_upload_key, key);
        });
        if (rows.empty()) {
            return std::nullopt;
        }
        // Photo ids never contain a comma (the app makes them base64url).
        std::vector<std::string> ids;
        const std::string list = as_text(rows.front().at(0));
        std::size_t start = 0;
        while (start <= list.size()) {
            const auto comma = std::min(list.find(',', start), list.size());
            if (comma > start) ids.push_back(list.substr(start, comma - start));
            start = comma + 1;
        }
        return ids;
    }

    std::string shared_secret(const std::string& name, const std::string& candidate) override {
        const std::array<Value, 2> row{name, candidate};
        const std::array<Value, 1> key{name};
        const sql::Rows rows = with_connection(Retry::always, [&](sql::Connection& connection) {
            connection.execute(sql_.insert_secret, row);  // no-op when one exists: the first writer decides
            return connection.query(sql_.find_secret, key);
        });
        if (rows.empty()) throw Unavailable("store: secret " + name + " was stored but cannot be read back");
        return as_text(rows.front().at(0));
    }

    int purge_upload_keys(std::int64_t older_than) override {
        const std::array<Value, 1> cutoff{older_than};
        return with_connection(Retry::always, [&](sql::Connection& connection) {
            return static_cast<int>(connection.execute(sql_.purge_upload_keys, cutoff));
        });
    }

    std::vector<Photo> photos(const PhotoRange& range) override {
        if (range.limit < 0) {
            // Several databases read a negative LIMIT as "no limit": refuse it outright.
            throw std::invalid_argument("store: a photo limit cannot be negative");
        }
        if (range.before && range.after) throw std::invalid_argument("store: a photo range is before or after a photo, not both");
        std::vector<Photo> photos;
        if (range.limit == 0) {
            return photos;
        }
        // One statement for the newest and the older pages: no cursor means "before the end of time".
        const bool after = range.after.has_value();
        const std::int64_t cursor = after ? *range.after : range.before.value_or(std::numeric_limits<std::int64_t>::max());
        const std::int64_t limit = range.limit;
        const sql::Rows rows = with_connection(Retry::always, [&](sql::Connection& connection) {
            if (range.user_id) {
                const std::array<Value, 3> params{*range.user_id, cursor, limit};
                return connection.query(after ? sql_.user_photos_after : sql_.user_photos_before, params);
            }
            const std::array<Value, 2> params{cursor, limit};
            return connection.query(after ? sql_.photos_after : sql_.photos_before, params);
        });
        photos.reserve(rows.size());
        for (const sql::Row& row : rows) {
            photos.push_back(photo_from(row));
        }
        if (after) std::reverse(photos.begin(), photos.end());  // read oldest first, from the cursor up
        return photos;
    }

    bool set_caption(const std::string& id, std::int64_t user_id, const std::string& caption) override {
        const std::array<Value, 3> row{caption, id, user_id};
        const std::array<Value, 2> key{id, user_id};
        return with_connection(Retry::always, [&](sql::Connection& connection) {
            // MySQL counts only rows it changed: the same caption again is 0 there.
            return connection.execute(sql_.set_caption, row) > 0 || !connection.query(sql_.owns_photo, key).empty();
        });
    }

    std::optional<Photo> find_photo(const std::string& id) override {
        const std::array<Value, 1> key{id};
        const sql::Rows rows = with_connection(Retry::always, [&](sql::Connection& connection) {
            return connection.query(sql_.find_photo, key);
        });
        if (rows.empty()) {
            return std::nullopt;
        }
        return photo_from(rows.front());
    }

    bool delete_photo(const std::string& id, std::int64_t user_id) override {
        const std::array<Value, 2> key{id, user_id};
        // Not idempotent in its answer: a repeat after an unseen commit would say "false".
        return with_connection(Retry::unless_committed, [&](sql::Connection& connection) {
            return connection.execute(sql_.delete_photo, key) > 0;
        });
    }

    std::vector<PhotoFiles> all_photo_files() override {
        const sql::Rows rows = with_connection(Retry::always, [&](sql::Connection& connection) {
            return connection.query(sql_.all_photo_files, {});
        });
        std::vector<PhotoFiles> photos;
        photos.reserve(rows.size());
        for (const sql::Row& row : rows) {
            photos.push_back(PhotoFiles{as_text(row.at(0)), widths_from(as_text(row.at(1))), as_text(row.at(2)), as_text(row.at(3))});
        }
        return photos;
    }

    std::optional<ImageJob> claim_image_job(std::int64_t now, std::int64_t lease_until, int max_attempts) override {
        // Optimistic: read a due job, then take it only if nobody has meanwhile (its attempts
        // and due time unchanged). Works alike on every database, no row locks held.
        for (int tries = 0; tries < 5; ++tries) {
            const std::array<Value, 2> due{now, std::int64_t{max_attempts}};
            const sql::Rows rows = with_connection(Retry::always, [&](sql::Connection& connection) {
                return connection.query(sql_.due_job, due);
            });
            if (rows.empty()) return std::nullopt;
            ImageJob job{as_text(rows.front().at(0)), static_cast<int>(as_int(rows.front().at(1)))};
            const std::array<Value, 4> take{lease_until, job.photo_id, std::int64_t{job.attempts}, now};
            // A lost answer is harmless: the job is then leased to nobody until lease_until.
            const auto taken = with_connection(Retry::unless_committed, [&](sql::Connection& connection) {
                return connection.execute(sql_.take_job, take);
            });
            if (taken > 0) {
                ++job.attempts;
                return job;
            }
        }
        return std::nullopt;  // others keep taking them: they are busy enough
    }

    bool finish_image_job(const std::string& photo_id, const std::string& formats) override {
        return with_connection(Retry::unless_committed, [&](sql::Connection& connection) {
            sql::Transaction transaction(connection, sql::TxKind::write);
            // Asked, not read from the UPDATE's count: MySQL counts only rows it changed.
            const std::array<Value, 1> key{photo_id};
            const bool exists = !connection.query(sql_.photo_exists, key).empty();
            const std::array<Value, 2> set{formats, photo_id};
            connection.execute(sql_.set_formats, set);
            connection.execute(sql_.delete_job, key);
            transaction.commit();
            return exists;
        });
    }

    void retry_image_job(const std::string& photo_id, std::int64_t run_after, const std::string& error) override {
        const std::array<Value, 3> row{run_after, error.substr(0, 1000), photo_id};
        with_connection(Retry::always, [&](sql::Connection& connection) { connection.execute(sql_.retry_job, row); });
    }

    bool requeue_image_job(const std::string& photo_id, std::int64_t now) override {
        return with_connection(Retry::always, [&](sql::Connection& connection) {
            sql::Transaction transaction(connection, sql::TxKind::write);
            const std::array<Value, 1> key{photo_id};
            if (connection.query(sql_.photo_exists, key).empty()) return false;
            const std::array<Value, 2> clear{std::string(), photo_id};
            connection.execute(sql_.set_formats, clear);
            connection.execute(sql_.delete_job, key);
            const std::array<Value, 2> job{photo_id, now};
            connection.execute(sql_.insert_job, job);
            transaction.commit();
            return true;
        });
    }

    ImageJobCounts image_job_counts(int max_attempts) override {
        const std::array<Value, 1> limit{std::int64_t{max_attempts}};
        return with_connection(Retry::always, [&](sql::Connection& connection) {
            return ImageJobCounts{as_int(connection.query(sql_.count_waiting_jobs, limit).at(0).at(0)),
                                  as_int(connection.query(sql_.count_failed_jobs, limit).at(0).at(0))};
        });
    }

    void put_session(const Session& session) override {
        const std::array<Value, 5> row{session.id_hash, session.user_id, session.username,
                                       session.csrf_token, session.expires_at};
        with_connection(Retry::always, [&](sql::Connection& connection) {
            connection.execute(dialect_.upsert_session, row);
        });
    }

    std::optional<Session> find_session(const std::string& id_hash, std::int64_t now) override {
        const std::array<Value, 2> key{id_hash, now};
        return session_from(with_connection(Retry::always, [&](sql::Connection& connection) {
            return connection.query(sql_.find_session, key);
        }));
    }

    // A WAL reader takes no lock a writer holds, so the read waits only on the disk; the one
    // exception, another process recovering the database after a crash, waits in the busy
    // handler as any statement would.
    bool find_session_at_once(const std::string& id_hash, std::int64_t now,
                              std::optional<Session>& session) override {
        if (!dialect_.in_process) {
            return false;
        }
        std::optional<Pool::Lease> connection = pool_.try_acquire();
        if (!connection) {
            return false;
        }
        const std::array<Value, 2> key{id_hash, now};
        session = session_from((*connection)->query(sql_.find_session, key));
        return true;
    }

    void delete_session(const std::string& id_hash) override {
        const std::array<Value, 1> key{id_hash};
        with_connection(Retry::always, [&](sql::Connection& connection) {
            connection.execute(sql_.delete_session, key);
        });
    }

    int purge_expired_sessions(std::int64_t now) override {
        const std::array<Value, 1> cutoff{now};
        // Repeatable: a repeat after an unseen commit only counts fewer rows.
        return with_connection(Retry::always, [&](sql::Connection& connection) {
            return static_cast<int>(connection.execute(sql_.purge_sessions, cutoff));
        });
    }

    void ping() override {
        with_connection(Retry::always, [&](sql::Connection& connection) { connection.query(dialect_.ping, {}); });
    }

    std::string describe() const override { return description_; }

private:
    std::vector<Photo> insert_batch(sql::Connection& connection, std::span<const NewPhoto> photos,
                                    std::int64_t created_at, const UploadKey* upload_key) {
        std::vector<Photo> stored;
        stored.reserve(photos.size());
        sql::Transaction transaction(connection, sql::TxKind::write);
        std::map<std::int64_t, std::string> usernames;  // a batch usually has one owner
        for (const NewPhoto& photo : photos) {
            auto owner = usernames.find(photo.user_id);
            if (owner == usernames.end()) {
                const std::array<Value, 1> id{photo.user_id};
                const sql::Rows rows = connection.query(sql_.username_of, id);
                if (rows.empty()) {
                    throw sql::ConstraintViolation("store: no user with id " + std::to_string(photo.user_id));
                }
                owner = usernames.emplace(photo.user_id, as_text(rows.front().at(0))).first;
            }
            const Original& original = photo.original;
            const std::array<Value, 16> row{photo.id,
                                            photo.user_id,
                                            std::int64_t{photo.width},
                                            std::int64_t{photo.height},
                                            std::int64_t{photo.thumb_width},
                                            std::int64_t{photo.thumb_height},
                                            photo.bytes,
                                            created_at,
                                            widths_text(photo.variant_widths),
                                            original.key,
                                            original.type,
                                            original.name,
                                            original.bytes,
                                            std::int64_t{original.width},
                                            std::int64_t{original.height},
                                            photo.caption};
            std::int64_t seq = 0;
            try {
                seq = connection.insert(sql_.insert_photo, row);
            } catch (const sql::UniqueViolation&) {
                throw sql::UniqueViolation("store: photo id \"" + photo.id + "\" is already taken");
            }
            if (photo.queue_formats) {
                const std::array<Value, 2> job{photo.id, created_at};
                connection.execute(sql_.insert_job, job);
            }
            stored.push_back(Photo{.seq = seq,
                                   .id = photo.id,
                                   .user_id = photo.user_id,
                                   .username = owner->second,
                                   .width = photo.width,
                                   .height = photo.height,
                                   .thumb_width = photo.thumb_width,
                                   .thumb_height = photo.thumb_height,
                                   .bytes = photo.bytes,
                                   .created_at = created_at,
                                   .variant_widths = photo.variant_widths,
                                   .original = photo.original,
                                   .caption = photo.caption});
        }
        if (upload_key) {
            std::string ids;
            for (const Photo& photo : stored) ids += (ids.empty() ? "" : ",") + photo.id;
            const std::array<Value, 4> row{upload_key->user_id, upload_key->key, ids, created_at};
            try {
                connection.execute(sql_.insert_upload_key, row);
            } catch (const sql::UniqueViolation&) {
                throw DuplicateUploadKey("store: the upload key was used before");  // rolls back the photos too
            }
        }
        transaction.commit();
        return stored;
    }

    // Runs work on a pooled connection. When the connection turns out to have been lost
    // (typically: the server restarted while it sat idle), the work runs once more on a
    // fresh one, if retry allows; when the server rolled the work back to break a
    // deadlock, it runs again up to twice. Anything else reaches the caller.
    template <typename Work>
    auto with_connection(Retry retry, Work&& work) -> decltype(work(std::declval<sql::Connection&>())) {
        int lost = 0;
        int conflicts = 0;
        while (true) {
            auto connection = pool_.acquire();
            try {
                return work(*connection);
            } catch (const sql::ConnectionLost& e) {
                if (++lost > 1 || (retry == Retry::unless_committed && e.outcome_unknown())) {
                    if (e.outcome_unknown()) throw OutcomeUnknown(e.what());
                    throw;
                }
                pool_.suspect_idle();
            } catch (const sql::Conflict&) {
                if (++conflicts > 2) {
                    throw;
                }
            }
        }
    }

    const Dialect& dialect_;
    const Statements sql_;
    const std::string description_;
    Pool pool_;  // last: its connections go before anything they might refer to
};

}  // namespace

std::unique_ptr<Repository> make_sql_repository(const Dialect& dialect, Pool::Factory connect,
                                                const Options& options, std::string description) {
    return std::make_unique<SqlRepository>(dialect, std::move(connect), options, std::move(description));
}

}  // namespace photoshare::store
