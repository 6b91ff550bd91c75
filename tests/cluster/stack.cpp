#include "stack.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <netinet/in.h>
#include <poll.h>
#include <random>
#include <sstream>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace cluster {

namespace {

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string tail_lines(const std::string& text, std::size_t lines) {
    if (text.empty()) return text;
    std::size_t pos = text.size();
    for (std::size_t n = 0; n <= lines && pos > 0; ++n) {
        pos = text.rfind('\n', pos - 1);
        if (pos == std::string::npos) return text;
    }
    return text.substr(pos + 1);
}

std::optional<pid_t> pid_from(const fs::path& file) {
    std::ifstream in(file);
    long pid = 0;
    if (!(in >> pid) || pid <= 1) return std::nullopt;
    return static_cast<pid_t>(pid);
}

bool port_free(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

// ---- the registry of stack directories, and cleaning them up ----------------------------

constexpr std::size_t kMaxDirs = 64;
constexpr std::size_t kPathMax = 512;
// Plain arrays: read by the signal handler, which may not allocate.
char registered_dirs[kMaxDirs][kPathMax];
char stack_script[kPathMax];
std::mutex registry_mutex;

void register_dir(const fs::path& dir) {
    std::lock_guard lock(registry_mutex);
    for (auto& slot : registered_dirs) {
        if (slot[0] == 0) {
            const int n = std::snprintf(slot, kPathMax, "%s", dir.c_str());
            if (n < 0 || static_cast<std::size_t>(n) >= kPathMax) {
                slot[0] = 0;
                throw std::runtime_error("stack directory name too long: " + dir.string());
            }
            return;
        }
    }
    throw std::runtime_error("too many stack directories");
}

void unregister_dir(const fs::path& dir) {
    std::lock_guard lock(registry_mutex);
    for (auto& slot : registered_dirs)
        if (dir == slot) slot[0] = 0;
}

std::vector<fs::path> registered() {
    std::lock_guard lock(registry_mutex);
    std::vector<fs::path> out;
    for (auto& slot : registered_dirs)
        if (slot[0]) out.emplace_back(slot);
    return out;
}

// Every pid file a stack directory can hold, with a name for messages.
std::vector<std::pair<std::string, fs::path>> pid_files(const fs::path& dir) {
    std::vector<std::pair<std::string, fs::path>> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const auto name = entry.path().filename().string();
        if (name.starts_with("web-") && name.ends_with(".pid")) out.emplace_back(name.substr(0, name.size() - 4), entry.path());
        if (name.starts_with("memcached-")) out.emplace_back(name, entry.path() / "pid");
    }
    out.emplace_back("haproxy", dir / "haproxy.pid");
    out.emplace_back("nginx", dir / "nginx.pid");
    out.emplace_back("redis", dir / "redis" / "redis.pid");
    out.emplace_back("postgres", dir / "postgres" / "data" / "postmaster.pid");
    out.emplace_back("mariadb", dir / "mariadb" / "mysqld.pid");
    out.emplace_back("s3rver", dir / "s3rver" / "s3rver.pid");
    return out;
}

// SIGKILL to every process a pid file of dir still names; returns their names.
std::vector<std::string> kill_leftovers(const fs::path& dir) {
    std::vector<std::string> killed;
    for (const auto& [name, file] : pid_files(dir)) {
        auto pid = pid_from(file);
        if (pid && process_alive(*pid)) {
            if (name == "nginx") {
                // Its workers outlive a SIGKILLed master: SIGTERM, which takes them along.
                ::kill(*pid, SIGTERM);
                itest::eventually([&] { return !process_alive(*pid); }, 5s);
            }
            ::kill(*pid, SIGKILL);
            killed.push_back(name + " (pid " + std::to_string(*pid) + ")");
        }
    }
    return killed;
}

void stop_dir(const fs::path& dir) {
    if (fs::exists(dir / "stack.conf")) run({"bash", stack_script, "down", "--dir", dir.string()}, 120s);
    kill_leftovers(dir);
}

void remove_dir(const fs::path& dir) {
    if (const char* keep = std::getenv("CLUSTER_KEEP_DIRS"); keep && *keep && std::string(keep) != "0") {
        std::cerr << "[cluster] keeping " << dir << " (CLUSTER_KEEP_DIRS)\n";
        return;
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
}

class Cleanup : public ::testing::Environment {
public:
    void TearDown() override {
        for (const auto& dir : registered()) {
            stop_dir(dir);
            unregister_dir(dir);
            remove_dir(dir);
        }
    }
};

// On SIGINT/SIGTERM/SIGHUP: `scripts/stack down` for every registered stack (fork and exec
// only: nothing here allocates), then die of the same signal.
extern "C" void on_fatal_signal(int sig) {
    for (auto& slot : registered_dirs) {
        if (slot[0] == 0) continue;
        const pid_t pid = ::fork();
        if (pid == 0) {
            char bash[] = "/bin/bash";
            char down[] = "down";
            char dir_flag[] = "--dir";
            char* argv[] = {bash, stack_script, down, dir_flag, slot, nullptr};
            ::execve(bash, argv, environ);
            ::_exit(127);
        }
        if (pid > 0) {
            int st = 0;
            while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
            }
        }
    }
    // Dies when the handler returns (sig is blocked until then); if that cannot be arranged,
    // exits all the same.
    if (::signal(sig, SIG_DFL) == SIG_ERR || ::raise(sig) != 0) ::_exit(128 + sig);
}

fs::path temp_base() {
    const char* base = std::getenv("TMPDIR");
    return base && *base ? fs::path(base) : fs::path("/tmp");
}

// Stacks of earlier runs whose test program died without cleaning up (SIGKILL, a crash).
void remove_orphaned_stacks() {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(temp_base(), ec)) {
        const auto name = entry.path().filename().string();
        if (!name.starts_with("ps-cluster-") || !entry.is_directory(ec)) continue;
        auto owner = pid_from(entry.path() / "owner.pid");
        if (!owner || process_alive(*owner)) continue;
        std::cerr << "[cluster] cleaning up " << entry.path() << " left by pid " << *owner << "\n";
        stop_dir(entry.path());
        remove_dir(entry.path());
    }
}

}  // namespace

