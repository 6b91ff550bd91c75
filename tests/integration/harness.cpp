#include "harness.hpp"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace itest {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool iequals(std::string_view a, std::string_view b) { return lower(a) == lower(b); }

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
    return std::string(s);
}

std::string tail(const std::string& s, std::size_t n = 8000) { return s.size() <= n ? s : "...\n" + s.substr(s.size() - n); }

std::string header_value(const Headers& headers, std::string_view name) {
    for (const auto& [k, v] : headers)
        if (iequals(k, name)) return v;
    return {};
}

std::mt19937_64& rng() {
    static std::mt19937_64 r{std::random_device{}()};
    return r;
}

// ---- child processes ------------------------------------------------------------------

pid_t spawn(const std::vector<std::string>& args, const Env& extra_env, const fs::path& output) {
    std::vector<std::string> env_strings;
    for (char** e = environ; e && *e; ++e) {
        std::string_view entry(*e);
        if (entry.starts_with("PHOTOSHARE_")) continue;  // ours to choose, not the caller's
        env_strings.emplace_back(entry);
    }
    for (const auto& [k, v] : extra_env) env_strings.push_back(k + "=" + v);
    std::vector<char*> argv, envp;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    const int out_fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out_fd < 0) throw std::runtime_error("cannot open " + output.string() + ": " + std::strerror(errno));
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    long max_fd = ::sysconf(_SC_OPEN_MAX);
    if (max_fd < 0 || max_fd > 65536) max_fd = 65536;
    const pid_t parent = ::getpid();

    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(out_fd);
        ::close(null_fd);
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        // Only async-signal-safe calls from here on.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a test runner that dies
        if (::getppid() != parent) ::_exit(127);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        ::dup2(null_fd, 0);
        ::dup2(out_fd, 1);
        ::dup2(out_fd, 2);
        // Client sockets of the test must not live on in the server.
        for (int fd = 3; fd < max_fd; ++fd) ::close(fd);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(out_fd);
    ::close(null_fd);
    return pid;
}

ExitStatus decode_status(int st) {
    ExitStatus s;
    if (WIFEXITED(st)) {
        s.exited = true;
        s.code = WEXITSTATUS(st);
    } else if (WIFSIGNALED(st)) {
        s.signal = WTERMSIG(st);
    }
    return s;
}

std::optional<ExitStatus> wait_for(pid_t pid, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        int st = 0;
        pid_t r = ::waitpid(pid, &st, WNOHANG);
        if (r == pid) return decode_status(st);
        if (r < 0 && errno != EINTR) return ExitStatus{};  // not our child any more
        if (Clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(10ms);
    }
}

// Live servers, so that a failing test shows their logs (also those shared by a suite).
std::mutex live_mutex;
std::set<ServerProcess*> live_servers;

class LogPrinter : public ::testing::EmptyTestEventListener {
    void OnTestEnd(const ::testing::TestInfo& info) override {
        if (!info.result()->Failed()) return;
        std::lock_guard lock(live_mutex);
        for (auto* s : live_servers)
            std::cerr << "---- log of server pid " << s->pid() << " (" << s->address() << ") ----\n" << tail(s->log()) << "\n----\n";
    }
};

const bool log_printer_installed = [] {
    ::testing::UnitTest::GetInstance()->listeners().Append(new LogPrinter);
    return true;
}();

void curl_init_once() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

// ---- files -----------------------------------------------------------------------------

std::string server_binary() {
    if (const char* e = std::getenv("PHOTOSHARE_BINARY"); e && *e) return e;
    return PHOTOSHARE_BINARY;
}

fs::path testdata(std::string_view relative) { return fs::path(PHOTOSHARE_TESTDATA) / relative; }

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

TempDir::TempDir(std::string_view prefix) {
    const char* base = std::getenv("TMPDIR");
    const std::string templ = std::string(base && *base ? base : "/tmp") + "/" + std::string(prefix) + "-XXXXXX";
    std::string made = templ;  // mkdtemp fills in the Xs in place
    if (!::mkdtemp(made.data())) throw std::runtime_error("mkdtemp " + templ + ": " + std::strerror(errno));
    path_ = made;
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

std::vector<std::string> list_files(const fs::path& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    if (!fs::exists(dir, ec)) return out;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file(ec)) out.push_back(fs::relative(it->path(), dir).string());
    std::sort(out.begin(), out.end());
    return out;
}

// ---- processes -------------------------------------------------------------------------

