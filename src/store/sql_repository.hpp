// The Repository for every SQL database: the queries are written once here, the parts that
// differ come from the Dialect, and the driver from the pool's connection factory.
#pragma once

#include <memory>
#include <string>

#include "store/dialect.hpp"
#include "store/pool.hpp"
#include "store/repository.hpp"

namespace photoshare::store {

// description names the database for describe() and error messages; it must hold no secret.
std::unique_ptr<Repository> make_sql_repository(const Dialect& dialect, Pool::Factory connect,
                                                const Options& options, std::string description);

}  // namespace photoshare::store
