#include "store/sqlite.hpp"

#include <sqlite3.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>

#include "store/repository.hpp"

namespace photoshare::store {
namespace {

struct DatabaseCloser {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};

struct StatementFinalizer {
    void operator()(sqlite3_stmt* statement) const noexcept { sqlite3_finalize(statement); }
};

using StatementPtr = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

// Lets the statement cache be searched with the caller's string_view, without a copy.
struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const noexcept {
        return std::hash<std::string_view>{}(text);
    }
};

// A cached statement must be reset however its use ends: otherwise it keeps a read
// transaction open (blocking WAL checkpoints) and keeps pointers to the caller's buffers.
class StatementUse {
public:
    explicit StatementUse(sqlite3_stmt* statement) : statement_(statement) {}
    ~StatementUse() {
        sqlite3_reset(statement_);
        sqlite3_clear_bindings(statement_);
    }
    StatementUse(const StatementUse&) = delete;
    StatementUse& operator=(const StatementUse&) = delete;

private:
    sqlite3_stmt* statement_;
};

class SqliteConnection final : public sql::Connection {
public:
    SqliteConnection(std::filesystem::path file, std::chrono::milliseconds lock_timeout)
        : file_(std::move(file)), lock_timeout_(lock_timeout) {
        sqlite3* raw = nullptr;
        // NOMUTEX: the pool gives a connection to one thread at a time, so SQLite's own
        // per-connection mutex would only cost time. Not SQLITE_OPEN_URI: the path is a path.
        const int rc = sqlite3_open_v2(file_.c_str(), &raw,
                                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                       nullptr);
        db_.reset(raw);  // closed by the destructor even when opening failed
        if (rc != SQLITE_OK) {
            const std::string reason = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
            throw Unavailable("cannot open sqlite database " + file_.string() + ": " + reason);
        }
        sqlite3_extended_result_codes(db_.get(), 1);
        // Without a busy handler a second writer fails at once with SQLITE_BUSY; with it, it
        // waits its turn, whether the first writer is a thread here or another process.
        sqlite3_busy_timeout(db_.get(), static_cast<int>(std::min<std::int64_t>(
                                            lock_timeout_.count(), std::numeric_limits<int>::max())));

        // WAL: readers never block the writer nor the writer the readers, and a commit is
        // one append. The mode is stored in the file, so every later opener finds it set.
        if (const std::string mode = switch_to_wal(); mode != "wal") {
            throw Unavailable("sqlite database " + file_.string() +
                              " cannot use write-ahead logging (journal mode stays \"" + mode +
                              "\"); keep it on a local file system");
        }
        // FULL: fsync the log on every commit, so an acknowledged upload survives a power
        // cut (NORMAL would only keep the database consistent, not the last commits).
        pragma("PRAGMA synchronous = FULL");
        // Off by default in SQLite, for compatibility; the schema relies on them.
        pragma("PRAGMA foreign_keys = ON");
    }

    sql::Rows query(std::string_view sql, std::span<const sql::Value> params) override {
        sqlite3_stmt* statement = prepare(sql);
        StatementUse use(statement);
        bind(statement, params);
        sql::Rows rows;
        step_all(statement, &rows);
        return rows;
    }

    std::int64_t execute(std::string_view sql, std::span<const sql::Value> params) override {
        sqlite3_stmt* statement = prepare(sql);
        StatementUse use(statement);
        bind(statement, params);
        step_all(statement, nullptr);
        return sqlite3_changes64(db_.get());
    }

    std::int64_t insert(std::string_view sql, std::span<const sql::Value> params) override {
        execute(sql, params);
        return sqlite3_last_insert_rowid(db_.get());
    }

    void run_ddl(std::string_view statement) override {
        sqlite3_stmt* raw = nullptr;
        if (sqlite3_prepare_v2(db_.get(), statement.data(), static_cast<int>(statement.size()), &raw,
                               nullptr) != SQLITE_OK) {
            fail("preparing a schema change");
        }
        StatementPtr owned(raw);
        step_all(raw, nullptr);
    }

