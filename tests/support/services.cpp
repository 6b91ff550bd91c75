#include "services.hpp"

#include "files.hpp"
#include "ports.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace pstest {

namespace {

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

// What scripts/lib/NAME.sh makes of DIR.
struct Kind {
    const char* name;
    const char* program;  // checked for before a start; nullptr: the script looks for it
    const char* pid_file;
    const char* log_file;
};
constexpr Kind kinds[] = {
    {"postgres", nullptr, "data/postmaster.pid", "postgres.log"},
    {"mariadb", nullptr, "mysqld.pid", "mysqld.log"},
    {"memcached", "memcached", "pid", "memcached.log"},
    {"redis", "redis-server", "redis.pid", "redis.log"},
    {"s3rver", "node", "s3rver.pid", "s3rver.log"},
};

const Kind& kind_of(const std::string& name) {
    for (const Kind& kind : kinds)
        if (name == kind.name) return kind;
    throw std::invalid_argument("scripts/service knows no service '" + name + "'");
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
    for (const Kind& kind : kinds)
        if (std::string_view(kind.name) != "memcached") out.emplace_back(kind.name, dir / kind.name / kind.pid_file);
    return out;
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

// Stacks of earlier runs whose test program died without cleaning up (SIGKILL, a crash).
void remove_orphaned_stacks() {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(temp_base(), ec)) {
        const auto name = entry.path().filename().string();
        if (!name.starts_with("ps-cluster-") || !entry.is_directory(ec)) continue;
        auto owner = pid_in_file(entry.path() / "owner.pid");
        if (!owner || process_alive(*owner)) continue;
        std::cerr << "[cluster] cleaning up " << entry.path() << " left by pid " << *owner << "\n";
        stop_dir(entry.path());
        remove_dir(entry.path());
    }
}

}  // namespace

std::vector<std::string> kill_leftovers(const fs::path& dir) {
    std::vector<std::string> killed;
    for (const auto& [name, file] : pid_files(dir)) {
        auto pid = pid_in_file(file);
        if (pid && process_alive(*pid)) {
            if (name == "nginx") {
                // Its workers outlive a SIGKILLed master: SIGTERM, which takes them along.
                ::kill(*pid, SIGTERM);
                eventually([&] { return !process_alive(*pid); }, 5s);
            }
            ::kill(*pid, SIGKILL);
            killed.push_back(name + " (pid " + std::to_string(*pid) + ")");
        }
    }
    return killed;
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

CommandResult service_script(const std::vector<std::string>& args, std::chrono::milliseconds timeout, const Env& env) {
    std::vector<std::string> argv{"bash", source_dir() + "/scripts/service"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, timeout, env);
}

// ---- services ---------------------------------------------------------------------------

namespace {

// Every Service, so that those still running when the tests end (the ones a program shares
// between its tests) are stopped while a failure to stop can still fail a test.
std::mutex services_mutex;
std::vector<Service*>& services() {
    static auto* all = new std::vector<Service*>;  // never destroyed: used by destructors of statics
    return *all;
}

class StopServices : public ::testing::Environment {
public:
    void TearDown() override {
        std::vector<Service*> left;
        {
            std::lock_guard lock(services_mutex);
            left = services();
        }
        for (Service* service : left) service->stop();
    }
};
[[maybe_unused]] const auto* const stop_services = ::testing::AddGlobalTestEnvironment(new StopServices);

// In a forked child, before exec: none of the test program's descriptors (database sockets
// above all) may leak into a process that outlives it.
void close_inherited_descriptors() {
    const long most = ::sysconf(_SC_OPEN_MAX);
    for (int fd = 3; fd < (most > 0 ? most : 1024); ++fd) ::close(fd);
}

// The watcher of a Service: a shell in a session of its own that waits for the pipe it reads
// to close (when the Service goes, or when this program dies any way at all), then stops the
// service and removes its directory. flock: it waits for a start that may still be running,
// so that the server that start launches is stopped too. Returns the pid; *pipe_out is the
// pipe's end to close.
pid_t start_watcher(const std::string& name, const fs::path& base, const fs::path& dir, int* pipe_out) {
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
    const std::string script = source_dir() + "/scripts/service";
    const std::string base_text = base.string(), dir_text = dir.string();
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int e = errno;
        ::close(ends[0]);
        ::close(ends[1]);
        throw std::runtime_error(std::string("fork: ") + std::strerror(e));
    }
    if (pid == 0) {
        ::setsid();
        ::dup2(ends[0], 0);
        const int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, 1);
        ::dup2(null, 2);
        close_inherited_descriptors();
        ::execl("/bin/sh", "sh", "-c",
                R"(cat >/dev/null; [ -d "$2" ] || exit 0; flock --close "$2/service.lock" bash "$0" stop "$1" "$3"; )"
                R"(case ${CLUSTER_KEEP_DIRS:-0} in 0) rm -rf "$2" ;; esac)",
                script.c_str(), name.c_str(), base_text.c_str(), dir_text.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(ends[0]);
    *pipe_out = ends[1];
    return pid;
}

// The processes whose parent is `parent`.
std::vector<pid_t> children_of(pid_t parent) {
    std::vector<pid_t> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        std::getline(stat, line);
        const auto close_paren = line.rfind(')');
        if (close_paren == std::string::npos || close_paren + 2 >= line.size()) continue;
        std::istringstream fields(line.substr(close_paren + 2));
        std::string state;
        long ppid = 0;
        fields >> state >> ppid;
        if (ppid == parent) out.push_back(static_cast<pid_t>(std::stol(name)));
    }
    return out;
}

// True once every thread of pid is stopped (or pid is gone): SIGSTOP takes effect as each
// thread next enters the kernel.
bool all_threads_stopped(pid_t pid) {
    std::error_code ec;
    const fs::path tasks = "/proc/" + std::to_string(pid) + "/task";
    if (!fs::exists(tasks, ec)) return true;
    for (const auto& task : fs::directory_iterator(tasks, ec)) {
        std::ifstream stat(task.path() / "stat");
        std::string line;
        if (!std::getline(stat, line)) continue;  // the thread ended
        const auto close_paren = line.rfind(')');
        if (close_paren == std::string::npos || close_paren + 2 >= line.size() || line[close_paren + 2] != 'T') return false;
    }
    return !ec || !fs::exists(tasks);
}

}  // namespace

