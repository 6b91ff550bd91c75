#include "store/sql.hpp"

#include <string>

namespace photoshare::store::sql {

std::int64_t as_int(const Value& value) {
    if (const auto* number = std::get_if<std::int64_t>(&value)) {
        return *number;
    }
    throw std::logic_error("store: expected an integer column");
}

const std::string& as_text(const Value& value) {
    if (const auto* text = std::get_if<std::string>(&value)) {
        return *text;
    }
    throw std::logic_error("store: expected a text column");
}

Transaction::Transaction(Connection& connection, TxKind kind) : connection_(connection) {
    connection_.begin(kind);
}

Transaction::~Transaction() {
    if (!finished_) {
        connection_.rollback();
    }
}

void Transaction::commit() {
    connection_.commit();
    finished_ = true;
}

}  // namespace photoshare::store::sql