// ---- commands ---------------------------------------------------------------------------

CommandResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                  const std::vector<std::pair<std::string, std::string>>& env) {
    std::vector<std::string> env_strings;
    for (char** e = environ; e && *e; ++e)
        if (!std::string_view(*e).starts_with("PHOTOSHARE_")) env_strings.emplace_back(*e);
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<char*> args, envp;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    for (const auto& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    long max_fd = ::sysconf(_SC_OPEN_MAX);
    if (max_fd < 0 || max_fd > 65536) max_fd = 65536;
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork");
    if (pid == 0) {
        ::setpgid(0, 0);  // a group of its own, to kill it whole at the timeout
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int sig : {SIGINT, SIGTERM, SIGHUP})
            if (::signal(sig, SIG_DFL) == SIG_ERR) ::_exit(127);
        ::dup2(null_fd, 0);
        ::dup2(fds[1], 1);
        ::dup2(fds[1], 2);
        for (int fd = 3; fd < max_fd; ++fd) ::close(fd);  // no client socket of ours lives on in a server
        ::execvpe(args[0], args.data(), envp.data());
        ::_exit(127);
    }
    ::close(fds[1]);
    ::close(null_fd);
    CommandResult result;
    const auto deadline = Clock::now() + timeout;
    bool exited = false;
    bool eof = false;
    int status = 0;
    char buf[4096];
    for (;;) {
        int r = 0;
        if (!eof) {
            pollfd p{fds[0], POLLIN, 0};
            r = ::poll(&p, 1, 100);
            if (r > 0) {
                const ssize_t n = ::read(fds[0], buf, sizeof buf);
                if (n > 0) result.output.append(buf, static_cast<std::size_t>(n));
                else if (n == 0 || errno != EINTR) eof = true;
            }
        } else {
            std::this_thread::sleep_for(20ms);
        }
        if (!exited && ::waitpid(pid, &status, WNOHANG) == pid) exited = true;
        // Done when the command has exited and its output is read (a server it started in the
        // background may hold the pipe open: do not wait for that one's EOF).
        if (exited && (eof || r == 0)) break;
        if (Clock::now() >= deadline) {
            result.timed_out = true;
            ::kill(-pid, SIGKILL);
            ::kill(pid, SIGKILL);
            if (!exited) ::waitpid(pid, &status, 0);
            break;
        }
    }
    ::close(fds[0]);
    if (!result.timed_out && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    return result;
}

std::string source_dir() { return PHOTOSHARE_SOURCE_DIR; }

bool have_program(const std::string& name) {
    for (const char* dir : {"/usr/sbin", "/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"})
        if (::access((fs::path(dir) / name).c_str(), X_OK) == 0) return true;
    return run({"bash", "-c", "command -v " + name}, 10s).ok();
}

bool process_alive(pid_t pid) {
    if (pid <= 1) return false;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return false;
    // pid (comm) state ...: comm may hold spaces and parentheses; the state follows the last ')'.
    const auto close = line.rfind(')');
    if (close == std::string::npos || close + 2 >= line.size()) return false;
    const char state = line[close + 2];
    return state != 'Z' && state != 'X';
}

void install_cleanup() {
    const int n = std::snprintf(stack_script, kPathMax, "%s/scripts/stack", PHOTOSHARE_SOURCE_DIR);
    if (n < 0 || static_cast<std::size_t>(n) >= kPathMax) throw std::runtime_error("source directory name too long: " PHOTOSHARE_SOURCE_DIR);
    remove_orphaned_stacks();
    ::testing::AddGlobalTestEnvironment(new Cleanup);
    struct sigaction sa {};
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
}

// ---- a stack ----------------------------------------------------------------------------

fs::path make_registered_dir() {
    std::string templ = (temp_base() / "ps-cluster-XXXXXX").string();
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back(0);
    if (!::mkdtemp(buf.data())) throw std::runtime_error("mkdtemp " + templ + ": " + std::strerror(errno));
    fs::path dir = buf.data();
    // As root, PostgreSQL and MariaDB run as their own accounts, which must reach the directory.
    ::chmod(dir.c_str(), 0755);
    std::ofstream(dir / "owner.pid") << ::getpid() << "\n";
    register_dir(dir);
    return dir;
}

std::vector<std::string> release_dir(const fs::path& dir) {
    auto killed = kill_leftovers(dir);
    unregister_dir(dir);
    remove_dir(dir);
    return killed;
}

std::string render_nginx(int listen_port, const std::vector<int>& server_ports) {
    const auto text = read_text(fs::path(PHOTOSHARE_SOURCE_DIR) / "deploy" / "nginx" / "nginx.conf");
    std::istringstream in(text);
    std::string out, line;
    bool skipping = false;
    while (std::getline(in, line)) {
        if (line.find("# BEGIN servers") != std::string::npos) {
            out += line + "\n";
            for (int p : server_ports) out += "        server 127.0.0.1:" + std::to_string(p) + " max_fails=1 fail_timeout=2s;\n";
            skipping = true;
            continue;
        }
        if (line.find("# END servers") != std::string::npos) skipping = false;
        if (skipping) continue;
        if (auto at = line.find("listen 127.0.0.1:8000;"); at != std::string::npos)
            line.replace(at, std::string::npos, "listen 127.0.0.1:" + std::to_string(listen_port) + ";");
        out += line + "\n";
    }
    return out;
}

int pick_ports(int count) {
    static std::mutex mutex;
    static std::mt19937 rng(std::random_device{}());
    std::lock_guard lock(mutex);
    std::uniform_int_distribution<int> pick(1000, 1599);
    for (int attempt = 0; attempt < 200; ++attempt) {
        const int base = pick(rng) * 20;  // 20000..31980
        bool free = true;
        for (int p = base; p < base + count && free; ++p) free = port_free(p);
        if (free) return base;
    }
    throw std::runtime_error("no free range of ports");
}

Stack::Stack(StackOptions options) : options_(std::move(options)), dir_(make_registered_dir()) {
    // HAProxy (P, P+1), the database (P+2), cache nodes (P+3..5), s3rver (P+6), web-N (P+10+N).
    port_ = pick_ports(11 + options_.servers);
}

Stack::~Stack() {
    // Nothing may leave a destructor: what fails here is a test failure, and the clean-up goes on.
    try {
        down();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "scripts/stack down in " << dir_ << ": " << e.what();
    }
    try {
        const auto leftovers = kill_leftovers(dir_);
        if (!leftovers.empty()) {
            std::string names;
            for (const auto& n : leftovers) names += " " + n;
            ADD_FAILURE() << "scripts/stack down left processes running in " << dir_ << ":" << names;
        }
        release_dir(dir_);
    } catch (const std::exception& e) {
        ADD_FAILURE() << "cleaning up " << dir_ << ": " << e.what();
    }
}

CommandResult Stack::stack(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
    std::vector<std::string> argv{"bash", source_dir() + "/scripts/stack"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.emplace_back("--dir");
    argv.push_back(dir_.string());
    return run(argv, timeout, {{"PHOTOSHARE_BINARY", itest::server_binary()}});
}

std::vector<std::string> Stack::up_args() const {
    std::vector<std::string> args{"up",      "--level", std::to_string(options_.level), "--servers", std::to_string(options_.servers),
                                  "--db",    options_.db, "--cache", options_.cache, "--storage", options_.storage,
                                  "--serve", options_.serve, "--port", std::to_string(port_)};
    for (const auto& s : options_.sets) {
        args.emplace_back("--set");
        args.push_back(s);
    }
    return args;
}

void Stack::up() {
    auto res = stack(up_args(), 240s);
    if (!res.ok())
        throw std::runtime_error("scripts/stack up failed (exit " + std::to_string(res.exit_code) + (res.timed_out ? ", timed out" : "") +
                                 "):\n" + res.output + "\n" + logs());
}

CommandResult Stack::down() {
    if (!fs::exists(dir_ / "stack.conf")) return {0, false, ""};
    return stack({"down"}, 120s);
}

std::string Stack::url() const { return "http://127.0.0.1:" + std::to_string(port_); }
std::string Stack::server_url(int n) const { return "http://127.0.0.1:" + std::to_string(server_port(n)); }
std::string Stack::s3_url() const { return "http://127.0.0.1:" + std::to_string(s3_port()); }

pid_t Stack::server_pid(int n) const { return pid_from(dir_ / ("web-" + std::to_string(n) + ".pid")).value_or(-1); }

std::string Stack::server_log(int n) const { return read_text(dir_ / ("web-" + std::to_string(n) + ".log")); }

std::string Stack::admin_token() const {
    auto t = read_text(dir_ / "admin.token");
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    return t;
}

std::string Stack::haproxy_api(const std::string& command) const {
    const auto path = (dir_ / "haproxy.sock").string();
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return {};
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const int length = std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    std::string out;
    if (length > 0 && static_cast<std::size_t>(length) < sizeof addr.sun_path &&
        ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        const std::string line = command + "\n";
        if (::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size())) {
            char buf[4096];
            for (;;) {
                pollfd p{fd, POLLIN, 0};
                if (::poll(&p, 1, 2000) <= 0) break;
                const ssize_t n = ::read(fd, buf, sizeof buf);
                if (n <= 0) break;
                out.append(buf, static_cast<std::size_t>(n));
            }
        }
    }
    ::close(fd);
    return out;
}

std::map<std::string, int> Stack::haproxy_states() const {
    // "be_id be_name srv_id srv_name srv_addr srv_op_state ..." after a version line and a header.
    std::map<std::string, int> states;
    std::istringstream in(haproxy_api("show servers state photoshare"));
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        std::vector<std::string> f;
        for (std::string w; fields >> w;) f.push_back(w);
        if (f.size() <= 5) continue;
        int state = 0;
        const char* end = f[5].data() + f[5].size();
        if (const auto parsed = std::from_chars(f[5].data(), end, state); parsed.ec == std::errc() && parsed.ptr == end) states[f[3]] = state;
    }
    return states;
}

