// SQLite's spelling of the schema and of the few statements that differ between databases.
#include <array>

#include "store/dialect.hpp"

namespace photoshare::store {
namespace {

constexpr std::array<std::string_view, 6> schema_v1{
    // username keeps the spelling the user chose; username_key (lower-cased by the
    // repository, the same way for every dialect) is what makes "Alice" and "alice" clash.
    // AUTOINCREMENT so that an id is never handed out twice, even after a delete.
    R"sql(CREATE TABLE users (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        username      TEXT    NOT NULL,
        username_key  TEXT    NOT NULL UNIQUE,
        password_hash TEXT    NOT NULL,
        created_at    INTEGER NOT NULL
    ))sql",
    // seq is the rowid, so the front page ("seq < ? ORDER BY seq DESC LIMIT ?") walks the
    // table's own b-tree backwards: no extra index and no sort. AUTOINCREMENT keeps seq
    // growing after deletes, which the paging cursor relies on.
    R"sql(CREATE TABLE photos (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        id           TEXT    NOT NULL UNIQUE,
        user_id      INTEGER NOT NULL REFERENCES users (id),
        width        INTEGER NOT NULL,
        height       INTEGER NOT NULL,
        thumb_width  INTEGER NOT NULL,
        thumb_height INTEGER NOT NULL,
        bytes        INTEGER NOT NULL,
        created_at   INTEGER NOT NULL
    ))sql",
    // Foreign keys are not indexed by themselves; without it deleting a user scans photos.
    "CREATE INDEX photos_user_id ON photos (user_id)",
    // WITHOUT ROWID: looked up only by the text key, so store the rows in that key's b-tree.
    R"sql(CREATE TABLE sessions (
        id_hash    TEXT    NOT NULL PRIMARY KEY,
        user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        username   TEXT    NOT NULL,
        csrf_token TEXT    NOT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID)sql",
    // For purging expired sessions without reading every session.
    "CREATE INDEX sessions_expires_at ON sessions (expires_at)",
    "CREATE INDEX sessions_user_id ON sessions (user_id)",
};

// Idempotency keys of uploads: a retried upload finds what the first attempt stored.
constexpr std::array<std::string_view, 2> schema_v2{
    R"sql(CREATE TABLE upload_keys (
        user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        idem_key   TEXT    NOT NULL,
        photo_ids  TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, idem_key)
    ) WITHOUT ROWID)sql",
    "CREATE INDEX upload_keys_created_at ON upload_keys (created_at)",
};

// Keys every server of the site must share (the visitor CSRF tokens' HMAC key).
constexpr std::array<std::string_view, 1> schema_v3{
    R"sql(CREATE TABLE secrets (
        name  TEXT NOT NULL PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID)sql",
};

// Further JPEG widths of a photo for srcset (space-separated pixel widths; the files are
// ID_WIDTH.jpg). Photos stored before have none: '' and just the display and thumbnail.
constexpr std::array<std::string_view, 1> schema_v4{
    "ALTER TABLE photos ADD COLUMN variant_widths TEXT NOT NULL DEFAULT ''",
};

// The further formats (WebP, AVIF) of each photo, made by a background job after its JPEGs
// are stored: `formats` lists those made, an image_jobs row is a photo still waiting (its
// lease: run_after; a job that fails waits longer each time).
constexpr std::array<std::string_view, 3> schema_v5{
    "ALTER TABLE photos ADD COLUMN formats TEXT NOT NULL DEFAULT ''",
    R"sql(CREATE TABLE image_jobs (
        photo_id   TEXT    NOT NULL PRIMARY KEY REFERENCES photos (id) ON DELETE CASCADE,
        attempts   INTEGER NOT NULL,
        run_after  INTEGER NOT NULL,
        last_error TEXT    NOT NULL
    ) WITHOUT ROWID)sql",
    "CREATE INDEX image_jobs_run_after ON image_jobs (run_after)",
};

// The file of each photo as it was uploaded, kept privately for its owner (metadata and
// all; never served to anyone else), with what its download needs. '' and 0 for photos
// stored before, and when images.keep_originals is off.
constexpr std::array<std::string_view, 6> schema_v6{
    "ALTER TABLE photos ADD COLUMN original_key TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE photos ADD COLUMN original_type TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE photos ADD COLUMN original_name TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE photos ADD COLUMN original_bytes INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE photos ADD COLUMN original_width INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE photos ADD COLUMN original_height INTEGER NOT NULL DEFAULT 0",
};

// Each photo's caption, as its owner wrote it (HTML-escaped when shown; at most
// limits.max_caption_chars characters, so 4 bytes each in UTF-8 at most). '' for none.
// A user page walks photos_user_id, which holds the rowid (seq) in order: nothing to add.
constexpr std::array<std::string_view, 1> schema_v7{
    "ALTER TABLE photos ADD COLUMN caption TEXT NOT NULL DEFAULT ''",
};

constexpr std::array<Migration, 7> migrations{
    Migration{1, "users, photos, sessions", schema_v1},
    Migration{2, "upload idempotency keys", schema_v2},
    Migration{3, "shared secrets", schema_v3},
    Migration{4, "variant widths", schema_v4},
    Migration{5, "further formats and their jobs", schema_v5},
    Migration{6, "originals", schema_v6},
    Migration{7, "captions", schema_v7},
};

constexpr Dialect dialect{
    .name = "sqlite",
    .in_process = true,
    .placeholders = Placeholders::question,
    .returning = "",  // sqlite3_last_insert_rowid() reports the key
    .create_migrations_table = R"sql(CREATE TABLE IF NOT EXISTS schema_migrations (
        version     INTEGER PRIMARY KEY,
        description TEXT    NOT NULL,
        applied_at  INTEGER NOT NULL
    ))sql",
    .table_exists = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
    .upsert_session = R"sql(INSERT INTO sessions (id_hash, user_id, username, csrf_token, expires_at)
        VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (id_hash) DO UPDATE SET
            user_id = excluded.user_id,
            username = excluded.username,
            csrf_token = excluded.csrf_token,
            expires_at = excluded.expires_at)sql",
    .insert_secret = "INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)",
    // Reads the schema page: fails on an unreadable or foreign file, unlike SELECT 1.
    .ping = "SELECT count(*) FROM sqlite_master",
    .migrations = migrations,
};

}  // namespace

const Dialect& sqlite_dialect() {
    return dialect;
}

}  // namespace photoshare::store
