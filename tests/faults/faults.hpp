// Fault-test helpers: backing services started alone with scripts/service (in a directory the
// cluster cleanup knows, so an interrupted run leaves nothing running), client loads that
// record every answer with its time, and `photoshare fsck` run and read.
#pragma once

#include "../cluster/stack.hpp"
#include "../integration/harness.hpp"

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace faults {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// "[faults] ..." lines: the figures docs/RELIABILITY.md quotes.
void note(const std::string& line);

// ---------------------------------------------------------------------------------------
// One backing service (postgres, memcached, redis, s3rver) on a port of its own, its state
// in DIR/NAME of a registered directory (memcached in DIR/memcached-1, so the cleanup finds
// its pid file).
class Service {
public:
    explicit Service(std::string name);  // starts it; throws std::runtime_error with the log if it cannot
    ~Service();                          // stops it and removes its directory
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;

    void start();
    void stop();
    void kill();  // SIGKILL: no goodbye to its clients, as when its machine dies
    const std::string& url() const { return url_; }  // what photoshare is given
    int port() const { return port_; }
    fs::path dir() const;

private:
    cluster::CommandResult service(const std::string& action, bool with_port);
    std::string name_;
    fs::path base_;
    int port_ = 0;
    std::string url_;
};

// ---------------------------------------------------------------------------------------
// Loads

struct Answer {
    double at = 0;       // seconds since the load started, when the answer came
    double seconds = 0;  // how long it took
    long status = 0;     // 0: no HTTP answer (see what)
    std::string what;    // path, or the error code of a JSON error, or curl's error
    std::string id;      // uploads: the photo id of a 201
    bool signed_in = false;     // a page that shows someone logged in
    bool signin_notice = false;  // a page that says signing in is unavailable
};

// A logged-in user's credentials, to make more clients of the same session.
struct Login {
    std::string session_cookie;
    std::string csrf;
};
Login login_of(itest::User& user);

// Threads that each upload one small image after the other (POST /api/v1/photos) as the
// same user, each with its own connection, until stop().
class Uploaders {
public:
    Uploaders(std::string base_url, Login login, int threads, std::chrono::milliseconds timeout = 30s);
    ~Uploaders();
    void stop();
    std::vector<Answer> answers() const;
    std::size_t accepted() const { return accepted_.load(); }  // 201s so far
    std::size_t total() const { return total_.load(); }

private:
    void run(int index);
    std::string base_;
    Login login_;
    std::chrono::milliseconds timeout_;
    Clock::time_point start_;
    std::atomic<bool> stop_{false};
    std::atomic<std::size_t> accepted_{0}, total_{0};
    mutable std::mutex mutex_;
    std::vector<Answer> answers_;
    std::vector<std::thread> threads_;
};

// Threads that GET the paths in turn, until stop(): anonymous, or with a session cookie.
class Viewers {
public:
    Viewers(std::string base_url, std::vector<std::string> paths, int threads, std::chrono::milliseconds timeout = 30s,
            std::string session_cookie = {});
    ~Viewers();
    void stop();
    std::vector<Answer> answers() const;
    std::size_t total() const { return total_.load(); }

private:
    void run(int index);
    std::string base_;
    std::vector<std::string> paths_;
    std::chrono::milliseconds timeout_;
    std::string session_cookie_;
    Clock::time_point start_;
    std::atomic<bool> stop_{false};
    std::atomic<std::size_t> total_{0};
    mutable std::mutex mutex_;
    std::vector<Answer> answers_;
    std::vector<std::thread> threads_;
};

// status -> count, and a one-line summary ("201: 40, 503: 12").
std::map<long, int> by_status(const std::vector<Answer>& answers);
std::string summary(const std::vector<Answer>& answers);
// The answers whose status is not in `allowed`, described (at most 10).
std::string unexpected(const std::vector<Answer>& answers, const std::vector<long>& allowed);
std::vector<std::string> accepted_ids(const std::vector<Answer>& answers);

// Small distinct PNGs to upload (so each upload has work to do but little of it).
const std::string& small_png(std::size_t index);

// ---------------------------------------------------------------------------------------
// photoshare fsck

struct Fsck {
    itest::CommandResult result;
    int exit_code = -1;
    long rows = -1, objects = -1, broken_rows = -1, orphans = -1;
    std::string output() const { return result.output; }
};
// photoshare fsck ARGS... (e.g. --data-dir D --grace 0 [--repair] [--set ...]), read.
Fsck run_fsck(const std::vector<std::string>& args);

}  // namespace faults