bool Stack::wait_all_in_rotation(std::chrono::milliseconds timeout) const {
    return itest::eventually(
        [&] {
            auto states = haproxy_states();
            for (int n = 1; n <= options_.servers; ++n) {
                auto it = states.find(server_name(n));
                if (it == states.end() || it->second != 2) return false;
            }
            return true;
        },
        timeout);
}

void Stack::ensure_all_servers_up() {
    for (int n = 1; n <= options_.servers; ++n) {
        if (process_alive(server_pid(n))) continue;
        auto res = stack({"start", server_name(n)});
        ASSERT_TRUE(res.ok()) << "scripts/stack start " << server_name(n) << ":\n" << res.output;
    }
    ASSERT_TRUE(wait_all_in_rotation()) << "HAProxy does not use every server:\n" << haproxy_api("show servers state photoshare");
    // Every backend answering each server (not "degraded"): a cache server that came back a
    // moment ago may still be marked down in a server for a second.
    for (int n = 1; n <= options_.servers; ++n) {
        itest::HttpClient c(server_url(n));
        std::string body;
        ASSERT_TRUE(itest::eventually(
            [&] {
                body = c.get("/readyz").body;
                return body.find("\"status\":\"ready\"") != std::string::npos;
            },
            15s))
            << server_name(n) << " is not ready: " << body;
    }
}

