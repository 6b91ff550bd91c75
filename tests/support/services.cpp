#include "services.hpp"

#include "files.hpp"
#include "ports.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
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

Service::Service(std::string name)
    : name_(std::move(name)), base_(make_registered_dir()), port_(pick_ports(1)) {
    auto res = service("url", true);
    if (!res.ok()) throw std::runtime_error("scripts/service url " + name_ + ":\n" + res.output);
    url_ = res.output;
    while (!url_.empty() && (url_.back() == '\n' || url_.back() == '\r')) url_.pop_back();
    url_ = url_.substr(url_.rfind('\n') == std::string::npos ? 0 : url_.rfind('\n') + 1);
    start();
}

Service::~Service() {
    stop();
    release_dir(base_);
}

fs::path Service::dir() const { return base_ / (name_ == "memcached" ? "memcached-1" : name_); }

CommandResult Service::service(const std::string& action, bool with_port) {
    std::vector<std::string> args{action, name_, dir().string()};
    if (with_port) args.push_back(std::to_string(port_));
    return service_script(args);
}

void Service::start() {
    auto res = service("start", true);
    if (!res.ok()) throw std::runtime_error("scripts/service start " + name_ + " failed:\n" + res.output);
}

void Service::stop() {
    auto res = service("stop", false);
    if (!res.ok()) ADD_FAILURE() << "scripts/service stop " << name_ << ":\n" << res.output;
}

void Service::kill() {
    for (const char* file : {"pid", "redis.pid"}) {
        std::ifstream in(dir() / file);
        pid_t pid = 0;
        if (!(in >> pid) || pid <= 0) continue;
        ::kill(pid, SIGKILL);
        for (int i = 0; i < 200 && process_alive(pid); ++i) std::this_thread::sleep_for(10ms);
        if (process_alive(pid)) ADD_FAILURE() << name_ << " (pid " << pid << ") survived SIGKILL";
    }
    stop();  // removes the pid file of the dead process
}

}  // namespace pstest
