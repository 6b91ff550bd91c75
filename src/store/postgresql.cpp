#include "store/postgresql.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

namespace photoshare::store {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Type OIDs (pg_type.oid) of the columns the repository reads; fixed since PostgreSQL 7.
constexpr Oid bool_oid = 16;
constexpr Oid bytea_oid = 17;
constexpr Oid name_oid = 19;
constexpr Oid int8_oid = 20;
constexpr Oid int2_oid = 21;
constexpr Oid int4_oid = 23;
constexpr Oid text_oid = 25;
constexpr Oid bpchar_oid = 1042;
constexpr Oid varchar_oid = 1043;

// Serialises migrations across every server using the same database (advisory locks are
// per database). Any constant will do as long as nothing else in the database uses it.
constexpr std::int64_t migration_lock_key = 0x70686f746f736861;  // "photosha"

// How much longer than the server's statement timeout the client waits for an answer: the
// server's own cancellation (a clear error) should come first.
constexpr auto client_margin = 2s;

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
        text.pop_back();
    }
    return text;
}

std::string to_ms(std::chrono::milliseconds value) {
    return std::to_string(std::max<std::int64_t>(value.count(), 1));
}

struct ResultDeleter {
    void operator()(PGresult* result) const noexcept { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

std::int64_t read_big_endian(const char* data, int size) {
    std::uint64_t value = 0;
    for (int i = 0; i < size; ++i) {
        value = (value << 8) | static_cast<unsigned char>(data[i]);
    }
    // Sign-extend the narrower integer types.
    const int shift = 64 - 8 * size;
    return static_cast<std::int64_t>(value << shift) >> shift;
}

class PostgresConnection final : public sql::Connection {
public:
    explicit PostgresConnection(const PostgresSettings& settings)
        : description_(settings.description),
          statement_deadline_(settings.statement_timeout + client_margin),
          ping_deadline_(std::max<std::chrono::milliseconds>(settings.connect_timeout, 1s)) {
        std::vector<const char*> keywords;
        std::vector<const char*> values;
        for (const auto& [keyword, value] : settings.parameters) {
            keywords.push_back(keyword.c_str());
            values.push_back(value.c_str());
        }
        keywords.push_back(nullptr);
        values.push_back(nullptr);
        // Blocking, bounded by connect_timeout (per address tried).
        conn_ = PQconnectdbParams(keywords.data(), values.data(), 0);
        if (conn_ == nullptr) {
            throw Unavailable("cannot connect to " + description_ + ": out of memory");
        }
        if (PQstatus(conn_) != CONNECTION_OK) {
            const std::string reason = trimmed(PQerrorMessage(conn_));
            PQfinish(conn_);
            throw Unavailable("cannot connect to " + description_ + ": " + reason);
        }
        if (PQserverVersion(conn_) < 100000) {
            PQfinish(conn_);
            throw Unavailable(description_ + ": photoshare needs PostgreSQL 10 or later");
        }
        PQsetNoticeReceiver(conn_, &PostgresConnection::on_notice, this);
        // Non-blocking sends, so that a server that stops reading cannot block us in write().
        if (PQsetnonblocking(conn_, 1) != 0) {
            PQfinish(conn_);
            throw Unavailable(description_ + ": cannot switch the connection to non-blocking mode");
        }
    }

    ~PostgresConnection() override {
        statements_.clear();
        PQfinish(conn_);  // sends Terminate; never blocks for long on a socket in non-blocking mode
    }

    PostgresConnection(const PostgresConnection&) = delete;
    PostgresConnection& operator=(const PostgresConnection&) = delete;

    sql::Rows query(std::string_view sql, std::span<const sql::Value> params) override {
        const ResultPtr result = run_prepared(sql, params);
        return read_rows(result.get());
    }

    std::int64_t execute(std::string_view sql, std::span<const sql::Value> params) override {
        const ResultPtr result = run_prepared(sql, params);
        const char* count = PQcmdTuples(result.get());
        return count[0] == '\0' ? 0 : std::stoll(count);
    }

    std::int64_t insert(std::string_view sql, std::span<const sql::Value> params) override {
        // The dialect appends RETURNING <key> to the INSERT.
        const ResultPtr result = run_prepared(sql, params);
        const sql::Rows rows = read_rows(result.get());
        if (rows.size() != 1 || rows.front().size() != 1) {
            throw std::logic_error("store: an INSERT for insert() must return exactly its generated key");
        }
        return sql::as_int(rows.front().front());
    }

    void run_ddl(std::string_view statement) override {
        check_before_send();
        const std::string text(statement);
        if (PQsendQuery(conn_, text.c_str()) == 0) {
            lost("sending a schema change", false);
        }
        const ResultPtr result = wait_result(Clock::now() + statement_deadline_, true, "running a schema change");
        expect_success(result.get(), true, "running a schema change");
    }

    void begin(sql::TxKind kind) override {
        // Marked first: if the connection breaks during BEGIN, nothing can have committed.
        in_transaction_ = true;
        try {
            run_prepared("BEGIN", {});
            if (kind == sql::TxKind::migration) {
                // Held until COMMIT or ROLLBACK; waits at most lock_timeout.
                const std::array<sql::Value, 1> key{migration_lock_key};
                run_prepared("SELECT pg_advisory_xact_lock($1)", key);
            }
        } catch (...) {
            rollback();
            throw;
        }
    }

    void commit() override {
        committing_ = true;
        ResultPtr result;
        try {
            result = run_prepared("COMMIT", {});
        } catch (...) {
            committing_ = false;
            in_transaction_ = false;  // the server ended it either way (or the connection is gone)
            throw;
        }
        committing_ = false;
        in_transaction_ = false;
        // COMMIT of a transaction that had failed answers ROLLBACK rather than an error.
        if (std::string_view(PQcmdStatus(result.get())) != "COMMIT") {
            throw Unavailable(description_ + ": the transaction was rolled back by the server");
        }
    }

    void rollback() noexcept override {
        if (!in_transaction_) {
            return;
        }
        in_transaction_ = false;
        if (broken_) {
            return;  // the server rolls back when it loses the connection
        }
        try {
            run_prepared("ROLLBACK", {});
        } catch (...) {
            broken_ = true;
        }
    }

    bool healthy() const noexcept override {
        return !broken_ && !in_transaction_ && PQstatus(conn_) == CONNECTION_OK &&
               PQtransactionStatus(conn_) == PQTRANS_IDLE;
    }

    bool alive(bool round_trip) noexcept override {
        if (!healthy()) {
            return false;
        }
        try {
            check_before_send();
            if (round_trip) {
                // The empty query: one round trip, no parsing, no snapshot.
                if (PQsendQuery(conn_, "") == 0) {
                    lost("pinging", false);
                }
                const ResultPtr result = wait_result(Clock::now() + ping_deadline_, false, "pinging");
                if (PQresultStatus(result.get()) != PGRES_EMPTY_QUERY) {
                    expect_success(result.get(), false, "pinging");
                }
            }
            return healthy();
        } catch (...) {
            broken_ = true;
            return false;
        }
    }

private:
    struct Prepared {
        std::string name;
    };

    // Parameters in binary: integers as int8, text as raw bytes whose type the server
    // infers from where they are used (BYTEA columns take them verbatim).
    struct Bound {
        explicit Bound(std::span<const sql::Value> params) {
            const std::size_t n = params.size();
            values.reserve(n);
            lengths.reserve(n);
            formats.assign(n, 1);
            types.reserve(n);
            integers.reserve(n);
            signature.reserve(n);
            for (const sql::Value& value : params) {
                if (const auto* number = std::get_if<std::int64_t>(&value)) {
                    std::array<char, 8> bytes{};
                    const auto bits = static_cast<std::uint64_t>(*number);
                    for (int i = 0; i < 8; ++i) {
                        bytes[static_cast<std::size_t>(i)] = static_cast<char>((bits >> (56 - 8 * i)) & 0xff);
                    }
                    integers.push_back(bytes);
                    values.push_back(integers.back().data());
                    lengths.push_back(8);
                    types.push_back(int8_oid);
                    signature += 'i';
                } else if (const auto* text = std::get_if<std::string>(&value)) {
                    if (text->size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
                        throw std::invalid_argument("store: a value is too large for PostgreSQL");
                    }
                    values.push_back(text->data());
                    lengths.push_back(static_cast<int>(text->size()));
                    types.push_back(0);
                    signature += 's';
                } else {
                    values.push_back(nullptr);
                    lengths.push_back(0);
                    types.push_back(0);
                    signature += 'n';
                }
            }
        }
        std::vector<const char*> values;
        std::vector<int> lengths;
        std::vector<int> formats;
        std::vector<Oid> types;
        std::vector<std::array<char, 8>> integers;  // reserved: never reallocates
        std::string signature;
    };

    static void on_notice(void* self, const PGresult* notice) {
        // Notices (CREATE TABLE IF NOT EXISTS ... skipping) are not for the log. But an
        // error arriving while idle is the server saying why it is ending the session.
        const char* severity = PQresultErrorField(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
        if (severity != nullptr && (std::strcmp(severity, "FATAL") == 0 || std::strcmp(severity, "PANIC") == 0)) {
            static_cast<PostgresConnection*>(self)->terminating_ = true;
        }
    }

    ResultPtr run_prepared(std::string_view sql, std::span<const sql::Value> params) {
        const Bound bound(params);
        const Prepared& statement = prepare(sql, bound);
        check_before_send();
        if (PQsendQueryPrepared(conn_, statement.name.c_str(), static_cast<int>(params.size()),
                                bound.values.data(), bound.lengths.data(), bound.formats.data(),
                                1 /* binary results */) == 0) {
            lost("sending a statement", false);
        }
        ResultPtr result = wait_result(Clock::now() + statement_deadline_, true, "running a statement");
        expect_success(result.get(), true, "running a statement");
        return result;
    }

    const Prepared& prepare(std::string_view sql, const Bound& bound) {
        std::string key;
        key.reserve(bound.signature.size() + 1 + sql.size());
        key.append(bound.signature).append(1, '\0').append(sql);
        if (auto found = statements_.find(key); found != statements_.end()) {
            return found->second;
        }
        check_before_send();
        Prepared statement{"ps" + std::to_string(++prepared_count_)};
        const std::string text(sql);
        if (PQsendPrepare(conn_, statement.name.c_str(), text.c_str(), static_cast<int>(bound.types.size()),
                          bound.types.data()) == 0) {
            lost("sending a statement to prepare", false);
        }
        const ResultPtr result = wait_result(Clock::now() + statement_deadline_, false, "preparing a statement");
        expect_success(result.get(), false, "preparing a statement");
        return statements_.emplace(std::move(key), std::move(statement)).first->second;
    }

    // Before anything is sent: a server that ended the session while the connection sat
    // idle has said so (an error, then end of file) by now. Finding that here means
    // nothing of the caller's work reached it, so the work can safely go elsewhere.
    void check_before_send() {
        if (broken_ || PQstatus(conn_) != CONNECTION_OK) {
            broken_ = true;
            throw sql::ConnectionLost(description_ + ": the connection was lost earlier", false);
        }
        pollfd fd{PQsocket(conn_), POLLIN, 0};
        if (::poll(&fd, 1, 0) > 0) {
            if (PQconsumeInput(conn_) == 0 || PQstatus(conn_) != CONNECTION_OK) {
                lost("checking the connection", false);
            }
        }
        if (terminating_) {
            lost("checking the connection", false);
        }
    }

    // Waits for the answer to what was just sent, up to deadline; returns the first error
    // result if there is one, else the last result.
    ResultPtr wait_result(Clock::time_point deadline, bool executing, std::string_view doing) {
        while (true) {
            const int flushed = PQflush(conn_);
            if (flushed == 0) {
                break;
            }
            if (flushed < 0) {
                lost(doing, executing);
            }
            if (wait_socket(POLLIN | POLLOUT, deadline, executing, doing) & POLLIN) {
                if (PQconsumeInput(conn_) == 0) {
                    lost(doing, executing);
                }
            }
        }
        ResultPtr kept;
        while (true) {
            while (PQisBusy(conn_) != 0) {
                wait_socket(POLLIN, deadline, executing, doing);
                if (PQconsumeInput(conn_) == 0) {
                    lost(doing, executing);
                }
            }
            PGresult* next = PQgetResult(conn_);
            if (next == nullptr) {
                break;
            }
            const bool next_failed = PQresultStatus(next) == PGRES_FATAL_ERROR;
            if (!kept || (next_failed && PQresultStatus(kept.get()) != PGRES_FATAL_ERROR)) {
                kept.reset(next);
            } else {
                PQclear(next);
            }
        }
        if (!kept) {
            lost(doing, executing);
        }
        return kept;
    }

    short wait_socket(short events, Clock::time_point deadline, bool executing, std::string_view doing) {
        while (true) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) {
                // The server (or the network) stopped answering: this connection's state
                // is unknown, so it is dropped rather than reused.
                broken_ = true;
                throw Unavailable(description_ + ": no answer within " +
                                  std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                     statement_deadline_).count()) +
                                  " ms (" + std::string(doing) + "); the connection is dropped" +
                                  (executing && (!in_transaction_ || committing_)
                                       ? ", and whether the statement took effect is unknown"
                                       : ""));
            }
            pollfd fd{PQsocket(conn_), events, 0};
            const int ready = ::poll(&fd, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 60'000)));
            if (ready > 0) {
                return fd.revents;
            }
            if (ready < 0 && errno != EINTR) {
                lost(doing, executing);
            }
        }
    }