std::string Stack::logs() const {
    std::string out;
    auto add = [&](const fs::path& file, std::size_t lines) {
        if (!fs::exists(file)) return;
        out += "---- " + file.string() + " (end) ----\n" + tail_lines(read_text(file), lines);
        if (!out.empty() && out.back() != '\n') out += '\n';
    };
    for (int n = 1; n <= options_.servers; ++n) add(dir_ / ("web-" + std::to_string(n) + ".log"), 15);
    add(dir_ / "haproxy.log", 15);
    add(dir_ / "postgres" / "postgres.log", 15);
    add(dir_ / "mariadb" / "mysqld.log", 15);
    for (int n = 1; n <= 3; ++n) add(dir_ / ("memcached-" + std::to_string(n)) / "memcached.log", 5);
    add(dir_ / "redis" / "redis.log", 10);
    add(dir_ / "s3rver" / "s3rver.log", 15);
    return out;
}

// ---- load -------------------------------------------------------------------------------

Load::Load(std::string base_url, std::vector<std::string> paths, int threads, std::chrono::milliseconds timeout)
    : base_(std::move(base_url)), paths_(std::move(paths)), timeout_(timeout), start_(Clock::now()) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this, i] { run(i); });
}

Load::~Load() { stop(); }

void Load::stop() {
    stop_ = true;
    for (auto& t : threads_)
        if (t.joinable()) t.join();
}

