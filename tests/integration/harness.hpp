// Integration-test harness: the real `photoshare` binary as a child process on a free
// loopback port with a fresh data directory, an HTTP client over libcurl that keeps its
// cookies like a browser, and a raw socket for the clients a library would not let us be
// (slow, half-finished, oversized).
#pragma once

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace itest {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Env = std::vector<std::pair<std::string, std::string>>;
using Headers = std::vector<std::pair<std::string, std::string>>;

// ---------------------------------------------------------------------------------------
// Files and paths

// The server binary (PHOTOSHARE_BINARY at build time; the environment variable of the same
// name overrides it, to test another build).
std::string server_binary();
// A file of the shared, read-only test data (PngSuite, edge-case images...).
fs::path testdata(std::string_view relative);
std::string read_file(const fs::path& path);

// A directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
public:
    explicit TempDir(std::string_view prefix = "ps-itest");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// Regular files under dir (recursively), as paths relative to dir; empty if dir is absent.
std::vector<std::string> list_files(const fs::path& dir);

// ---------------------------------------------------------------------------------------
// Processes

struct ExitStatus {
    bool exited = false;  // normal exit (code is valid)
    int code = -1;
    int signal = 0;  // killed by this signal
    bool ok() const { return exited && code == 0; }
    std::string describe() const;
};

// Runs the binary with args to completion (killed after timeout); output is stdout+stderr.
struct CommandResult {
    ExitStatus status;
    bool timed_out = false;
    std::string output;
};
CommandResult run_photoshare(const std::vector<std::string>& args, const Env& env = {}, std::chrono::milliseconds timeout = 30s);

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

struct ServerOptions {
    std::vector<std::string> args;  // appended after `serve --listen ... --data-dir ...`
    Env env;                        // added to the environment (PHOTOSHARE_* of ours are removed first)
    std::string name = "itest-server";  // --name; empty: not passed
    fs::path data_dir;                  // empty: a fresh directory owned by the ServerProcess
    bool wait_healthy = true;
};

// The server as a child process. Its stdout and stderr go to a log file that is printed when
// the test has failed. The destructor kills it (SIGKILL) if it is still running and removes
// its temporary files.
class ServerProcess {
public:
    explicit ServerProcess(ServerOptions options = {});
    ~ServerProcess();
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;

    pid_t pid() const { return pid_; }
    int port() const { return port_; }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    std::string base_url() const { return "http://" + address(); }
    const fs::path& data_dir() const { return data_dir_; }
    const std::string& name() const { return options_.name; }
    std::string admin_token() const;  // DATA_DIR/admin.token
    std::string log() const;

    bool alive();
    // Sends sig and waits for the exit; nullopt if the process is still running at the deadline.
    std::optional<ExitStatus> stop(int sig = SIGTERM, std::chrono::milliseconds timeout = 30s);
    std::optional<ExitStatus> wait_exit(std::chrono::milliseconds timeout);
    void signal(int sig);
    // Starts the same configuration again (same data directory, a new port).
    void restart();

private:
    void start();
    ServerOptions options_;
    std::optional<TempDir> work_;
    fs::path data_dir_;
    fs::path log_path_;
    pid_t pid_ = -1;
    int port_ = 0;
    std::optional<ExitStatus> exit_;
};

// ---------------------------------------------------------------------------------------
// HTTP over libcurl

struct Response {
    long status = 0;  // 0: the transfer failed, see error
    std::string error;
    std::string body;
    Headers headers;  // of the final response (not of a 100 Continue)
    double seconds = 0;  // total time

    // Case-insensitive; empty if absent. all() returns every value of a repeated header.
    std::string header(std::string_view name) const;
    bool has_header(std::string_view name) const;
    std::vector<std::string> all(std::string_view name) const;
    // The body as JSON; a null value (and a test failure) if it is not JSON.
    boost::json::value json() const;
    std::string describe() const;  // status, headers and the start of the body, for messages
};

struct Part {
    std::string name = "photo";
    std::string filename;  // empty: a plain field
    std::string content_type;
    std::string data;   // contents (used unless path is set)
    fs::path path;      // contents from this file

    static Part file(const fs::path& path, std::string filename = {}, std::string content_type = {});
    static Part bytes(std::string data, std::string filename, std::string content_type = {});
    static Part field(std::string name, std::string value);
};

class HttpClient {
public:
    explicit HttpClient(std::string base_url);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;
    HttpClient(HttpClient&& other) noexcept;

    void set_base_url(std::string url) { base_ = std::move(url); }
    const std::string& base_url() const { return base_; }
    void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }

    Response get(const std::string& path, const Headers& headers = {});
    Response del(const std::string& path, const Headers& headers = {});
    Response post_json(const std::string& path, const std::string& json, const Headers& headers = {});
    Response put_json(const std::string& path, const std::string& json, const Headers& headers = {});
    Response post_form(const std::string& path, const std::vector<std::pair<std::string, std::string>>& fields,
                       const Headers& headers = {});
    Response post_raw(const std::string& path, const std::string& body, const std::string& content_type,
                      const Headers& headers = {});
    Response upload(const std::string& path, const std::vector<Part>& parts, const Headers& headers = {});
    Response request(const std::string& method, const std::string& path, const std::optional<std::string>& body,
                     const Headers& headers = {});

    // The cookie engine's view.
    std::optional<std::string> cookie(const std::string& name) const;
    void set_cookie(const std::string& name, const std::string& value);
    void clear_cookies();

private:
    Response perform(const std::string& path, const Headers& headers, void* mime);
    void* curl_;
    std::string base_;
    std::chrono::milliseconds timeout_ = 60s;
};