    void expect_success(const PGresult* result, bool executing, std::string_view doing) {
        const ExecStatusType status = PQresultStatus(result);
        if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
            return;
        }
        fail(result, executing, doing);
    }

    [[noreturn]] void lost(std::string_view doing, bool executing) {
        broken_ = true;
        const std::string reason = trimmed(PQerrorMessage(conn_));
        throw sql::ConnectionLost(description_ + ": connection lost (" + std::string(doing) + ")" +
                                      (reason.empty() ? "" : ": " + reason),
                                  executing && (!in_transaction_ || committing_));
    }

    // Turns an error result into the exception the repository expects.
    [[noreturn]] void fail(const PGresult* result, bool executing, std::string_view doing) {
        const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
        const std::string sqlstate = state != nullptr ? state : "";
        const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
        const std::string message = primary != nullptr ? primary : trimmed(PQresultErrorMessage(result));
        if (PQstatus(conn_) != CONNECTION_OK || sqlstate.starts_with("08") || sqlstate == "57P01" ||
            sqlstate == "57P02" || sqlstate == "57P03") {
            // 08: connection exceptions; 57P01..3: the server is shutting down or starting.
            broken_ = true;
            throw sql::ConnectionLost(description_ + ": connection lost (" + std::string(doing) + "): " + message,
                                      executing && (!in_transaction_ || committing_));
        }
        if (sqlstate == "23505") {
            throw sql::UniqueViolation(message);
        }
        if (sqlstate.starts_with("23") || sqlstate.starts_with("22")) {
            // Integrity constraints; data exceptions (a value out of range, too long).
            throw sql::ConstraintViolation(message);
        }
        if (sqlstate == "40001" || sqlstate == "40P01") {
            throw sql::Conflict(description_ + ": " + message);
        }
        if (sqlstate == "25006" || sqlstate == "0A000" || sqlstate == "26000") {
            // A read-only server (a failover left us on a standby), a cached plan that no
            // longer fits a changed schema, a prepared statement the server forgot: a fresh
            // connection is the cure.
            broken_ = true;
        }
        if (sqlstate == "55P03") {
            throw Unavailable(description_ + ": gave up waiting for a lock (" + std::string(doing) + "): " + message);
        }
        if (sqlstate == "57014") {
            throw Unavailable(description_ + ": the statement ran past the statement timeout: " + message);
        }
        throw Unavailable(description_ + ": " + message + " (" + std::string(doing) +
                          (sqlstate.empty() ? "" : ", SQLSTATE " + sqlstate) + ")");
    }

    static sql::Rows read_rows(const PGresult* result) {
        const int rows = PQntuples(result);
        const int columns = PQnfields(result);
        std::vector<Oid> types(static_cast<std::size_t>(columns));
        for (int c = 0; c < columns; ++c) {
            types[static_cast<std::size_t>(c)] = PQftype(result, c);
        }
        sql::Rows out;
        out.reserve(static_cast<std::size_t>(rows));
        for (int r = 0; r < rows; ++r) {
            sql::Row row;
            row.reserve(static_cast<std::size_t>(columns));
            for (int c = 0; c < columns; ++c) {
                if (PQgetisnull(result, r, c) != 0) {
                    row.emplace_back(std::monostate{});
                    continue;
                }
                const char* data = PQgetvalue(result, r, c);
                const int size = PQgetlength(result, r, c);
                switch (types[static_cast<std::size_t>(c)]) {
                case int8_oid:
                case int4_oid:
                case int2_oid:
                case bool_oid:
                    if (size < 1 || size > 8) {
                        throw std::logic_error("store: malformed binary integer from PostgreSQL");
                    }
                    row.emplace_back(read_big_endian(data, size));
                    break;
                case bytea_oid:
                case text_oid:
                case varchar_oid:
                case bpchar_oid:
                case name_oid:
                    row.emplace_back(std::string(data, static_cast<std::size_t>(size)));
                    break;
                default:
                    throw std::logic_error("store: unexpected PostgreSQL column type (oid " +
                                           std::to_string(types[static_cast<std::size_t>(c)]) + ")");
                }
            }
            out.push_back(std::move(row));
        }
        return out;
    }

    const std::string description_;
    const std::chrono::milliseconds statement_deadline_;
    const std::chrono::milliseconds ping_deadline_;
    PGconn* conn_ = nullptr;
    std::unordered_map<std::string, Prepared> statements_;
    unsigned prepared_count_ = 0;
    bool broken_ = false;
    bool in_transaction_ = false;
    bool committing_ = false;
    bool terminating_ = false;  // the server announced the end of the session
};