std::string ExitStatus::describe() const {
    if (exited) return "exit code " + std::to_string(code);
    if (signal) return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
    return "unknown status";
}

CommandResult run_photoshare(const std::vector<std::string>& args, const Env& env, std::chrono::milliseconds timeout) {
    TempDir dir("ps-itest-cmd");
    const auto out = dir.path() / "output";
    std::vector<std::string> argv{server_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    const pid_t pid = spawn(argv, env, out);
    CommandResult result;
    if (auto st = wait_for(pid, timeout)) {
        result.status = *st;
    } else {
        result.timed_out = true;
        ::kill(pid, SIGKILL);
        int raw = 0;
        ::waitpid(pid, &raw, 0);
        result.status = decode_status(raw);
    }
    result.output = read_file(out);
    return result;
}

int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        throw std::runtime_error("bind");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

ServerProcess::ServerProcess(ServerOptions options) : options_(std::move(options)) {
    work_.emplace("ps-itest");
    data_dir_ = options_.data_dir.empty() ? work_->path() / "data" : options_.data_dir;
    log_path_ = work_->path() / "server.log";
    {
        std::lock_guard lock(live_mutex);
        live_servers.insert(this);
    }
    try {
        start();
    } catch (...) {
        if (pid_ > 0 && !exit_) {
            ::kill(pid_, SIGKILL);
            wait_for(pid_, 10s);
        }
        std::lock_guard lock(live_mutex);
        live_servers.erase(this);
        throw;
    }
}

ServerProcess::~ServerProcess() {
    {
        std::lock_guard lock(live_mutex);
        live_servers.erase(this);
    }
    if (pid_ > 0 && !exit_) {
        ::kill(pid_, SIGKILL);
        wait_for(pid_, 10s);
    }
    if (::testing::Test::HasFailure())
        std::cerr << "---- log of server pid " << pid_ << " (" << address() << ") ----\n" << tail(log()) << "\n----\n";
}

void ServerProcess::start() {
    for (int attempt = 0;; ++attempt) {
        port_ = free_port();
        std::vector<std::string> argv{server_binary(), "serve", "--listen", address(), "--data-dir", data_dir_.string()};
        if (!options_.name.empty()) {
            argv.emplace_back("--name");
            argv.push_back(options_.name);
        }
        argv.insert(argv.end(), options_.args.begin(), options_.args.end());
        {
            std::ofstream log(log_path_, std::ios::app);
            log << "==== itest: starting on " << address() << " ====\n";
        }
        exit_.reset();
        pid_ = spawn(argv, options_.env, log_path_);
        if (!options_.wait_healthy) return;

        const auto deadline = Clock::now() + std::chrono::seconds(30);  // not 30s: cppcheck 2.10 cannot evaluate it
        bool retry = false;
        for (;;) {
            if (auto st = wait_exit(0ms)) {
                const auto text = log();
                if (attempt < 4 && contains(text, "in use")) {
                    retry = true;  // another process took the port in between
                    break;
                }
                throw std::runtime_error("the server exited during start-up (" + st->describe() + "):\n" + tail(text));
            }
            try {
                RawConnection c(port_);
                c.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
                if (auto r = c.read_response(5s); r && r->status == 200) return;
            } catch (const std::exception&) {
            }
            if (Clock::now() >= deadline) throw std::runtime_error("the server did not become healthy within 30 s:\n" + tail(log()));
            std::this_thread::sleep_for(20ms);
        }
        if (!retry) return;
    }
}

void ServerProcess::restart() {
    if (pid_ > 0 && !exit_) throw std::logic_error("restart() of a running server");
    start();
}

std::string ServerProcess::admin_token() const {
    std::ifstream in(data_dir_ / "admin.token");
    std::string token;
    std::getline(in, token);
    return token;
}

std::string ServerProcess::log() const {
    try {
        return read_file(log_path_);
    } catch (const std::exception&) {
        return {};
    }
}

bool ServerProcess::alive() { return !wait_exit(0ms).has_value(); }

std::optional<ExitStatus> ServerProcess::wait_exit(std::chrono::milliseconds timeout) {
    if (exit_) return exit_;
    if (pid_ <= 0) return ExitStatus{};
    exit_ = wait_for(pid_, timeout);
    return exit_;
}

void ServerProcess::signal(int sig) {
    if (pid_ > 0 && !exit_) ::kill(pid_, sig);
}

std::optional<ExitStatus> ServerProcess::stop(int sig, std::chrono::milliseconds timeout) {
    signal(sig);
    return wait_exit(timeout);
}

// ---- HTTP --------------------------------------------------------------------------------

std::string Response::header(std::string_view name) const { return header_value(headers, name); }

bool Response::has_header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (iequals(k, name)) return true;
    return false;
}