Service::Service(std::string name, ServiceOptions options)
    : name_(std::move(name)), options_(std::move(options)) {
    kind_of(name_);
    base_ = make_registered_dir();
    try {
        watcher_ = start_watcher(name_, base_, dir(), &watcher_pipe_);
    } catch (...) {
        release_dir(base_);
        throw;
    }
    {
        std::lock_guard lock(services_mutex);
        services().push_back(this);
    }
    if (options_.start) {
        try {
            start();
        } catch (...) {
            release();  // a constructor that throws gets no destructor call
            throw;
        }
    }
}

Service::~Service() { release(); }

void Service::release() {
    stop();
    {
        std::lock_guard lock(services_mutex);
        std::erase(services(), this);
    }
    release_dir(base_);
    if (watcher_pipe_ >= 0) ::close(watcher_pipe_);
    watcher_pipe_ = -1;
    int status = 0;
    while (watcher_ > 0 && ::waitpid(watcher_, &status, 0) < 0 && errno == EINTR) {
    }
    watcher_ = -1;
}

fs::path Service::dir() const { return base_ / (name_ == "memcached" ? "memcached-1" : name_); }

std::string Service::log() const {
    std::ifstream in(dir() / kind_of(name_).log_file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

CommandResult Service::service(const std::string& action, bool with_port) const {
    // Under the directory's lock, which the watcher takes too. --close: the server the script
    // starts must not inherit (and so hold) the lock.
    std::vector<std::string> argv{"flock", "--close", (base_ / "service.lock").string(), "bash", source_dir() + "/scripts/service",
                                  action, name_, dir().string()};
    if (with_port) argv.push_back(std::to_string(port_));
    Env env;
    if (!options_.redis_password.empty()) env.emplace_back("REDIS_PASSWORD", options_.redis_password);
    return run(argv, 5min, env);
}

std::string Service::start() {
    if (const char* program = kind_of(name_).program; program && !have_program(program)) {
        throw std::runtime_error(std::string(program) + " is not installed: the tests start a real " + name_ +
                                 " (scripts/setup --tests installs it)");
    }
    std::string output;
    // A port found free may be taken before the server binds it: a first start tries a few.
    for (int attempt = 0; attempt < 3; ++attempt) {
        const bool first = port_ == 0;
        if (first) port_ = pick_ports(1);
        const CommandResult res = service("start", true);
        if (res.ok()) {
            // The URL is the last line (npm may have spoken before it).
            std::string out = res.output;
            while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
            url_ = out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
            running_ = true;
            return url_;
        }
        output = res.output;
        if (!first) break;  // a restart must keep its port
        port_ = 0;
        if (contains(output, "not installed") || contains(output, "not found") || contains(output, "unknown service")) break;
    }
    throw std::runtime_error("scripts/service start " + name_ + " failed:\n" + output);
}

void Service::stop() {
    if (!running_) return;
    thaw();  // a stopped process would not see SIGTERM until continued
    const CommandResult res = service("stop", false);
    running_ = false;
    if (!res.ok()) ADD_FAILURE() << "scripts/service stop " << name_ << ":\n" << res.output;
}

std::vector<pid_t> Service::pids() const {
    std::vector<pid_t> out;
    const auto main = pid_in_file(dir() / kind_of(name_).pid_file);
    if (!main || !process_alive(*main)) return out;
    out.push_back(*main);
    // PostgreSQL: a process per session and per background task, children of the postmaster.
    for (const pid_t child : children_of(*main)) out.push_back(child);
    return out;
}

void Service::kill() {
    for (const pid_t pid : pids()) {
        ::kill(pid, SIGKILL);
        if (!eventually([&] { return !process_alive(pid); }, 2s)) ADD_FAILURE() << name_ << " (pid " << pid << ") survived SIGKILL";
    }
    running_ = true;  // so that stop() removes the pid file of the dead process
    stop();
}

void Service::freeze() {
    const auto all = pids();
    if (all.empty()) throw std::runtime_error(name_ + " has no running process in " + dir().string());
    for (const pid_t pid : all)
        if (::kill(pid, SIGSTOP) != 0) throw std::runtime_error("cannot stop " + name_ + " (pid " + std::to_string(pid) + ")");
    const bool stopped = eventually([&] { return std::all_of(all.begin(), all.end(), all_threads_stopped); }, 2s);
    if (!stopped) throw std::runtime_error(name_ + " did not stop on SIGSTOP");
}

void Service::thaw() {
    for (const pid_t pid : pids()) ::kill(pid, SIGCONT);
}

}  // namespace pstest