void Load::run(int index) {
    itest::HttpClient client(base_);
    client.set_timeout(timeout_);
    for (std::size_t i = static_cast<std::size_t>(index); !stop_; ++i) {
        const auto& path = paths_[i % paths_.size()];
        auto res = client.get(path);
        total_++;
        const double at = std::chrono::duration<double>(Clock::now() - start_).count();
        std::lock_guard lock(mutex_);
        max_seconds_ = std::max(max_seconds_, res.seconds);
        if (res.status == 200) {
            ok_++;
            served_by_[served_by_name(res)]++;
        } else {
            failures_.push_back({path, res.status, res.status ? res.body.substr(0, 200) : res.error, at});
        }
    }
}

std::vector<Load::Failure> Load::failures() const {
    std::lock_guard lock(mutex_);
    return failures_;
}

double Load::max_seconds() const {
    std::lock_guard lock(mutex_);
    return max_seconds_;
}

std::map<std::string, int> Load::served_by() const {
    std::lock_guard lock(mutex_);
    return served_by_;
}

std::string Load::summary() const {
    std::lock_guard lock(mutex_);
    std::ostringstream s;
    s << total_.load() << " requests, " << ok_.load() << " answered 200, " << failures_.size() << " not; slowest " << max_seconds_ << " s; served by";
    for (const auto& [name, n] : served_by_) s << " " << name << "=" << n;
    for (std::size_t i = 0; i < failures_.size() && i < 10; ++i)
        s << "\n  at " << failures_[i].at_seconds << " s: GET " << failures_[i].path << " -> " << failures_[i].status << " " << failures_[i].what;
    return s.str();
}

// ---- small things -----------------------------------------------------------------------

std::string served_by_name(const itest::Response& res) {
    auto v = res.header("X-Served-By");
    return v.substr(0, v.find(' '));
}

double metric(const std::string& text, const std::string& name, const std::vector<std::string>& label_parts) {
    double sum = 0;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        const auto name_end = line.find_first_of("{ ");
        if (name_end == std::string::npos || line.substr(0, name_end) != name) continue;
        std::string labels;
        auto value_start = name_end;
        if (line[name_end] == '{') {
            const auto close = line.find('}', name_end);
            if (close == std::string::npos) continue;
            labels = line.substr(name_end, close - name_end + 1);
            value_start = close + 1;
        }
        if (!std::all_of(label_parts.begin(), label_parts.end(), [&](const auto& p) { return labels.find(p) != std::string::npos; })) continue;
        sum += std::strtod(line.c_str() + value_start, nullptr);
    }
    return sum;
}

}  // namespace cluster