std::vector<std::string> Response::all(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : headers)
        if (iequals(k, name)) out.push_back(v);
    return out;
}

boost::json::value Response::json() const {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    if (ec) {
        ADD_FAILURE() << "response body is not JSON: " << describe();
        return nullptr;
    }
    return v;
}

std::string Response::describe() const {
    std::ostringstream s;
    s << "HTTP " << status;
    if (!error.empty()) s << " (curl: " << error << ")";
    s << "\n";
    for (const auto& [k, v] : headers) s << "  " << k << ": " << v << "\n";
    s << "  body (" << body.size() << " bytes): " << body.substr(0, 600) << (body.size() > 600 ? "..." : "") << "\n";
    return s.str();
}

Part Part::file(const fs::path& path, std::string filename, std::string content_type) {
    Part p;
    p.path = path;
    p.filename = filename.empty() ? path.filename().string() : std::move(filename);
    p.content_type = std::move(content_type);
    return p;
}

Part Part::bytes(std::string data, std::string filename, std::string content_type) {
    Part p;
    p.data = std::move(data);
    p.filename = std::move(filename);
    p.content_type = std::move(content_type);
    return p;
}

Part Part::field(std::string name, std::string value) {
    Part p;
    p.name = std::move(name);
    p.data = std::move(value);
    return p;
}

namespace {

std::size_t on_body(char* p, std::size_t size, std::size_t n, void* user) {
    static_cast<std::string*>(user)->append(p, size * n);
    return size * n;
}

std::size_t on_header(char* p, std::size_t size, std::size_t n, void* user) {
    auto* headers = static_cast<Headers*>(user);
    std::string_view line(p, size * n);
    if (line.starts_with("HTTP/")) {
        headers->clear();  // a new response (after 100 Continue or a redirect)
    } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
        headers->emplace_back(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
    }
    return size * n;
}

CURL* handle(void* p) { return static_cast<CURL*>(p); }

}  // namespace

std::string url_encode(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

HttpClient::HttpClient(std::string base_url) : base_(std::move(base_url)) {
    curl_init_once();
    curl_ = curl_easy_init();
    if (!curl_) throw std::runtime_error("curl_easy_init failed");
    curl_easy_setopt(handle(curl_), CURLOPT_COOKIEFILE, "");  // in-memory cookie engine
}

HttpClient::HttpClient(HttpClient&& other) noexcept : curl_(other.curl_), base_(std::move(other.base_)), timeout_(other.timeout_) {
    other.curl_ = nullptr;
}

HttpClient::~HttpClient() {
    if (curl_) curl_easy_cleanup(handle(curl_));
}

Response HttpClient::perform(const std::string& path, const Headers& headers, void* mime) {
    CURL* c = handle(curl_);
    Response res;
    const std::string url = base_ + path;
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_COOKIEFILE, "");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &res.body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &res.headers);
    curl_slist* list = nullptr;
    bool expect_given = false;
    for (const auto& [k, v] : headers) {
        if (iequals(k, "Expect")) expect_given = true;
        const std::string line = v.empty() ? k + ":" : k + ": " + v;  // "Name:" removes a header curl would add
        list = curl_slist_append(list, line.c_str());
    }
    if (!expect_given) list = curl_slist_append(list, "Expect:");  // no 100-continue round trip unless asked
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    if (mime) curl_easy_setopt(c, CURLOPT_MIMEPOST, static_cast<curl_mime*>(mime));
    char errbuf[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    const CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) res.error = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res.status);
    curl_off_t micros = 0;
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME_T, &micros);
    res.seconds = static_cast<double>(micros) / 1e6;
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
    curl_slist_free_all(list);
    if (rc != CURLE_OK && res.status == 0) res.status = 0;
    return res;
}

