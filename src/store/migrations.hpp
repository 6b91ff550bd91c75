// Versioned schema changes, recorded in a schema_migrations table.
#pragma once

#include "store/dialect.hpp"
#include "store/sql.hpp"

namespace photoshare::store {

// Applies every migration of the dialect newer than the database, each in a transaction
// of its own that re-reads the version under a database-wide lock: when several servers
// start at once against an empty database, one applies each version and the others find
// it done. A database newer than this program is left alone (a rolling upgrade).
void migrate(sql::Connection& connection, const Dialect& dialect);

// The highest applied version; 0 for a database that was never migrated.
int schema_version(sql::Connection& connection, const Dialect& dialect);

}  // namespace photoshare::store
