// PostgreSQL's spelling of the schema and of the few statements that differ between databases.
#include <array>

#include "store/dialect.hpp"

namespace photoshare::store {
namespace {

// Text the application gives is stored as BYTEA: the repository keeps bytes exactly as
// given, like SQLite does, whereas TEXT refuses NUL bytes and anything that is not valid
// UTF-8 (a username, a cookie's hash, a photo id from a URL are all somebody's input). A
// DBA reads them with convert_from(column, 'UTF8'). Equality and ordering of BYTEA are
// bytewise, so the unique keys mean exactly what they mean in SQLite.
constexpr std::array<std::string_view, 6> schema_v1{
    // username_key: lower-cased by the repository (ASCII only, the same way for every
    // dialect); it is what makes "Alice" and "alice" clash.
    R"sql(CREATE TABLE users (
        id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        username      BYTEA  NOT NULL,
        username_key  BYTEA  NOT NULL UNIQUE,
        password_hash BYTEA  NOT NULL,
        created_at    BIGINT NOT NULL
    ))sql",
    // seq: an identity never hands a value out twice, even after a delete or a rollback,
    // which the paging cursor relies on. The front page walks its primary key backwards.
    R"sql(CREATE TABLE photos (
        seq          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id           BYTEA   NOT NULL UNIQUE,
        user_id      BIGINT  NOT NULL REFERENCES users (id),
        width        INTEGER NOT NULL,
        height       INTEGER NOT NULL,
        thumb_width  INTEGER NOT NULL,
        thumb_height INTEGER NOT NULL,
        bytes        BIGINT  NOT NULL,
        created_at   BIGINT  NOT NULL
    ))sql",
    // Foreign keys are not indexed by themselves; without it deleting a user scans photos.
    "CREATE INDEX photos_user_id ON photos (user_id)",
    R"sql(CREATE TABLE sessions (
        id_hash    BYTEA  NOT NULL PRIMARY KEY,
        user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        username   BYTEA  NOT NULL,
        csrf_token BYTEA  NOT NULL,
        expires_at BIGINT NOT NULL
    ))sql",
    // For purging expired sessions without reading every session.
    "CREATE INDEX sessions_expires_at ON sessions (expires_at)",
    "CREATE INDEX sessions_user_id ON sessions (user_id)",
};

// Idempotency keys of uploads: a retried upload finds what the first attempt stored.
constexpr std::array<std::string_view, 2> schema_v2{
    R"sql(CREATE TABLE upload_keys (
        user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        idem_key   BYTEA  NOT NULL,
        photo_ids  BYTEA  NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (user_id, idem_key)
    ))sql",
    "CREATE INDEX upload_keys_created_at ON upload_keys (created_at)",
};

// Keys every server of the site must share (the visitor CSRF tokens' HMAC key).
constexpr std::array<std::string_view, 1> schema_v3{
    R"sql(CREATE TABLE secrets (
        name  BYTEA NOT NULL PRIMARY KEY,
        value BYTEA NOT NULL
    ))sql",
};

// Further JPEG widths of a photo for srcset (space-separated pixel widths; the files are
// ID_WIDTH.jpg). Photos stored before have none: '' and just the display and thumbnail.
constexpr std::array<std::string_view, 1> schema_v4{
    "ALTER TABLE photos ADD COLUMN IF NOT EXISTS variant_widths BYTEA NOT NULL DEFAULT ''::bytea",
};

// The further formats (WebP, AVIF) of each photo, made by a background job after its JPEGs
// are stored: `formats` lists those made, an image_jobs row is a photo still waiting (its
// lease: run_after; a job that fails waits longer each time).
constexpr std::array<std::string_view, 3> schema_v5{
    "ALTER TABLE photos ADD COLUMN formats BYTEA NOT NULL DEFAULT ''::bytea",
    R"sql(CREATE TABLE image_jobs (
        photo_id   BYTEA   NOT NULL PRIMARY KEY REFERENCES photos (id) ON DELETE CASCADE,
        attempts   INTEGER NOT NULL,
        run_after  BIGINT  NOT NULL,
        last_error BYTEA   NOT NULL
    ))sql",
    "CREATE INDEX image_jobs_run_after ON image_jobs (run_after)",
};

// The file of each photo as it was uploaded, kept privately for its owner (metadata and
// all; never served to anyone else), with what its download needs. '' and 0 for photos
// stored before, and when images.keep_originals is off.
constexpr std::array<std::string_view, 1> schema_v6{
    "ALTER TABLE photos ADD COLUMN IF NOT EXISTS original_key BYTEA NOT NULL DEFAULT ''::bytea, "
    "ADD COLUMN IF NOT EXISTS original_type BYTEA NOT NULL DEFAULT ''::bytea, "
    "ADD COLUMN IF NOT EXISTS original_name BYTEA NOT NULL DEFAULT ''::bytea, "
    "ADD COLUMN IF NOT EXISTS original_bytes BIGINT NOT NULL DEFAULT 0, "
    "ADD COLUMN IF NOT EXISTS original_width INTEGER NOT NULL DEFAULT 0, "
    "ADD COLUMN IF NOT EXISTS original_height INTEGER NOT NULL DEFAULT 0",
};

// Each photo's caption, as its owner wrote it (HTML-escaped when shown; at most
// limits.max_caption_chars characters, so 4 bytes each in UTF-8 at most). '' for none.
// A user page ("user_id = ? AND seq < ? ORDER BY seq DESC") walks (user_id, seq); it also
// serves the foreign key, so the index on user_id alone goes.
constexpr std::array<std::string_view, 3> schema_v7{
    "ALTER TABLE photos ADD COLUMN IF NOT EXISTS caption BYTEA NOT NULL DEFAULT ''::bytea",
    "CREATE INDEX IF NOT EXISTS photos_user_seq ON photos (user_id, seq)",
    "DROP INDEX IF EXISTS photos_user_id",
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
    .name = "postgresql",
    .placeholders = Placeholders::numbered,
    .returning = " RETURNING ",
    // Runs under the migration lock (pg_advisory_xact_lock, see postgresql.cpp): two
    // concurrent CREATE TABLE IF NOT EXISTS could otherwise both try to create it.
    .create_migrations_table = R"sql(CREATE TABLE IF NOT EXISTS schema_migrations (
        version     INTEGER PRIMARY KEY,
        description TEXT    NOT NULL,
        applied_at  BIGINT  NOT NULL
    ))sql",
    // The schema the connection works in (search_path), as for every unqualified name here.
    .table_exists = "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = $1",
    .upsert_session = R"sql(INSERT INTO sessions (id_hash, user_id, username, csrf_token, expires_at)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (id_hash) DO UPDATE SET
            user_id = excluded.user_id,
            username = excluded.username,
            csrf_token = excluded.csrf_token,
            expires_at = excluded.expires_at)sql",
    // A round trip to the server is the point: the client library alone proves nothing.
    .insert_secret = "INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
    .ping = "SELECT 1",
    .migrations = migrations,
};

}  // namespace

const Dialect& postgresql_dialect() {
    return dialect;
}

}  // namespace photoshare::store
