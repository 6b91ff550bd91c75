// The small interface every database driver implements for the repository: parameters
// travel separately from the SQL text (prepared statements only), so no value is ever
// spliced into a statement. Internal to store/; the application sees Repository.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "store/repository.hpp"

namespace photoshare::store::sql {

// The column types the schema uses. Times are integers (unix seconds) in every dialect so
// that no driver has to agree with another on date formats.
using Value = std::variant<std::monostate, std::int64_t, std::string>;
using Row = std::vector<Value>;
using Rows = std::vector<Row>;

// Strict on purpose: a column that comes back with another type is a schema bug, and
// guessing would hide it.
std::int64_t as_int(const Value& value);
const std::string& as_text(const Value& value);

// A statement broke a constraint the caller should have kept (unknown user id, ...).
// It derives from std::invalid_argument because that is what it means to the caller.
class ConstraintViolation : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// A UNIQUE or PRIMARY KEY clash: for some operations a normal answer ("username taken").
class UniqueViolation : public ConstraintViolation {
public:
    using ConstraintViolation::ConstraintViolation;
};

// The connection to the server broke (the server restarted or went away, the network
// failed); the connection is unhealthy from then on, and the pool replaces it.
class ConnectionLost : public Unavailable {
public:
    ConnectionLost(const std::string& what, bool outcome_unknown)
        : Unavailable(what), outcome_unknown_(outcome_unknown) {}
    // False when the server cannot have committed anything of the failed work: nothing was
    // sent (the connection was found dead first), or the work was inside a transaction
    // that the server rolls back when it loses the connection. True after an autocommit
    // statement or a COMMIT whose answer never came: repeating such work may do it twice.
    bool outcome_unknown() const noexcept { return outcome_unknown_; }

private:
    bool outcome_unknown_;
};

// The server rolled the work back to break a deadlock (or a serialization failure):
// nothing of it was kept, and trying again is the documented cure.
class Conflict : public Unavailable {
public:
    using Unavailable::Unavailable;
};

enum class TxKind {
    write,      // will write; takes the write lock up front so it never fails half-way on a
                // lock upgrade (SQLite: BEGIN IMMEDIATE)
    migration,  // also serialises against every other process migrating the same database
                // (SQLite: the write lock already does; PostgreSQL: pg_advisory_xact_lock;
                // MySQL: GET_LOCK, because its DDL commits implicitly)
};

// One session with the database, used by one thread at a time (the pool sees to that).
// Every failure throws: store::Unavailable when the database cannot do the work,
// ConstraintViolation / UniqueViolation when the data broke a rule.
class Connection {
public:
    virtual ~Connection() = default;

    // Statements are prepared once per connection and cached by their text, so callers
    // pass the same text every time and the values as parameters.
    virtual Rows query(std::string_view sql, std::span<const Value> params) = 0;
    // Returns the number of rows changed.
    virtual std::int64_t execute(std::string_view sql, std::span<const Value> params) = 0;
    // Inserts one row into a table with a generated integer key and returns that key. A
    // dialect whose driver cannot report the key puts RETURNING in the SQL (Dialect::returning)
    // and its connection reads the key from the result.
    virtual std::int64_t insert(std::string_view sql, std::span<const Value> params) = 0;
    // One parameterless statement, not cached: schema changes run once per process.
    virtual void run_ddl(std::string_view statement) = 0;

    virtual void begin(TxKind kind) = 0;
    virtual void commit() = 0;
    // Never throws: it runs on error paths. A connection that cannot roll back is unhealthy.
    virtual void rollback() noexcept = 0;

    // False once the connection is known to be unusable (lost, I/O error) or is left inside
    // a transaction; the pool then closes it instead of handing it out again.
    virtual bool healthy() const noexcept = 0;

    // Asked by the pool before it lends an idle connection out again: false when it is
    // unhealthy or the server has gone from under it (restarted, timed the session out).
    // Without round_trip a driver only looks at what it already has (a closed socket);
    // with it, it also asks the server (the connection was idle long enough for a silent
    // failure to be likely). Drivers without a server (SQLite) answer healthy().
    virtual bool alive(bool round_trip) noexcept {
        (void)round_trip;
        return healthy();
    }
};

// Rolls back unless commit() was reached, so an exception half-way through a batch leaves
// nothing behind.
class Transaction {
public:
    Transaction(Connection& connection, TxKind kind);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    void commit();

private:
    Connection& connection_;
    bool finished_ = false;
};

}  // namespace photoshare::store::sql