Response HttpClient::request(const std::string& method, const std::string& path, const std::optional<std::string>& body,
                             const Headers& headers) {
    CURL* c = handle(curl_);
    curl_easy_reset(c);
    if (method == "GET") {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else if (method == "HEAD") {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else {
        if (body || method == "POST") {
            const std::string none;
            const std::string& b = body ? *body : none;  // both lvalues: no copy of the body
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(b.size()));
            curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, b.c_str());
        }
        if (method != "POST") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    return perform(path, headers, nullptr);
}

Response HttpClient::get(const std::string& path, const Headers& headers) { return request("GET", path, std::nullopt, headers); }

Response HttpClient::del(const std::string& path, const Headers& headers) { return request("DELETE", path, std::nullopt, headers); }

Response HttpClient::post_json(const std::string& path, const std::string& json, const Headers& headers) {
    Headers h = headers;
    h.emplace_back("Content-Type", "application/json");
    return request("POST", path, json, h);
}

Response HttpClient::put_json(const std::string& path, const std::string& json, const Headers& headers) {
    Headers h = headers;
    h.emplace_back("Content-Type", "application/json");
    return request("PUT", path, json, h);
}

Response HttpClient::post_form(const std::string& path, const std::vector<std::pair<std::string, std::string>>& fields,
                               const Headers& headers) {
    std::string body;
    for (const auto& [k, v] : fields) body += (body.empty() ? "" : "&") + url_encode(k) + "=" + url_encode(v);
    Headers h = headers;
    h.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    return request("POST", path, body, h);
}

Response HttpClient::post_raw(const std::string& path, const std::string& body, const std::string& content_type,
                              const Headers& headers) {
    Headers h = headers;
    if (content_type.empty())
        h.emplace_back("Content-Type", "");
    else
        h.emplace_back("Content-Type", content_type);
    return request("POST", path, body, h);
}

Response HttpClient::upload(const std::string& path, const std::vector<Part>& parts, const Headers& headers) {
    CURL* c = handle(curl_);
    curl_easy_reset(c);
    curl_mime* mime = curl_mime_init(c);
    for (const auto& p : parts) {
        curl_mimepart* part = curl_mime_addpart(mime);
        curl_mime_name(part, p.name.c_str());
        if (!p.path.empty())
            curl_mime_filedata(part, p.path.c_str());
        else
            curl_mime_data(part, p.data.data(), p.data.size());
        if (!p.filename.empty()) curl_mime_filename(part, p.filename.c_str());
        if (!p.content_type.empty()) curl_mime_type(part, p.content_type.c_str());
    }
    auto res = perform(path, headers, mime);
    curl_mime_free(mime);
    return res;
}

std::optional<std::string> HttpClient::cookie(const std::string& name) const {
    curl_slist* cookies = nullptr;
    curl_easy_getinfo(handle(curl_), CURLINFO_COOKIELIST, &cookies);
    std::optional<std::string> found;
    for (auto* c = cookies; c; c = c->next) {
        // domain, subdomains, path, secure, expiry, name, value (tab-separated)
        std::vector<std::string> f;
        std::string_view line(c->data);
        std::size_t start = 0;
        for (;;) {
            auto tab = line.find('\t', start);
            f.emplace_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
            if (tab == std::string_view::npos) break;
            start = tab + 1;
        }
        if (f.size() >= 7 && f[5] == name) found = f[6];
    }
    curl_slist_free_all(cookies);
    return found;
}

void HttpClient::set_cookie(const std::string& name, const std::string& value) {
    const std::string line = "127.0.0.1\tFALSE\t/\tFALSE\t0\t" + name + "\t" + value;
    curl_easy_setopt(handle(curl_), CURLOPT_COOKIELIST, line.c_str());
}

void HttpClient::clear_cookies() { curl_easy_setopt(handle(curl_), CURLOPT_COOKIELIST, "ALL"); }

// ---- raw sockets ---------------------------------------------------------------------------

std::string RawResponse::header(std::string_view name) const { return header_value(headers, name); }

RawConnection::RawConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        const int e = errno;
        ::close(fd_);
        fd_ = -1;
        throw std::runtime_error(std::string("connect: ") + std::strerror(e));
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

RawConnection::~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::send(std::string_view data) {
    const auto deadline = Clock::now() + std::chrono::seconds(30);  // not 30s: cppcheck 2.10 cannot evaluate it
    while (!data.empty()) {
        const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            data.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
            if (left <= 0) return false;
            pollfd p{fd_, POLLOUT, 0};
            ::poll(&p, 1, static_cast<int>(left));
            continue;
        }
        return false;  // EPIPE, ECONNRESET
    }
    return true;
}

void RawConnection::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

