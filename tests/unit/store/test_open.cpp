// Which database URLs open() accepts, and what it says about the others.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "store/repository.hpp"

namespace photoshare::store {
namespace {

int unused_port() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    const bool ok = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0;
    if (fd >= 0) close(fd);
    if (!ok) throw std::runtime_error("cannot find an unused port");
    return ntohs(address.sin_port);
}

// Accepts connections (the kernel completes the handshake) and never says a word.
class SilentListener {
public:
    SilentListener() {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof address;
        if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || listen(fd_, 16) != 0 ||
            getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
            if (fd_ >= 0) close(fd_);
            throw std::runtime_error("cannot listen on a loopback port");
        }
        port_ = ntohs(address.sin_port);
    }
    ~SilentListener() { close(fd_); }
    SilentListener(const SilentListener&) = delete;
    SilentListener& operator=(const SilentListener&) = delete;
    int port() const { return port_; }

private:
    int fd_ = -1;
    int port_ = 0;
};

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

// Network databases are connected to on first use, so these open without a server.
TEST(Open, DescribesNetworkDatabasesWithoutThePassword) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"postgresql://app:s3cret@db.invalid:5432/photos", "postgresql://app@db.invalid:5432/photos"},
        {"postgres://app:s3cret@db.invalid/photos?connect_timeout=5", "postgresql://app@db.invalid/photos"},
        {"PostgreSQL://app:s3cret@db.invalid/photos", "postgresql://app@db.invalid/photos"},
        {"postgresql://db.invalid/photos?user=app&password=s3cret", "postgresql://app@db.invalid/photos"},
        {"mysql://app:s3cret@db.invalid:3307/photos", "mysql://app@db.invalid:3307/photos"},
        {"MariaDB://app:s3cret@db.invalid/photos", "mariadb://app@db.invalid:3306/photos"},
        {"mysql://app:s3%2Fcr%40t@[::1]:3306/photos?connect_timeout=2", "mysql://app@[::1]:3306/photos"},
    };
    for (const auto& [url, description] : cases) {
        auto repository = open(url, {});
        EXPECT_EQ(repository->describe(), description) << url;
        EXPECT_EQ(repository->describe().find("s3"), std::string::npos) << url;
    }
}

TEST(Open, RejectsMalformedNetworkUrlsWithoutRepeatingThePassword) {
    const std::vector<std::string> urls{
        "postgresql://app:s3cr%zzet@db/photos",  // bad percent-encoding (in the password)
        "postgresql://app:s3cret@db/photos?no_such_option=1",
        "postgresql://app:s3cret@db/photos?connect_timeout=soon",
        "mysql://app:s3cr%zzet@db/photos",
        "mysql://app:s3cret@db:99999/photos",
        "mysql://app:s3cret@db:port/photos",
        "mysql://app:s3cret@db/photos?no_such_option=1",
        "mysql://app:s3cret@db/photos?connect_timeout=0",
        "mysql://app:s3cret@db/photos?ssl_mode=sometimes",
        "mysql://app:s3cret@db",  // no database
        "mysql://app:s3cret@[::1/photos",
        "mysql://app:s3cret@db/pho#tos",
    };
    for (const std::string& url : urls) {
        const std::string message = rejection(url);
        EXPECT_NE(message, "") << url;
        EXPECT_EQ(message.find("s3cr"), std::string::npos) << url << ": " << message;
    }
    EXPECT_NE(rejection("mysql://u:p@db/photos?no_such_option=1").find("no_such_option"), std::string::npos);
    EXPECT_NE(rejection("mysql://u:p@db:99999/photos").find("port"), std::string::npos);
}

// Nothing listens on the port: the answer is Unavailable at once, not a hang.
TEST(Open, ANetworkDatabaseThatIsNotThereIsUnavailableQuickly) {
    const int port = unused_port();
    for (const std::string scheme : {"postgresql", "mysql"}) {
        auto repository = open(scheme + "://app:s3cret@127.0.0.1:" + std::to_string(port) + "/photos", {});
        for (int attempt = 0; attempt < 3; ++attempt) {
            const auto start = std::chrono::steady_clock::now();
            try {
                repository->ping();
                ADD_FAILURE() << scheme << ": expected Unavailable";
            } catch (const Unavailable& e) {
                EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos) << e.what();
                EXPECT_NE(std::string(e.what()).find("127.0.0.1"), std::string::npos) << e.what();
            }
            EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1)) << scheme;
        }
    }
}

// Something accepts the connection and then says nothing (a hung server, a wrong port
// behind a proxy): the connect timeout from the URL bounds the wait.
TEST(Open, AServerThatNeverAnswersCostsTheConnectTimeout) {
    SilentListener silent;
    for (const std::string& url :
         {"postgresql://app:pw@127.0.0.1:" + std::to_string(silent.port()) + "/photos?connect_timeout=2",
          "mysql://app:pw@127.0.0.1:" + std::to_string(silent.port()) + "/photos?connect_timeout=1"}) {
        auto repository = open(url, {});
        const auto start = std::chrono::steady_clock::now();
        EXPECT_THROW(repository->ping(), Unavailable) << url;
        const auto waited = std::chrono::steady_clock::now() - start;
        EXPECT_GE(waited, std::chrono::milliseconds(900)) << url;
        EXPECT_LT(waited, std::chrono::milliseconds(3500)) << url;
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
    options = {};
    options.statement_timeout = std::chrono::milliseconds(0);
    EXPECT_THROW(open("postgresql://u@db.invalid/x", options), std::invalid_argument);
    options = {};
    options.pool_size = 0;
    EXPECT_THROW(open("mysql://u@db.invalid/x", options), std::invalid_argument);
}

}  // namespace
}  // namespace photoshare::store
