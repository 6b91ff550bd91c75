// MySQL's and MariaDB's spelling of the schema and of the few statements that differ.
#include <array>

#include "store/dialect.hpp"

namespace photoshare::store {
namespace {

// MySQL commits before and after every DDL statement, so a version cannot be applied in
// one transaction as elsewhere. Instead each statement can run again: a server that died
// half-way through a version leaves some tables made and the version unrecorded, and the
// next migrate() (under GET_LOCK, see mysql.cpp) creates the rest and records it. Indexes
// and foreign keys are declared inside CREATE TABLE for that reason (MySQL has no CREATE
// INDEX IF NOT EXISTS).
//
// Strings are VARBINARY: stored and compared as bytes, exactly as SQLite and PostgreSQL
// (BYTEA) do. A character column would compare with its collation instead: case and
// accent folding, and trailing spaces ignored ("alice" = "alice ") under PAD SPACE
// collations. The lengths are limits the application stays far below.
constexpr std::array<std::string_view, 3> schema_v1{
    // username_key: lower-cased by the repository (ASCII only, the same way for every
    // dialect); it is what makes "Alice" and "alice" clash.
    R"sql(CREATE TABLE IF NOT EXISTS users (
        id            BIGINT          NOT NULL AUTO_INCREMENT PRIMARY KEY,
        username      VARBINARY(255)  NOT NULL,
        username_key  VARBINARY(255)  NOT NULL,
        password_hash VARBINARY(1024) NOT NULL,
        created_at    BIGINT          NOT NULL,
        UNIQUE KEY users_username_key (username_key)
    ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin)sql",
    // seq: InnoDB (MySQL 8, MariaDB 10.2.4 and later) never hands an AUTO_INCREMENT value
    // out twice, even after a delete and a restart, which the paging cursor relies on.
    R"sql(CREATE TABLE IF NOT EXISTS photos (
        seq          BIGINT         NOT NULL AUTO_INCREMENT PRIMARY KEY,
        id           VARBINARY(255) NOT NULL,
        user_id      BIGINT         NOT NULL,
        width        INT            NOT NULL,
        height       INT            NOT NULL,
        thumb_width  INT            NOT NULL,
        thumb_height INT            NOT NULL,
        bytes        BIGINT         NOT NULL,
        created_at   BIGINT         NOT NULL,
        UNIQUE KEY photos_id (id),
        KEY photos_user_id (user_id),
        CONSTRAINT photos_user FOREIGN KEY (user_id) REFERENCES users (id)
    ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin)sql",
    R"sql(CREATE TABLE IF NOT EXISTS sessions (
        id_hash    VARBINARY(255) NOT NULL PRIMARY KEY,
        user_id    BIGINT         NOT NULL,
        username   VARBINARY(255) NOT NULL,
        csrf_token VARBINARY(255) NOT NULL,
        expires_at BIGINT         NOT NULL,
        KEY sessions_expires_at (expires_at),
        KEY sessions_user_id (user_id),
        CONSTRAINT sessions_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
    ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin)sql",
};

// Idempotency keys of uploads: a retried upload finds what the first attempt stored.
// Re-runnable like version 1 (no transactional DDL in MySQL).
// Keys every server of the site must share (the visitor CSRF tokens' HMAC key).
constexpr std::array<std::string_view, 1> schema_v3{
    R"sql(CREATE TABLE IF NOT EXISTS secrets (
        name  VARBINARY(255) NOT NULL PRIMARY KEY,
        value VARBINARY(1024) NOT NULL
    ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin)sql",
};

constexpr std::array<std::string_view, 1> schema_v2{
    R"sql(CREATE TABLE IF NOT EXISTS upload_keys (
        user_id    BIGINT          NOT NULL,
        idem_key   VARBINARY(255)  NOT NULL,
        photo_ids  VARBINARY(8192) NOT NULL,
        created_at BIGINT          NOT NULL,
        PRIMARY KEY (user_id, idem_key),
        KEY upload_keys_created_at (created_at),
        CONSTRAINT upload_keys_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
    ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin)sql",
};