bool RawConnection::fill(Clock::time_point deadline) {
    if (closed_) return true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left < 0) return false;
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) return true;
    if (r <= 0) return false;
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0)
        buffer_.append(buf, static_cast<std::size_t>(n));
    else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        closed_ = true;
    return true;
}

std::optional<RawResponse> RawConnection::read_response(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        const auto end = buffer_.find("\r\n\r\n");
        if (end != std::string::npos) {
            RawResponse r;
            std::istringstream lines(buffer_.substr(0, end));
            std::string line;
            std::getline(lines, line);
            if (line.size() < 12 || !line.starts_with("HTTP/1.")) return std::nullopt;
            const char* const code = line.data() + 9;
            if (const auto parsed = std::from_chars(code, code + 3, r.status); parsed.ec != std::errc() || parsed.ptr != code + 3)
                return std::nullopt;
            while (std::getline(lines, line)) {
                auto colon = line.find(':');
                if (colon != std::string::npos) r.headers.emplace_back(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
            }
            const std::size_t body_start = end + 4;
            if (r.status >= 100 && r.status < 200) {  // interim: skip it
                buffer_.erase(0, body_start);
                continue;
            }
            const auto length_text = r.header("Content-Length");
            if (!length_text.empty() || r.status == 204 || r.status == 304) {
                const std::size_t length = length_text.empty() ? 0 : std::stoull(length_text);
                while (buffer_.size() < body_start + length) {
                    if (closed_) return std::nullopt;
                    if (!fill(deadline)) return std::nullopt;
                }
                r.body = buffer_.substr(body_start, length);
                buffer_.erase(0, body_start + length);
                return r;
            }
            while (!closed_)
                if (!fill(deadline)) return std::nullopt;
            r.body = buffer_.substr(body_start);
            buffer_.clear();
            return r;
        }
        if (closed_) return std::nullopt;
        if (!fill(deadline)) return std::nullopt;
    }
}

bool RawConnection::wait_closed(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!closed_)
        if (!fill(deadline)) return false;
    return true;
}

// ---- application helpers -------------------------------------------------------------------

std::string unique_username(std::string_view prefix) {
    static int counter = 0;
    std::ostringstream name;
    name << prefix.substr(0, 12) << ++counter << '_' << std::hex << std::setw(6) << std::setfill('0') << (rng()() & 0xffffff);
    return name.str();
}

static std::string credentials(const std::string& username, const std::string& password) {
    return boost::json::serialize(boost::json::object{{"username", username}, {"password", password}});
}

namespace {
// One login: the user (csrf empty unless it succeeded) and the response.
std::pair<User, Response> attempt_login(const ServerProcess& server, const std::string& username, const std::string& password) {
    User u;
    u.username = username;
    u.password = password;
    u.client = std::make_unique<HttpClient>(server.base_url());
    auto res = u.client->post_json("/api/v1/session", credentials(username, password));
    if (res.status == 200) {
        auto v = res.json();
        if (v.is_object() && v.as_object().contains("csrf_token") && v.at("csrf_token").is_string())
            u.csrf = std::string(v.at("csrf_token").as_string());
    }
    return {std::move(u), std::move(res)};
}
}  // namespace

User login(const ServerProcess& server, const std::string& username, const std::string& password) {
    auto attempt = attempt_login(server, username, password);
    const Response& res = attempt.second;
    EXPECT_EQ(res.status, 200) << res.describe();
    EXPECT_FALSE(attempt.first.csrf.empty()) << res.describe();
    return std::move(attempt.first);
}

std::optional<User> try_login(const ServerProcess& server, const std::string& username, const std::string& password) {
    auto attempt = attempt_login(server, username, password);
    if (attempt.first.csrf.empty()) return std::nullopt;
    return std::move(attempt.first);
}

User register_user(const ServerProcess& server, std::string username) {
    if (username.empty()) username = unique_username();
    HttpClient c(server.base_url());
    auto res = c.post_json("/api/v1/users", credentials(username, kPassword));
    EXPECT_EQ(res.status, 201) << res.describe();
    return login(server, username, kPassword);
}

Response upload_photos(User& user, const std::vector<Part>& parts) {
    return user.http().upload("/api/v1/photos", parts, user.csrf_header());
}

std::vector<std::string> feed_ids(const ServerProcess& server) {
    HttpClient c(server.base_url());
    auto res = c.get("/api/v1/photos?limit=100");
    EXPECT_EQ(res.status, 200) << res.describe();
    std::vector<std::string> ids;
    auto v = res.json();
    if (!v.is_object() || !v.as_object().contains("photos")) return ids;
    for (const auto& p : v.at("photos").as_array()) ids.emplace_back(p.at("id").as_string());
    return ids;
}

