#include "store/mysql.hpp"

#include <mysql.h>
#include <mysqld_error.h>
#include <errmsg.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "codec/percent.hpp"

namespace photoshare::store {
namespace {

using namespace std::chrono_literals;

// ---- the client library: once per process, once per thread ----

void init_library() {
    static std::once_flag once;
    std::call_once(once, [] {
        // Not thread-safe itself, hence the once_flag; mysql_init() would call it too, but
        // unguarded.
        if (mysql_library_init(0, nullptr, nullptr) != 0) {
            throw Unavailable("mysql: cannot initialise the client library");
        }
    });
}

// Thread-specific state of the client library, set up on a thread's first use and torn
// down when the thread ends (workers come and go from the pool).
struct ThreadUse {
    ThreadUse() { mysql_thread_init(); }
    ~ThreadUse() { mysql_thread_end(); }
    ThreadUse(const ThreadUse&) = delete;
    ThreadUse& operator=(const ThreadUse&) = delete;
};

// For a connection that exists (the library is initialised already): this thread's state.
void use_thread_here() noexcept {
    thread_local ThreadUse use;
    (void)use;
}

void use_client_here() {
    init_library();
    use_thread_here();
}

// ---- the URL ----

// what names the part for the message; the part itself is never quoted (it may be the password).
std::string percent_decoded(std::string_view text, std::string_view what) {
    std::string out;
    if (const auto error = codec::percent_decode_to(out, text, false, true)) {
        throw std::invalid_argument(*error == codec::PercentError::bad_escape
                                        ? "mysql URL: bad percent-encoding in the " + std::string(what)
                                        : "mysql URL: %00 in the " + std::string(what));
    }
    return out;
}

std::chrono::seconds whole_seconds_at_least_one(std::chrono::milliseconds value) {
    return std::max<std::chrono::seconds>(std::chrono::ceil<std::chrono::seconds>(value), 1s);
}

// ---- the connection ----

struct StatementCloser {
    void operator()(MYSQL_STMT* statement) const noexcept { mysql_stmt_close(statement); }
};
using StatementPtr = std::unique_ptr<MYSQL_STMT, StatementCloser>;

struct MetadataFreer {
    void operator()(MYSQL_RES* result) const noexcept { mysql_free_result(result); }
};

bool is_integer_type(enum_field_types type) {
    switch (type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_YEAR:
        return true;
    default:
        return false;
    }
}

bool is_string_type(enum_field_types type) {
    switch (type) {
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_VAR_STRING:
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB:
        return true;
    default:
        return false;
    }
}

// Names the migration lock after the database, so that servers of different databases on
// one MySQL server do not wait for each other (GET_LOCK names are server-wide, at most 64
// characters).
constexpr std::string_view lock_name = "CONCAT('photoshare.migrate:', SHA1(DATABASE()))";

class MysqlConnection final : public sql::Connection {
public:
    explicit MysqlConnection(const MysqlSettings& settings)
        : description_(settings.description), tls_(settings.ssl_mode != "disabled") {
        use_client_here();
        db_ = mysql_init(nullptr);
        if (db_ == nullptr) {
            throw Unavailable("cannot connect to " + description_ + ": out of memory");
        }
        const unsigned connect_timeout = static_cast<unsigned>(settings.connect_timeout.count());
        // The client waits a little longer than the server's statement timeout, so the
        // server's own cancellation (a clear error) comes first.
        const unsigned io_timeout =
            static_cast<unsigned>(whole_seconds_at_least_one(settings.statement_timeout).count() + 2);
        io_timeout_ = std::chrono::seconds(io_timeout);
        const my_bool off = 0;
        const my_bool on = 1;
        const unsigned no_local_files = 0;
        mysql_optionsv(db_, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
        mysql_optionsv(db_, MYSQL_OPT_READ_TIMEOUT, &io_timeout);
        mysql_optionsv(db_, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout);
        mysql_optionsv(db_, MYSQL_OPT_RECONNECT, &off);
        mysql_optionsv(db_, MYSQL_OPT_LOCAL_INFILE, &no_local_files);
        mysql_optionsv(db_, MYSQL_SET_CHARSET_NAME, "utf8mb4");
        if (settings.ssl_mode == "required" || settings.ssl_mode == "verify_identity") {
            mysql_optionsv(db_, MYSQL_OPT_SSL_ENFORCE, &on);
        }
        if (settings.ssl_mode == "verify_identity") {
            mysql_optionsv(db_, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
        }
        if (!settings.ssl_ca.empty()) {
            mysql_optionsv(db_, MYSQL_OPT_SSL_CA, settings.ssl_ca.c_str());
        }
        if (mysql_real_connect(db_, settings.socket.empty() ? settings.host.c_str() : nullptr,
                               settings.user.c_str(), settings.password.c_str(),
                               settings.database.empty() ? nullptr : settings.database.c_str(), settings.port,
                               settings.socket.empty() ? nullptr : settings.socket.c_str(), 0) == nullptr) {
            const std::string reason = mysql_error(db_);
            mysql_close(db_);
            throw Unavailable("cannot connect to " + description_ + ": " + reason);
        }
        try {
            configure_session(settings);
        } catch (...) {
            mysql_close(db_);
            throw;
        }
    }

    ~MysqlConnection() override {
        use_thread_here();
        statements_.clear();
        mysql_close(db_);
    }

    MysqlConnection(const MysqlConnection&) = delete;
    MysqlConnection& operator=(const MysqlConnection&) = delete;

    sql::Rows query(std::string_view sql, std::span<const sql::Value> params) override {
        use_client_here();
        MYSQL_STMT* statement = run(sql, params);
        return read_rows(statement);
    }

    std::int64_t execute(std::string_view sql, std::span<const sql::Value> params) override {
        use_client_here();
        MYSQL_STMT* statement = run(sql, params);
        if (mysql_stmt_field_count(statement) > 0) {
            read_rows(statement);  // drains it
        }
        return static_cast<std::int64_t>(mysql_stmt_affected_rows(statement));
    }

    std::int64_t insert(std::string_view sql, std::span<const sql::Value> params) override {
        use_client_here();
        MYSQL_STMT* statement = run(sql, params);
        return static_cast<std::int64_t>(mysql_stmt_insert_id(statement));
    }

    void run_ddl(std::string_view statement) override {
        use_client_here();
        simple(statement, true, "running a schema change");
    }

    void begin(sql::TxKind kind) override {
        use_client_here();
        try {
            if (kind == sql::TxKind::migration) {
                // A session lock, not a transaction's: DDL commits implicitly, and the lock
                // must outlive those commits. Released in commit() or rollback(), or by the
                // server when the session ends.
                const std::array<sql::Value, 1> wait{static_cast<std::int64_t>(lock_wait_.count())};
                const sql::Rows got = query("SELECT GET_LOCK(" + std::string(lock_name) + ", ?)", wait);
                if (got.size() != 1 || got.front().size() != 1 ||
                    !std::holds_alternative<std::int64_t>(got.front().front()) ||
                    std::get<std::int64_t>(got.front().front()) != 1) {
                    throw Unavailable(description_ + ": another server held the migration lock for more than " +
                                      std::to_string(lock_wait_.count()) + " s");
                }
                holds_lock_ = true;
            }
            // Marked first: if the connection breaks now, nothing can have committed.
            in_transaction_ = true;
            simple("START TRANSACTION", false, "starting a transaction");
        } catch (...) {
            rollback();
            throw;
        }
    }

    void commit() override {
        use_client_here();
        committing_ = true;
        try {
            simple("COMMIT", true, "committing");
        } catch (...) {
            committing_ = false;
            in_transaction_ = false;
            throw;
        }
        committing_ = false;
        in_transaction_ = false;
        release_lock();
    }

    void rollback() noexcept override {
        use_thread_here();
        if (in_transaction_) {
            in_transaction_ = false;
            if (!broken_ && mysql_real_query(db_, "ROLLBACK", 8) != 0) {
                broken_ = true;
            }
        }
        release_lock();
    }

    bool healthy() const noexcept override { return !broken_ && !in_transaction_ && !holds_lock_; }

    bool alive(bool round_trip) noexcept override {
        if (!healthy()) {
            return false;
        }
        try {
            use_client_here();
            check_before_send();
            if (round_trip && mysql_ping(db_) != 0) {
                broken_ = true;
            }
        } catch (...) {
            broken_ = true;
        }
        return healthy();
    }

private:
    struct Statement {
        StatementPtr handle;
        unsigned long parameters = 0;
    };

    void configure_session(const MysqlSettings& settings) {
        lock_wait_ = whole_seconds_at_least_one(settings.lock_timeout);
        // Strict: a value that does not fit is an error, not a silent truncation; and no
        // silent change of storage engine.
        simple("SET SESSION sql_mode = 'TRADITIONAL'", false, "configuring the session");
        // Fewer gap locks than REPEATABLE READ, hence fewer deadlocks between writers; the
        // repository never relies on repeatable reads within a transaction.
        simple("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", false, "configuring the session");
        const std::array<sql::Value, 2> locks{static_cast<std::int64_t>(lock_wait_.count()),
                                              static_cast<std::int64_t>(lock_wait_.count())};
        // Row locks (InnoDB) and metadata locks (LOCK TABLES, DDL) alike.
        once("SET SESSION innodb_lock_wait_timeout = ?, SESSION lock_wait_timeout = ?", locks);
        const std::string_view server = mysql_get_server_info(db_);
        if (server.find("MariaDB") != std::string_view::npos) {
            const std::array<sql::Value, 1> seconds{
                static_cast<std::int64_t>(whole_seconds_at_least_one(settings.statement_timeout).count())};
            once("SET SESSION max_statement_time = ?", seconds);
        } else {
            // MySQL: applies to SELECT only; writes are bounded by the lock timeouts.
            const std::array<sql::Value, 1> ms{
                static_cast<std::int64_t>(std::max<std::int64_t>(settings.statement_timeout.count(), 1))};
            once("SET SESSION max_execution_time = ?", ms);
        }
    }

    // A statement without values, not worth preparing (transaction control, session
    // settings, schema changes).
    void simple(std::string_view text, bool executing, std::string_view doing) {
        check_before_send();
        if (mysql_real_query(db_, text.data(), text.size()) != 0) {
            fail(mysql_errno(db_), mysql_error(db_), executing, doing);
        }
        // Whatever it returned (nothing, normally) must be read before the next statement.
        do {
            if (MYSQL_RES* result = mysql_store_result(db_); result != nullptr) {
                mysql_free_result(result);
            } else if (mysql_field_count(db_) != 0) {
                fail(mysql_errno(db_), mysql_error(db_), executing, doing);
            }
        } while (mysql_next_result(db_) == 0);
    }

    // A prepared statement run once and closed (session set-up).
    void once(std::string_view sql, std::span<const sql::Value> params) {
        Statement statement = make_statement(sql);
        execute_statement(statement, params);
    }

    MYSQL_STMT* run(std::string_view sql, std::span<const sql::Value> params) {
        auto found = statements_.find(sql);
        if (found == statements_.end()) {
            found = statements_.emplace(std::string(sql), make_statement(sql)).first;
        }
        execute_statement(found->second, params);
        return found->second.handle.get();
    }

    Statement make_statement(std::string_view sql) {
        check_before_send();
        StatementPtr handle(mysql_stmt_init(db_));
        if (!handle) {
            throw Unavailable(description_ + ": out of memory for a statement");
        }
        if (mysql_stmt_prepare(handle.get(), sql.data(), sql.size()) != 0) {
            fail(mysql_stmt_errno(handle.get()), mysql_stmt_error(handle.get()), false, "preparing a statement");
        }
        // Lengths of the longest value in each column, known after store_result().
        const my_bool on = 1;
        mysql_stmt_attr_set(handle.get(), STMT_ATTR_UPDATE_MAX_LENGTH, &on);
        Statement statement;
        statement.parameters = mysql_stmt_param_count(handle.get());
        statement.handle = std::move(handle);
        return statement;
    }

    void execute_statement(Statement& statement, std::span<const sql::Value> params) {
        MYSQL_STMT* handle = statement.handle.get();
        if (statement.parameters != params.size()) {
            throw std::logic_error("store: wrong number of SQL parameters (" + std::to_string(params.size()) +
                                   " for " + std::to_string(statement.parameters) + ")");
        }
        std::vector<MYSQL_BIND> binds(params.size());
        std::vector<long long> integers(params.size());
        std::vector<unsigned long> lengths(params.size());
        for (std::size_t i = 0; i < params.size(); ++i) {
            MYSQL_BIND& bind = binds[i];
            if (const auto* number = std::get_if<std::int64_t>(&params[i])) {
                integers[i] = *number;
                bind.buffer_type = MYSQL_TYPE_LONGLONG;
                bind.buffer = &integers[i];
            } else if (const auto* text = std::get_if<std::string>(&params[i])) {
                // As binary data: no character set conversion or validation on the way,
                // so the bytes land in VARBINARY columns exactly as given.
                lengths[i] = text->size();
                bind.buffer_type = MYSQL_TYPE_BLOB;
                bind.buffer = const_cast<char*>(text->data());
                bind.buffer_length = text->size();
                bind.length = &lengths[i];
            } else {
                bind.buffer_type = MYSQL_TYPE_NULL;
            }
        }
        if (!params.empty() && mysql_stmt_bind_param(handle, binds.data()) != 0) {
            throw std::logic_error(std::string("store: cannot bind SQL parameters: ") + mysql_stmt_error(handle));
        }
        check_before_send();
        if (mysql_stmt_execute(handle) != 0) {
            fail(mysql_stmt_errno(handle), mysql_stmt_error(handle), true, "running a statement");
        }
        if (mysql_stmt_field_count(handle) > 0 && mysql_stmt_store_result(handle) != 0) {
            fail(mysql_stmt_errno(handle), mysql_stmt_error(handle), true, "reading a result");
        }
    }

    sql::Rows read_rows(MYSQL_STMT* handle) {
        sql::Rows rows;
        const unsigned columns = mysql_stmt_field_count(handle);
        if (columns == 0) {
            return rows;
        }
        // Whatever happens below, the stored result goes before the next execution.
        struct FreeResult {
            MYSQL_STMT* handle;
            ~FreeResult() { mysql_stmt_free_result(handle); }
        } free_result{handle};
        const std::unique_ptr<MYSQL_RES, MetadataFreer> metadata(mysql_stmt_result_metadata(handle));
        if (!metadata) {
            fail(mysql_stmt_errno(handle), mysql_stmt_error(handle), true, "reading a result");
        }
        const MYSQL_FIELD* fields = mysql_fetch_fields(metadata.get());
        std::vector<MYSQL_BIND> binds(columns);
        std::vector<long long> integers(columns);
        std::vector<std::string> texts(columns);
        std::vector<unsigned long> lengths(columns);
        // my_bool is a char: std::vector<bool> would not give addresses.
        std::vector<my_bool> nulls(columns);
        std::vector<my_bool> errors(columns);
        for (unsigned c = 0; c < columns; ++c) {
            MYSQL_BIND& bind = binds[c];
            bind.is_null = &nulls[c];
            bind.error = &errors[c];
            bind.length = &lengths[c];
            if (is_integer_type(fields[c].type)) {
                bind.buffer_type = MYSQL_TYPE_LONGLONG;
                bind.buffer = &integers[c];
                bind.is_unsigned = static_cast<my_bool>((fields[c].flags & UNSIGNED_FLAG) != 0);
            } else if (is_string_type(fields[c].type)) {
                texts[c].resize(std::max<unsigned long>(fields[c].max_length, 1));
                bind.buffer_type = MYSQL_TYPE_BLOB;
                bind.buffer = texts[c].data();
                bind.buffer_length = texts[c].size();
            } else if (fields[c].type == MYSQL_TYPE_NULL) {
                bind.buffer_type = MYSQL_TYPE_NULL;
            } else {
                throw std::logic_error("store: unexpected MySQL column type " +
                                       std::to_string(static_cast<int>(fields[c].type)));
            }
        }
        if (mysql_stmt_bind_result(handle, binds.data()) != 0) {
            throw std::logic_error(std::string("store: cannot bind a result: ") + mysql_stmt_error(handle));
        }
        while (true) {
            const int status = mysql_stmt_fetch(handle);
            if (status == MYSQL_NO_DATA) {
                break;
            }
            if (status == 1) {
                fail(mysql_stmt_errno(handle), mysql_stmt_error(handle), true, "reading a result");
            }
            sql::Row row;
            row.reserve(columns);
            for (unsigned c = 0; c < columns; ++c) {
                if (nulls[c] != 0 || binds[c].buffer_type == MYSQL_TYPE_NULL) {
                    row.emplace_back(std::monostate{});
                } else if (binds[c].buffer_type == MYSQL_TYPE_LONGLONG) {
                    row.emplace_back(static_cast<std::int64_t>(integers[c]));
                } else {
                    if (errors[c] != 0 || lengths[c] > texts[c].size()) {
                        // max_length was not maintained: read the value in full.
                        std::string whole(lengths[c], '\0');
                        MYSQL_BIND one{};
                        one.buffer_type = MYSQL_TYPE_BLOB;
                        one.buffer = whole.data();
                        one.buffer_length = whole.size();
                        if (mysql_stmt_fetch_column(handle, &one, c, 0) != 0) {
                            fail(mysql_stmt_errno(handle), mysql_stmt_error(handle), true, "reading a result");
                        }
                        row.emplace_back(std::move(whole));
                    } else {
                        row.emplace_back(std::string(texts[c].data(), lengths[c]));
                    }
                }
            }
            rows.push_back(std::move(row));
        }
        return rows;
    }

    void release_lock() noexcept {
        if (!holds_lock_) {
            return;
        }
        holds_lock_ = false;
        if (broken_) {
            return;  // the server releases it with the session
        }
        try {
            query("SELECT RELEASE_LOCK(" + std::string(lock_name) + ")", {});
        } catch (...) {
            broken_ = true;  // closing the connection releases it
        }
    }

    // Before anything is sent. While a connection is idle the server has nothing to say,
    // unless it is ending the session (shut down, restarted, wait_timeout, KILL): then it
    // sends an error and closes. Finding that here means nothing of the caller's work
    // reached it, so the work can safely go to another connection.
    void check_before_send() {
        sent_at_ = std::chrono::steady_clock::now();
        if (broken_) {
            throw sql::ConnectionLost(description_ + ": the connection was lost earlier", false);
        }
        const int fd = static_cast<int>(mysql_get_socket(db_));
        pollfd ready{fd, POLLIN, 0};
        if (fd < 0 || ::poll(&ready, 1, 0) <= 0) {
            return;
        }
        char byte = 0;
        const ssize_t peeked = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        bool dead = peeked == 0 || (peeked < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
        if (!dead && peeked > 0) {
            // In the clear it can only be the server's goodbye. Under TLS it may be a
            // session ticket, which only a round trip tells apart.
            dead = !tls_ || mysql_ping(db_) != 0;
        }
        if (dead) {
            broken_ = true;
            throw sql::ConnectionLost(description_ + ": the server closed the connection while it was idle", false);
        }
    }

    // Turns a client or server error into the exception the repository expects.
    [[noreturn]] void fail(unsigned code, const std::string& message, bool executing, std::string_view doing) {
        const bool outcome_unknown = executing && (!in_transaction_ || committing_);
        switch (code) {
        case ER_DUP_ENTRY:
        case ER_DUP_ENTRY_WITH_KEY_NAME:
        case ER_DUP_KEY:
            throw sql::UniqueViolation(message);
        case ER_NO_REFERENCED_ROW_2:
        case ER_ROW_IS_REFERENCED_2:
        case ER_NO_REFERENCED_ROW:
        case ER_ROW_IS_REFERENCED:
        case ER_BAD_NULL_ERROR:
        case ER_DATA_TOO_LONG:
        case ER_NO_DEFAULT_FOR_FIELD:
        case ER_WARN_DATA_OUT_OF_RANGE:
        case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
        case ER_TRUNCATED_WRONG_VALUE:
            throw sql::ConstraintViolation(message);
        case ER_LOCK_DEADLOCK:
            throw sql::Conflict(description_ + ": " + message);
        case ER_LOCK_WAIT_TIMEOUT:
            throw Unavailable(description_ + ": gave up waiting for a lock (" + std::string(doing) + "): " + message);
        case ER_STATEMENT_TIMEOUT:
        case 3024:  // MySQL's ER_QUERY_TIMEOUT (max_execution_time)
            throw Unavailable(description_ + ": the statement ran past the statement timeout: " + message);
        case CR_SERVER_GONE_ERROR:
        case CR_SERVER_LOST:
        case CR_SERVER_LOST_EXTENDED:
        case CR_CONNECTION_ERROR:
        case CR_CONN_HOST_ERROR:
        case CR_SSL_CONNECTION_ERROR:
        case CR_COMMANDS_OUT_OF_SYNC:
        case ER_SERVER_SHUTDOWN:
        case ER_CONNECTION_KILLED:
        case 4031:  // MySQL 8: disconnected by the server for inactivity
            broken_ = true;
            if (std::chrono::steady_clock::now() - sent_at_ >= io_timeout_ - std::chrono::milliseconds(250)) {
                // The read or write timeout: the server stopped answering. Not worth a
                // retry elsewhere, which would most likely wait as long again.
                throw Unavailable(description_ + ": no answer within " + std::to_string(io_timeout_.count()) +
                                  " s (" + std::string(doing) + "); the connection is dropped" +
                                  (outcome_unknown ? ", and whether the statement took effect is unknown" : ""));
            }
            throw sql::ConnectionLost(description_ + ": connection lost (" + std::string(doing) + "): " + message,
                                      outcome_unknown);
        case ER_OPTION_PREVENTS_STATEMENT:  // --read-only: a failover left us on a replica
        case ER_NEED_REPREPARE:
            broken_ = true;  // a fresh connection is the cure
            break;
        default:
            break;
        }
        if (code >= 2000 && code < 3000) {
            // Any other client-side error leaves the connection in doubt.
            broken_ = true;
        }
        throw Unavailable(description_ + ": " + message + " (" + std::string(doing) + ", error " +
                          std::to_string(code) + ")");
    }

    // Lets the statement cache be searched with the caller's string_view, without a copy.
    struct TextHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view text) const noexcept { return std::hash<std::string_view>{}(text); }
    };

    const std::string description_;
    const bool tls_;
    MYSQL* db_ = nullptr;
    std::unordered_map<std::string, Statement, TextHash, std::equal_to<>> statements_;
    std::chrono::seconds lock_wait_{5};
    std::chrono::seconds io_timeout_{12};
    std::chrono::steady_clock::time_point sent_at_{};
    bool broken_ = false;
    bool in_transaction_ = false;
    bool committing_ = false;
    bool holds_lock_ = false;
};

}  // namespace

MysqlSettings mysql_settings(const std::string& url, const Options& options) {
    MysqlSettings settings;
    settings.statement_timeout = options.statement_timeout;
    settings.lock_timeout = options.lock_timeout;

    const auto separator = url.find("://");
    if (separator == std::string::npos) {
        throw std::invalid_argument("mysql URL must look like mysql://user:password@host:port/dbname");
    }
    std::string scheme = url.substr(0, separator);
    std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string_view rest = std::string_view(url).substr(separator + 3);
    if (rest.find('#') != std::string_view::npos) {
        throw std::invalid_argument("mysql URL: a fragment (#...) is not allowed; percent-encode '#' as %23");
    }
    std::string_view query;
    if (const auto mark = rest.find('?'); mark != std::string_view::npos) {
        query = rest.substr(mark + 1);
        rest = rest.substr(0, mark);
    }
    std::string_view authority = rest;
    std::string_view path;
    if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
        authority = rest.substr(0, slash);
        path = rest.substr(slash + 1);
    }
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        const std::string_view userinfo = authority.substr(0, at);
        authority = authority.substr(at + 1);
        const auto colon = userinfo.find(':');
        settings.user = percent_decoded(userinfo.substr(0, colon), "user name");
        if (colon != std::string_view::npos) {
            settings.password = percent_decoded(userinfo.substr(colon + 1), "password");
        }
    }
    std::string_view host = authority;
    std::string_view port;
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            throw std::invalid_argument("mysql URL: an IPv6 address needs its closing ']'");
        }
        host = authority.substr(1, close - 1);
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (!after.starts_with(':')) {
                throw std::invalid_argument("mysql URL: unexpected text after the IPv6 address");
            }
            port = after.substr(1);
        }
    } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (!host.empty()) {
        settings.host = percent_decoded(host, "host");
    }
    if (!port.empty()) {
        unsigned value = 0;
        for (const char c : port) {
            if (c < '0' || c > '9' || value > 65535) {
                throw std::invalid_argument("mysql URL: the port must be a number from 1 to 65535");
            }
            value = value * 10 + static_cast<unsigned>(c - '0');
        }
        if (value == 0 || value > 65535) {
            throw std::invalid_argument("mysql URL: the port must be a number from 1 to 65535");
        }
        settings.port = value;
    }
    settings.database = percent_decoded(path, "database name");
    if (settings.database.find('/') != std::string::npos) {
        throw std::invalid_argument("mysql URL: the database name cannot contain '/'");
    }

    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (pair.empty()) {
            continue;
        }
        const auto equals = pair.find('=');
        const std::string key = percent_decoded(pair.substr(0, equals), "query");
        const std::string value =
            equals == std::string_view::npos ? std::string() : percent_decoded(pair.substr(equals + 1), "query");
        if (key == "connect_timeout") {
            int seconds = 0;
            try {
                std::size_t used = 0;
                seconds = std::stoi(value, &used);
                if (used != value.size()) {
                    seconds = 0;
                }
            } catch (const std::exception&) {
                seconds = 0;
            }
            if (seconds <= 0 || seconds > 3600) {
                throw std::invalid_argument("mysql URL: connect_timeout must be a number of seconds from 1 to 3600");
            }
            settings.connect_timeout = std::chrono::seconds(seconds);
        } else if (key == "ssl_mode" || key == "ssl-mode" || key == "sslmode") {
            std::string mode = value;
            std::transform(mode.begin(), mode.end(), mode.begin(), [](unsigned char c) {
                return c == '-' ? '_' : static_cast<char>(std::tolower(c));
            });
            if (mode != "disabled" && mode != "required" && mode != "verify_identity") {
                throw std::invalid_argument("mysql URL: ssl_mode must be disabled, required or verify_identity");
            }
            settings.ssl_mode = mode;
        } else if (key == "ssl_ca" || key == "ssl-ca") {
            settings.ssl_ca = value;
        } else if (key == "socket") {
            settings.socket = value;
        } else {
            throw std::invalid_argument("mysql URL: unknown parameter \"" + key +
                                        "\" (known: connect_timeout, ssl_mode, ssl_ca, socket)");
        }
    }

    settings.description = scheme + "://" + (settings.user.empty() ? "" : settings.user + "@") +
                           (settings.host.find(':') != std::string::npos ? "[" + settings.host + "]" : settings.host) +
                           ":" + std::to_string(settings.port) + "/" + settings.database +
                           (settings.socket.empty() ? "" : "?socket=" + settings.socket);
    return settings;
}

std::unique_ptr<sql::Connection> connect_mysql(const MysqlSettings& settings) {
    return std::make_unique<MysqlConnection>(settings);
}

}  // namespace photoshare::store