// Further JPEG widths of a photo for srcset (space-separated pixel widths; the files are
// ID_WIDTH.jpg). Photos stored before have none: '' and just the display and thumbnail.
// Not re-runnable (MySQL has no ADD COLUMN IF NOT EXISTS, MariaDB's would not be portable):
// a crash between the ALTER and recording version 4 needs the column dropped by hand.
constexpr std::array<std::string_view, 1> schema_v4{
    "ALTER TABLE photos ADD COLUMN variant_widths VARBINARY(255) NOT NULL DEFAULT ''",
};

// The further formats (WebP, AVIF) of each photo, made by a background job after its JPEGs
// are stored: `formats` lists those made, an image_jobs row is a photo still waiting (its
// lease: run_after; a job that fails waits longer each time). The ALTER is not re-runnable
// (see version 4); the table is.
constexpr std::array<std::string_view, 2> schema_v5{
    "ALTER TABLE photos ADD COLUMN formats VARBINARY(64) NOT NULL DEFAULT ''",
    R"sql(CREATE TABLE IF NOT EXISTS image_jobs (
        photo_id   VARBINARY(255)  NOT NULL PRIMARY KEY,
        attempts   INT             NOT NULL,
        run_after  BIGINT          NOT NULL,
        last_error VARBINARY(1024) NOT NULL,
        KEY image_jobs_run_after (run_after),
        CONSTRAINT image_jobs_photo FOREIGN KEY (photo_id) REFERENCES photos (id) ON DELETE CASCADE
    ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin)sql",
};

// The file of each photo as it was uploaded, kept privately for its owner (metadata and
// all; never served to anyone else), with what its download needs. '' and 0 for photos
// stored before, and when images.keep_originals is off. One statement: all the columns
// or none (not re-runnable, see version 4).
constexpr std::array<std::string_view, 1> schema_v6{
    "ALTER TABLE photos ADD COLUMN original_key VARBINARY(255) NOT NULL DEFAULT '', "
    "ADD COLUMN original_type VARBINARY(64) NOT NULL DEFAULT '', "
    "ADD COLUMN original_name VARBINARY(1024) NOT NULL DEFAULT '', "
    "ADD COLUMN original_bytes BIGINT NOT NULL DEFAULT 0, "
    "ADD COLUMN original_width INT NOT NULL DEFAULT 0, "
    "ADD COLUMN original_height INT NOT NULL DEFAULT 0",
};

// Each photo's caption, as its owner wrote it (HTML-escaped when shown; at most
// limits.max_caption_chars characters, so 4 bytes each in UTF-8 at most). '' for none.
// A user page walks photos_user_id: InnoDB keeps the primary key (seq) in every secondary
// index, so it is (user_id, seq) already.
constexpr std::array<std::string_view, 1> schema_v7{
    "ALTER TABLE photos ADD COLUMN caption VARBINARY(8192) NOT NULL DEFAULT ''",
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
    .name = "mysql",
    .placeholders = Placeholders::question,
    .returning = "",  // mysql_stmt_insert_id() reports the key (LAST_INSERT_ID())
    .create_migrations_table = R"sql(CREATE TABLE IF NOT EXISTS schema_migrations (
        version     INT          NOT NULL PRIMARY KEY,
        description VARCHAR(255) NOT NULL,
        applied_at  BIGINT       NOT NULL
    ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin)sql",
    .table_exists = "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    // VALUES(col) rather than MySQL 8.0.19's row alias, which MariaDB does not have.
    .upsert_session = R"sql(INSERT INTO sessions (id_hash, user_id, username, csrf_token, expires_at)
        VALUES (?, ?, ?, ?, ?)
        ON DUPLICATE KEY UPDATE
            user_id = VALUES(user_id),
            username = VALUES(username),
            csrf_token = VALUES(csrf_token),
            expires_at = VALUES(expires_at))sql",
    // A round trip to the server is the point: the client library alone proves nothing.
    .insert_secret = "INSERT IGNORE INTO secrets (name, value) VALUES (?, ?)",
    .ping = "SELECT 1",
    .migrations = migrations,
};

}  // namespace

const Dialect& mysql_dialect() {
    return dialect;
}

}  // namespace photoshare::store