void expect_json_error_at(const char* file, int line, const Response& res, long status, std::string_view code) {
    ::testing::ScopedTrace trace(file, line, "expected a JSON error here");
    EXPECT_EQ(res.status, status) << res.describe();
    EXPECT_TRUE(res.header("Content-Type").starts_with("application/json")) << res.describe();
    boost::system::error_code ec;
    auto v = boost::json::parse(res.body, ec);
    ASSERT_FALSE(ec) << "error body is not JSON: " << res.describe();
    ASSERT_TRUE(v.is_object() && v.as_object().contains("error") && v.at("error").is_object()) << res.describe();
    const auto& e = v.at("error").as_object();
    ASSERT_TRUE(e.contains("code") && e.at("code").is_string()) << res.describe();
    ASSERT_TRUE(e.contains("message") && e.at("message").is_string()) << res.describe();
    EXPECT_FALSE(e.at("message").as_string().empty()) << res.describe();
    if (!code.empty()) EXPECT_EQ(std::string_view(e.at("code").as_string()), code) << res.describe();
}

// ---- images ----------------------------------------------------------------------------------

namespace {

void put32(std::string& out, std::uint32_t v) {
    out += static_cast<char>(v >> 24);
    out += static_cast<char>(v >> 16);
    out += static_cast<char>(v >> 8);
    out += static_cast<char>(v);
}

void png_chunk(std::string& out, const char* type, const std::string& data) {
    put32(out, static_cast<std::uint32_t>(data.size()));
    std::string body = std::string(type, 4) + data;
    out += body;
    put32(out, static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
}

}  // namespace

std::string make_noise_png(int width, int height, unsigned seed) {
    std::string out = "\x89PNG\r\n\x1a\n";
    std::string ihdr;
    put32(ihdr, static_cast<std::uint32_t>(width));
    put32(ihdr, static_cast<std::uint32_t>(height));
    ihdr += std::string("\x08\x02\x00\x00\x00", 5);
    png_chunk(out, "IHDR", ihdr);
    std::mt19937 gen(seed);
    std::string raw;
    raw.reserve(static_cast<std::size_t>(height) * (1 + 3 * static_cast<std::size_t>(width)));
    for (int y = 0; y < height; ++y) {
        raw += '\0';
        for (int i = 0; i < 3 * width; ++i) raw += static_cast<char>(gen() & 0xff);
    }
    uLongf size = compressBound(static_cast<uLong>(raw.size()));
    std::string compressed(size, '\0');
    compress2(reinterpret_cast<Bytef*>(compressed.data()), &size, reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()),
              Z_BEST_SPEED);
    compressed.resize(size);
    png_chunk(out, "IDAT", compressed);
    png_chunk(out, "IEND", "");
    return out;
}

std::string make_png(int width, int height, bool rgb, int seed) {
    std::string out = "\x89PNG\r\n\x1a\n";
    std::string ihdr;
    put32(ihdr, static_cast<std::uint32_t>(width));
    put32(ihdr, static_cast<std::uint32_t>(height));
    ihdr += static_cast<char>(8);
    ihdr += static_cast<char>(rgb ? 2 : 0);
    ihdr += std::string(3, '\0');
    png_chunk(out, "IHDR", ihdr);

    const std::uint64_t pixels = static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(height);
    z_stream z{};
    deflateInit(&z, pixels > 4'000'000 ? Z_BEST_SPEED : Z_DEFAULT_COMPRESSION);
    std::string compressed;
    std::vector<unsigned char> row(1 + static_cast<std::size_t>(width) * (rgb ? 3 : 1));
    std::vector<unsigned char> buf(1 << 16);
    auto pump = [&](int flush) {
        do {
            z.next_out = buf.data();
            z.avail_out = static_cast<uInt>(buf.size());
            deflate(&z, flush);
            compressed.append(reinterpret_cast<char*>(buf.data()), buf.size() - z.avail_out);
        } while (z.avail_out == 0);
    };
    for (int y = 0; y < height; ++y) {
        row[0] = 0;
        for (int x = 0; x < width; ++x) {
            if (rgb) {
                row[1 + 3 * x] = static_cast<unsigned char>(x + seed);
                row[2 + 3 * x] = static_cast<unsigned char>(y * 2 + seed);
                row[3 + 3 * x] = static_cast<unsigned char>((x ^ y) + seed);
            } else {
                row[1 + x] = static_cast<unsigned char>(x + y + seed);
            }
        }
        z.next_in = row.data();
        z.avail_in = static_cast<uInt>(row.size());
        pump(Z_NO_FLUSH);
    }
    pump(Z_FINISH);
    deflateEnd(&z);
    png_chunk(out, "IDAT", compressed);
    png_chunk(out, "IEND", "");
    return out;
}