// x-www-form-urlencoded, every byte outside [A-Za-z0-9-._~] percent-encoded.
std::string url_encode(std::string_view s);

// ---------------------------------------------------------------------------------------
// Raw sockets

struct RawResponse {
    int status = 0;
    Headers headers;
    std::string body;
    std::string header(std::string_view name) const;
};

class RawConnection {
public:
    explicit RawConnection(int port);
    ~RawConnection();
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;

    // False if the peer has closed or reset the connection.
    bool send(std::string_view data);
    void shutdown_write();
    // One response (headers, then Content-Length bytes or up to the close); nullopt on
    // timeout or when the connection closes before a complete status line and headers.
    std::optional<RawResponse> read_response(std::chrono::milliseconds timeout);
    // Waits for the peer to close (EOF or reset), keeping whatever arrives. True if closed.
    bool wait_closed(std::chrono::milliseconds timeout);
    bool closed() const { return closed_; }
    const std::string& received() const { return buffer_; }

private:
    // Reads what is available within the timeout; false on timeout.
    bool fill(Clock::time_point deadline);
    int fd_ = -1;
    bool closed_ = false;
    std::string buffer_;
};

// ---------------------------------------------------------------------------------------
// Application helpers

std::string unique_username(std::string_view prefix = "u");
inline constexpr const char* kPassword = "correct horse battery";

// A client with a logged-in user.
struct User {
    std::string username;
    std::string password;
    std::string csrf;
    std::unique_ptr<HttpClient> client;
    HttpClient& http() { return *client; }
    Headers csrf_header() const { return {{"X-CSRF-Token", csrf}}; }
};
// Registers through the API and logs in; test failures (not exceptions) on the way.
User register_user(const ServerProcess& server, std::string username = {});
User login(const ServerProcess& server, const std::string& username, const std::string& password);
// The same without expectations: nullopt unless the login answered 200 with a CSRF token.
std::optional<User> try_login(const ServerProcess& server, const std::string& username, const std::string& password);

// Uploads files as one request; returns the response (201 expected by the caller).
Response upload_photos(User& user, const std::vector<Part>& parts);
// The ids of the feed, newest first (GET /api/v1/photos?limit=100).
std::vector<std::string> feed_ids(const ServerProcess& server);

// Checks status and {"error":{"code","message"}} with a JSON content type (and code, if given).
void expect_json_error_at(const char* file, int line, const Response& res, long status, std::string_view code = {});
#define EXPECT_JSON_ERROR(...) ::itest::expect_json_error_at(__FILE__, __LINE__, __VA_ARGS__)

// ---------------------------------------------------------------------------------------
// Images

// A PNG made here: 8-bit grey (or RGB) with a gradient so that encoders have work to do.
std::string make_png(int width, int height, bool rgb = false, int seed = 0);
// An RGB PNG of random pixels: as large as its pixels (it does not compress).
std::string make_noise_png(int width, int height, unsigned seed = 1);
// Width and height from a JPEG's SOF marker.
std::optional<std::pair<int, int>> jpeg_size(std::string_view jpeg);
// Starts with SOI and ends with EOI.
bool looks_like_jpeg(std::string_view data);
// The JPEG with the EXIF IFD0 Orientation tag set to value (nullopt if it has none).
std::optional<std::string> with_exif_orientation(std::string jpeg, int value);

inline bool contains(std::string_view haystack, std::string_view needle) { return haystack.find(needle) != std::string_view::npos; }

// Polls pred every 20 ms until it returns true or the timeout passes.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (pred()) return true;
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
}

}  // namespace itest