    void begin(sql::TxKind) override {
        // IMMEDIATE for both kinds: every transaction here writes, and taking the write
        // lock up front means waiting in the busy handler instead of failing later with
        // SQLITE_BUSY when a read lock cannot be upgraded. The write lock is exclusive
        // across processes, so it serialises migrations too.
        execute("BEGIN IMMEDIATE", {});
    }

    void commit() override { execute("COMMIT", {}); }

    void rollback() noexcept override {
        // SQLite rolls back by itself after some errors (I/O, full disk, busy); then there is
        // nothing left to do.
        if (sqlite3_get_autocommit(db_.get()) != 0) {
            return;
        }
        if (sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr) != SQLITE_OK) {
            broken_ = true;
        }
    }

    bool healthy() const noexcept override {
        return !broken_ && sqlite3_get_autocommit(db_.get()) != 0;
    }

private:
    sqlite3_stmt* prepare(std::string_view sql) {
        if (auto found = statements_.find(sql); found != statements_.end()) {
            return found->second.get();
        }
        sqlite3_stmt* raw = nullptr;
        const char* tail = nullptr;
        // PERSISTENT: the statement lives as long as the connection, so SQLite may keep it
        // in memory that is not recycled between short-lived statements.
        if (sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                               SQLITE_PREPARE_PERSISTENT, &raw, &tail) != SQLITE_OK) {
            fail("preparing a statement");
        }
        StatementPtr statement(raw);
        if (!statement || std::string_view(tail).find_first_not_of(" \t\r\n") != std::string_view::npos) {
            throw std::logic_error("store: pass exactly one SQL statement at a time");
        }
        return statements_.emplace(std::string(sql), std::move(statement)).first->second.get();
    }

    static void bind(sqlite3_stmt* statement, std::span<const sql::Value> params) {
        if (sqlite3_bind_parameter_count(statement) != static_cast<int>(params.size())) {
            throw std::logic_error("store: wrong number of SQL parameters for: " +
                                   std::string(sqlite3_sql(statement)));
        }
        int index = 1;
        for (const sql::Value& value : params) {
            int rc = SQLITE_OK;
            if (const auto* number = std::get_if<std::int64_t>(&value)) {
                rc = sqlite3_bind_int64(statement, index, *number);
            } else if (const auto* text = std::get_if<std::string>(&value)) {
                // STATIC: StatementUse clears the bindings before the caller's strings go.
                rc = sqlite3_bind_text64(statement, index, text->data(), text->size(), SQLITE_STATIC,
                                         SQLITE_UTF8);
            } else {
                rc = sqlite3_bind_null(statement, index);
            }
            if (rc != SQLITE_OK) {
                throw std::logic_error(std::string("store: cannot bind an SQL parameter: ") +
                                       sqlite3_errstr(rc));
            }
            ++index;
        }
    }

    void step_all(sqlite3_stmt* statement, sql::Rows* rows) {
        while (true) {
            const int rc = sqlite3_step(statement);
            if (rc == SQLITE_DONE) {
                return;
            }
            if (rc != SQLITE_ROW) {
                fail("running a statement");
            }
            if (rows != nullptr) {
                rows->push_back(read_row(statement));
            }
        }
    }

    static sql::Row read_row(sqlite3_stmt* statement) {
        const int columns = sqlite3_column_count(statement);
        sql::Row row;
        row.reserve(static_cast<std::size_t>(columns));
        for (int i = 0; i < columns; ++i) {
            switch (sqlite3_column_type(statement, i)) {
            case SQLITE_INTEGER:
                row.emplace_back(static_cast<std::int64_t>(sqlite3_column_int64(statement, i)));
                break;
            case SQLITE_TEXT:
            case SQLITE_BLOB: {
                // Ask for the pointer first: column_bytes then measures that representation.
                const auto* data = static_cast<const char*>(sqlite3_column_blob(statement, i));
                const int size = sqlite3_column_bytes(statement, i);
                row.emplace_back(std::string(data == nullptr ? "" : data, static_cast<std::size_t>(size)));
                break;
            }
            case SQLITE_NULL:
                row.emplace_back(std::monostate{});
                break;
            default:
                throw std::logic_error("store: the schema has no floating-point columns");
            }
        }
        return row;
    }

    // Returns the journal mode in force afterwards.
    std::string switch_to_wal() {
        // Changing the mode needs the file to itself, and SQLite reports SQLITE_BUSY for it
        // without consulting the busy handler: several servers opening a new database at
        // once would fail. So wait here, as the busy handler would for any other statement.
        const auto deadline = std::chrono::steady_clock::now() + lock_timeout_;
        std::string mode;
        while (try_pragma("PRAGMA journal_mode = WAL", mode) == SQLITE_BUSY) {
            if (std::chrono::steady_clock::now() >= deadline) {
                fail("switching to write-ahead logging");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return mode;
    }

    // Runs a PRAGMA once (not worth caching) and returns its first column, if any.
    std::string pragma(std::string_view statement) {
        std::string result;
        try_pragma(statement, result);
        return result;
    }

    // Throws like fail() for every error but SQLITE_BUSY, which it returns.
    int try_pragma(std::string_view statement, std::string& result) {
        sqlite3_stmt* raw = nullptr;
        int rc = sqlite3_prepare_v2(db_.get(), statement.data(), static_cast<int>(statement.size()), &raw,
                                    nullptr);
        StatementPtr owned(raw);
        if (rc == SQLITE_OK) {
            rc = sqlite3_step(raw);
        }
        if (rc == SQLITE_ROW) {
            const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(raw, 0));
            result = text == nullptr ? std::string() : std::string(text);
            return SQLITE_OK;
        }
        if (rc == SQLITE_DONE) {
            return SQLITE_OK;
        }
        if ((rc & 0xff) == SQLITE_BUSY) {
            return SQLITE_BUSY;
        }
        fail("configuring the connection");
    }

    // Turns the connection's last error into the exception the repository expects.
    [[noreturn]] void fail(std::string_view doing) {
        const int code = sqlite3_extended_errcode(db_.get());
        const std::string where = "sqlite " + file_.string() + ": ";
        const std::string message = sqlite3_errmsg(db_.get());
        switch (code & 0xff) {
        case SQLITE_CONSTRAINT:
            if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY) {
                throw sql::UniqueViolation(message);
            }
            throw sql::ConstraintViolation(message);
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            throw Unavailable(where + "the database stayed locked by another writer for " +
                              std::to_string(lock_timeout_.count()) + " ms");
        case SQLITE_FULL:
            throw Unavailable(where + "the disk is full");
        case SQLITE_IOERR:
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
        case SQLITE_CANTOPEN:
        case SQLITE_NOMEM:
        case SQLITE_PROTOCOL:
            // The file or the connection is in doubt: let the pool open a fresh one.
            broken_ = true;
            break;
        default:
            break;
        }
        throw Unavailable(where + message + " (" + std::string(doing) + ")");
    }

    std::filesystem::path file_;
    std::chrono::milliseconds lock_timeout_;
    // Declared before the statements so that it is closed after they are finalised.
    std::unique_ptr<sqlite3, DatabaseCloser> db_;
    std::unordered_map<std::string, StatementPtr, TextHash, std::equal_to<>> statements_;
    bool broken_ = false;
};

}  // namespace

std::unique_ptr<sql::Connection> connect_sqlite(const std::filesystem::path& file,
                                                std::chrono::milliseconds lock_timeout) {
    namespace fs = std::filesystem;
    // A fresh machine has no data directory yet: it is made readable by its owner only, and
    // so is the database file (SQLite gives its -wal and -shm files the database file's
    // permissions). A failure here shows up, more clearly, as SQLite's own "unable to open
    // database file".
    if (file.has_parent_path()) {
        std::error_code ec;
        if (fs::create_directories(file.parent_path(), ec)) fs::permissions(file.parent_path(), fs::perms::owner_all, ec);
    }
    if (const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600); fd >= 0) ::close(fd);
    return std::make_unique<SqliteConnection>(file, lock_timeout);
}

}  // namespace photoshare::store
