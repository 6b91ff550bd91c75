// The SQLite driver: one sql::Connection per pooled connection, all on the same file.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>

#include "store/sql.hpp"

namespace photoshare::store {

// Opens (creating the file and its directory when missing) with WAL, synchronous=FULL and
// foreign keys on. A writer waits up to lock_timeout for another writer, in this or any
// other process, before Unavailable. Throws Unavailable when the file cannot be opened.
std::unique_ptr<sql::Connection> connect_sqlite(const std::filesystem::path& file,
                                                std::chrono::milliseconds lock_timeout);

}  // namespace photoshare::store