// A fixture whose tests share one server (started once for the suite, with the given
// ServerOptions designated initializers). Tests of such a suite must not depend on what the
// others leave behind.
#define ITEST_SHARED_SERVER_FIXTURE(Fixture, ...)                                                          \
    class Fixture : public ::testing::Test {                                                              \
    protected:                                                                                            \
        static inline std::unique_ptr<::itest::ServerProcess> server_;                                    \
        static inline std::string start_error_;                                                           \
        static void SetUpTestSuite() {                                                                    \
            try {                                                                                         \
                server_ = std::make_unique<::itest::ServerProcess>(::itest::ServerOptions{__VA_ARGS__});  \
            } catch (const std::exception& e) {                                                           \
                start_error_ = e.what();                                                                  \
            }                                                                                             \
        }                                                                                                 \
        static void TearDownTestSuite() { server_.reset(); }                                              \
        void SetUp() override {                                                                           \
            ASSERT_TRUE(server_) << start_error_;                                                         \
            ASSERT_TRUE(server_->alive()) << "the shared server has died";                                \
        }                                                                                                 \
        ::itest::ServerProcess& server() { return *server_; }                                             \
    }

// ---------------------------------------------------------------------------------------
// Helpers for hostile-input tests (also useful elsewhere)

namespace itest {

// A second, independent client gets 200 from /healthz within `within` (a fresh connection
// each time). Records a test failure otherwise.
void expect_serving_at(const char* file, int line, const ServerProcess& server, std::chrono::milliseconds within = 2s);
#define EXPECT_STILL_SERVING(...) ::itest::expect_serving_at(__FILE__, __LINE__, __VA_ARGS__)

// One request on a fresh raw connection; the response, or nullopt (no complete response
// before the timeout or the close). *closed_after tells whether the server then closed.
std::optional<RawResponse> raw_exchange(int port, std::string_view request, std::chrono::milliseconds timeout = 10s,
                                        bool* closed_after = nullptr);

// Raises this process's soft RLIMIT_NOFILE towards `wanted` (never above the hard limit);
// returns the soft limit in force afterwards. Child processes (servers) inherit it.
std::size_t raise_open_files_limit(std::size_t wanted);

// Resident set of a process, now and at its peak (VmRSS, VmHWM), in KiB; 0 if unknown.
std::uint64_t rss_kib(pid_t pid);
std::uint64_t peak_rss_kib(pid_t pid);

// Polls GET /healthz from a thread of its own (a new connection each time, every
// `interval`) until stop() or destruction: proof that the server served others *while*
// something hostile went on. Check ok() after stop().
class HealthProbe {
public:
    explicit HealthProbe(const ServerProcess& server, std::chrono::milliseconds interval = 50ms);
    ~HealthProbe();
    HealthProbe(const HealthProbe&) = delete;
    HealthProbe& operator=(const HealthProbe&) = delete;
    void stop();
    int requests() const { return requests_; }
    int failures() const { return failures_; }
    double slowest_seconds() const { return slowest_; }
    // At least one request, none failed, none slower than max_seconds.
    bool ok(double max_seconds = 2.0) const { return requests_ > 0 && failures_ == 0 && slowest_ <= max_seconds; }
    std::string describe() const;

private:
    std::thread thread_;
    std::atomic<bool> stop_{false};
    int requests_ = 0, failures_ = 0;
    double slowest_ = 0;
    std::string last_failure_;
};

// The JPEG with a COM (comment) segment holding `text` right after its SOI marker: still a
// valid JPEG, carrying whatever bytes one wants to smuggle (at most 65533 of them).
std::string with_jpeg_comment(const std::string& jpeg, std::string_view text);

// A multipart/form-data body written byte for byte, for the malformed, hostile or odd ones a
// library would refuse to produce or would "fix" (file names are not escaped or changed).
struct MultipartBody {
    std::string boundary = "hostileBoundary7MA4YWxk";
    std::string body;
    // A part with a raw Content-Disposition value (and optional raw extra header lines,
    // each ending in CRLF), then the data.
    MultipartBody& raw_part(const std::string& disposition, std::string_view data, const std::string& extra_headers = {});
    // form-data; name="name"; filename="filename" (filename inserted as is).
    MultipartBody& file(std::string_view data, const std::string& filename, const std::string& name = "photo",
                        const std::string& content_type = "application/octet-stream");
    MultipartBody& field(const std::string& name, std::string_view value);
    // The closing delimiter; without it the body is truncated.
    MultipartBody& close();
    std::string content_type() const { return "multipart/form-data; boundary=" + boundary; }
};

}  // namespace itest
