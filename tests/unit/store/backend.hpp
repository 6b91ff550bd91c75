// What the repository contract suite needs from a backend: a fresh, empty database per
// test. SQLite provides one in test_sqlite_repository.cpp (a file in a temporary
// directory); PostgreSQL and MariaDB in test_postgresql_repository.cpp and
// test_mysql_repository.cpp (a schema, or a database, made on a server the tests start
// themselves, see database_server.hpp, and dropped afterwards). Each instantiates the suite.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "store/repository.hpp"

namespace photoshare::store::testing {

class TestDatabase {
public:
    virtual ~TestDatabase() = default;  // drops the database
    virtual std::string url() const = 0;
};

struct Backend {
    std::string name;
    std::function<std::unique_ptr<TestDatabase>()> create;
};

inline std::ostream& operator<<(std::ostream& out, const Backend& backend) {
    return out << backend.name;
}

class RepositoryContract : public ::testing::TestWithParam<Backend> {
protected:
    void SetUp() override { database_ = GetParam().create(); }

    std::string url() const { return database_->url(); }

    std::unique_ptr<Repository> open_migrated(const Options& options = {}) {
        auto repository = open(url(), options);
        repository->migrate();
        return repository;
    }

private:
    std::unique_ptr<TestDatabase> database_;
};

}  // namespace photoshare::store::testing
