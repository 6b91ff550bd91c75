// Which database URLs open() accepts, and what it says about the others.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "store/repository.hpp"

namespace photoshare::store {
namespace {

// The message open() throws for url, or "" when it does not throw invalid_argument.
std::string rejection(const std::string& url) {
    try {
        open(url, {});
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

TEST(Open, NamesAnUnknownScheme) {
    const std::string message = rejection("oracle://scott:tiger@db/orcl");
    EXPECT_NE(message.find("\"oracle\""), std::string::npos) << message;
    EXPECT_EQ(message.find("tiger"), std::string::npos) << message;
}

TEST(Open, SaysNetworkDatabasesAreNotBuiltYetWithoutLeakingThePassword) {
    for (const std::string url : {"postgresql://app:s3cret@db:5432/photos", "postgres://app:s3cret@db/photos",
                                  "mysql://app:s3cret@db:3306/photos", "MariaDB://app:s3cret@db/photos"}) {
        const std::string message = rejection(url);
        EXPECT_NE(message.find("not built yet"), std::string::npos) << url << ": " << message;
        EXPECT_EQ(message.find("s3cret"), std::string::npos) << message;
    }
}

TEST(Open, RejectsMalformedUrls) {
    EXPECT_NE(rejection("photos.db"), "");
    EXPECT_NE(rejection("://x"), "");
    EXPECT_NE(rejection("sqlite:"), "");
    EXPECT_NE(rejection("sqlite::memory:"), "");
    EXPECT_NE(rejection("sqlite://"), "");
    EXPECT_NE(rejection("sqlite://:memory:"), "");
    EXPECT_NE(rejection("sqlite://file:x.db"), "");
    EXPECT_NE(rejection("sqlite:///tmp/x.db?mode=ro"), "");
    const std::string odd = rejection("us er:pa55@host://x");
    EXPECT_NE(odd, "");
    EXPECT_EQ(odd.find("pa55"), std::string::npos) << odd;
}

TEST(Open, RejectsBadOptions) {
    Options options;
    options.pool_size = 0;
    EXPECT_THROW(open("sqlite:///nonexistent-dir-for-photoshare-test/x.db", options), std::invalid_argument);
    options = {};
    options.lock_timeout = std::chrono::milliseconds(-1);
    EXPECT_THROW(open("sqlite:///nonexistent-dir-for-photoshare-test/x.db", options), std::invalid_argument);
}

}  // namespace
}  // namespace photoshare::store