namespace {
unsigned be16(std::string_view d, std::size_t at) {
    return (static_cast<unsigned char>(d[at]) << 8) | static_cast<unsigned char>(d[at + 1]);
}
}  // namespace

std::optional<std::pair<int, int>> jpeg_size(std::string_view d) {
    if (d.size() < 4 || static_cast<unsigned char>(d[0]) != 0xFF || static_cast<unsigned char>(d[1]) != 0xD8) return std::nullopt;
    std::size_t pos = 2;
    while (pos + 4 <= d.size()) {
        if (static_cast<unsigned char>(d[pos]) != 0xFF) return std::nullopt;
        const unsigned marker = static_cast<unsigned char>(d[pos + 1]);
        if (marker == 0xFF) {
            ++pos;
            continue;
        }
        if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {
            pos += 2;
            continue;
        }
        const unsigned len = be16(d, pos + 2);
        if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
            if (pos + 9 > d.size()) return std::nullopt;
            return std::pair{static_cast<int>(be16(d, pos + 7)), static_cast<int>(be16(d, pos + 5))};
        }
        if (marker == 0xDA) return std::nullopt;
        pos += 2 + len;
    }
    return std::nullopt;
}

bool looks_like_jpeg(std::string_view d) {
    return d.size() > 4 && static_cast<unsigned char>(d[0]) == 0xFF && static_cast<unsigned char>(d[1]) == 0xD8 &&
           static_cast<unsigned char>(d[d.size() - 2]) == 0xFF && static_cast<unsigned char>(d[d.size() - 1]) == 0xD9 &&
           jpeg_size(d).has_value();
}

std::optional<std::string> with_exif_orientation(std::string jpeg, int value) {
    std::string_view d = jpeg;
    std::size_t pos = 2;
    while (pos + 4 <= d.size()) {
        if (static_cast<unsigned char>(d[pos]) != 0xFF) return std::nullopt;
        const unsigned marker = static_cast<unsigned char>(d[pos + 1]);
        const unsigned len = be16(d, pos + 2);
        if (marker == 0xDA) return std::nullopt;
        if (marker == 0xE1 && d.substr(pos + 4, 6) == std::string_view("Exif\0\0", 6)) {
            const std::size_t tiff = pos + 10;
            const bool little = d.substr(tiff, 2) == "II";
            auto r16 = [&](std::size_t at) -> unsigned {
                auto a = static_cast<unsigned char>(d[at]), b = static_cast<unsigned char>(d[at + 1]);
                return little ? (a | (b << 8)) : ((a << 8) | b);
            };
            auto r32 = [&](std::size_t at) -> std::size_t {
                return little ? (r16(at) | (static_cast<std::size_t>(r16(at + 2)) << 16))
                              : ((static_cast<std::size_t>(r16(at)) << 16) | r16(at + 2));
            };
            const std::size_t ifd0 = tiff + r32(tiff + 4);
            const unsigned n = r16(ifd0);
            for (unsigned i = 0; i < n; ++i) {
                const std::size_t e = ifd0 + 2 + 12 * i;
                if (r16(e) == 0x0112) {
                    const auto v = static_cast<unsigned>(value);
                    jpeg[e + 8] = static_cast<char>(little ? (v & 0xff) : (v >> 8));
                    jpeg[e + 9] = static_cast<char>(little ? (v >> 8) : (v & 0xff));
                    return jpeg;
                }
            }
            return std::nullopt;
        }
        pos += 2 + len;
    }
    return std::nullopt;
}

}  // namespace itest

// ---- helpers for hostile-input tests ---------------------------------------------------------

#include <sys/resource.h>