struct OptionsDeleter {
    void operator()(PQconninfoOption* options) const noexcept { PQconninfoFree(options); }
};

}  // namespace

PostgresSettings postgres_settings(const std::string& url, const Options& options) {
    char* error = nullptr;
    std::unique_ptr<PQconninfoOption, OptionsDeleter> parsed(PQconninfoParse(url.c_str(), &error));
    if (!parsed) {
        std::string reason = error != nullptr ? trimmed(error) : "out of memory";
        PQfreemem(error);
        // libpq quotes the part it could not read, which may be the password.
        std::string_view authority = std::string_view(url).substr(std::min(url.find("://") + 3, url.size()));
        authority = authority.substr(0, authority.find_first_of("/?"));
        std::string_view password;
        if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
            const std::string_view userinfo = authority.substr(0, at);
            if (const auto colon = userinfo.find(':'); colon != std::string_view::npos) {
                password = userinfo.substr(colon + 1);
            }
        }
        if ((!password.empty() && reason.find(password) != std::string::npos) ||
            url.find("password=") != std::string::npos) {
            reason = "check the percent-encoding of the user, password and query";
        }
        throw std::invalid_argument("malformed postgresql URL: " + reason);
    }
    std::map<std::string, std::string> given;
    for (const PQconninfoOption* option = parsed.get(); option->keyword != nullptr; ++option) {
        if (option->val != nullptr) {
            given[option->keyword] = option->val;
        }
    }
    PostgresSettings settings;
    settings.statement_timeout = options.statement_timeout;

    auto fallback = [&](const std::string& keyword, std::string value) { given.emplace(keyword, std::move(value)); };
    fallback("connect_timeout", "3");
    fallback("keepalives", "1");
    fallback("keepalives_idle", "10");
    fallback("keepalives_interval", "5");
    fallback("keepalives_count", "3");
    fallback("tcp_user_timeout", "10000");
    fallback("application_name", "photoshare");
    fallback("client_encoding", "UTF8");
    // Ours first: a `-c` the URL's own options repeat wins.
    std::string server_options = "-c statement_timeout=" + to_ms(options.statement_timeout) +
                                 " -c lock_timeout=" + to_ms(options.lock_timeout) +
                                 " -c idle_in_transaction_session_timeout=" +
                                 to_ms(std::max<std::chrono::milliseconds>(options.statement_timeout * 6, 60s));
    if (auto found = given.find("options"); found != given.end() && !found->second.empty()) {
        server_options += " " + found->second;
    }
    given["options"] = server_options;

    try {
        const int seconds = std::stoi(given["connect_timeout"]);
        if (seconds <= 0) {
            throw std::invalid_argument("not positive");
        }
        settings.connect_timeout = std::chrono::seconds(seconds);
    } catch (const std::exception&) {
        throw std::invalid_argument("postgresql URL: connect_timeout must be a positive number of seconds");
    }

    const auto value = [&](const char* keyword) {
        const auto found = given.find(keyword);
        return found == given.end() ? std::string() : found->second;
    };
    std::string description = "postgresql://";
    if (!value("user").empty()) {
        description += value("user") + "@";
    }
    description += value("host").empty() ? (value("hostaddr").empty() ? "localhost" : value("hostaddr")) : value("host");
    if (!value("port").empty()) {
        description += ":" + value("port");
    }
    description += "/" + value("dbname");
    settings.description = std::move(description);

    for (auto& [keyword, setting] : given) {
        settings.parameters.emplace_back(keyword, setting);
    }
    return settings;
}

std::unique_ptr<sql::Connection> connect_postgres(const PostgresSettings& settings) {
    return std::make_unique<PostgresConnection>(settings);
}

}  // namespace photoshare::store