namespace itest {

void expect_serving_at(const char* file, int line, const ServerProcess& server, std::chrono::milliseconds within) {
    ::testing::ScopedTrace trace(file, line, "a second client must still be served");
    HttpClient other(server.base_url());
    other.set_timeout(within + 3s);
    const auto start = Clock::now();
    auto res = other.get("/healthz");
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    EXPECT_EQ(res.status, 200) << res.describe();
    EXPECT_LE(took.count(), within.count()) << "GET /healthz took " << took.count() << " ms";
}

std::optional<RawResponse> raw_exchange(int port, std::string_view request, std::chrono::milliseconds timeout, bool* closed_after) {
    RawConnection c(port);
    c.send(request);
    auto r = c.read_response(timeout);
    if (closed_after) *closed_after = c.wait_closed(timeout);
    return r;
}

std::size_t raise_open_files_limit(std::size_t wanted) {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
    if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < wanted) {
        rlim_t target = static_cast<rlim_t>(wanted);
        if (lim.rlim_max != RLIM_INFINITY && target > lim.rlim_max) target = lim.rlim_max;
        rlimit raised{target, lim.rlim_max};
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) lim.rlim_cur = target;
    }
    return lim.rlim_cur == RLIM_INFINITY ? SIZE_MAX : static_cast<std::size_t>(lim.rlim_cur);
}

namespace {
std::uint64_t proc_status_kib(pid_t pid, std::string_view key) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with(key) && line.size() > key.size() && line[key.size()] == ':')
            return std::strtoull(line.c_str() + key.size() + 1, nullptr, 10);
    return 0;
}
}  // namespace

std::uint64_t rss_kib(pid_t pid) { return proc_status_kib(pid, "VmRSS"); }
std::uint64_t peak_rss_kib(pid_t pid) { return proc_status_kib(pid, "VmHWM"); }

HealthProbe::HealthProbe(const ServerProcess& server, std::chrono::milliseconds interval) {
    thread_ = std::thread([this, port = server.port(), interval] {
        do {  // at least one request, however soon stop() comes
            const auto start = Clock::now();
            std::string failure;
            try {
                RawConnection c(port);
                c.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
                auto r = c.read_response(5s);
                if (!r) failure = "no response";
                else if (r->status != 200) failure = "HTTP " + std::to_string(r->status);
            } catch (const std::exception& e) {
                failure = e.what();
            }
            const double took = std::chrono::duration<double>(Clock::now() - start).count();
            ++requests_;
            slowest_ = std::max(slowest_, took);
            if (!failure.empty()) {
                ++failures_;
                last_failure_ = failure;
            }
            // not `auto slept = 0ms`: cppcheck 2.10 cannot evaluate it
            for (std::chrono::milliseconds slept{0}; slept < interval && !stop_.load(); slept += 10ms) std::this_thread::sleep_for(10ms);
        } while (!stop_.load());
    });
}

HealthProbe::~HealthProbe() { stop(); }

void HealthProbe::stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
}

std::string HealthProbe::describe() const {
    std::ostringstream s;
    s << "health probe: " << requests_ << " request(s), " << failures_ << " failed";
    if (!last_failure_.empty()) s << " (last: " << last_failure_ << ")";
    s << ", slowest " << slowest_ << " s";
    return s.str();
}

std::string with_jpeg_comment(const std::string& jpeg, std::string_view text) {
    if (text.size() > 65533) throw std::invalid_argument("a JPEG comment holds at most 65533 bytes");
    const std::size_t len = text.size() + 2;
    std::string segment = "\xFF\xFE";
    segment += static_cast<char>(len >> 8);
    segment += static_cast<char>(len & 0xff);
    segment.append(text);
    return jpeg.substr(0, 2) + segment + jpeg.substr(2);
}

MultipartBody& MultipartBody::raw_part(const std::string& disposition, std::string_view data, const std::string& extra_headers) {
    body += "--" + boundary + "\r\nContent-Disposition: " + disposition + "\r\n" + extra_headers + "\r\n";
    body.append(data);
    body += "\r\n";
    return *this;
}

MultipartBody& MultipartBody::file(std::string_view data, const std::string& filename, const std::string& name,
                                   const std::string& content_type) {
    return raw_part("form-data; name=\"" + name + "\"; filename=\"" + filename + "\"", data,
                    content_type.empty() ? std::string() : "Content-Type: " + content_type + "\r\n");
}

MultipartBody& MultipartBody::field(const std::string& name, std::string_view value) {
    return raw_part("form-data; name=\"" + name + "\"", value);
}

MultipartBody& MultipartBody::close() {
    body += "--" + boundary + "--\r\n";
    return *this;
}

}  // namespace itest
