#include "fleet/process.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace photoshare::fleet {

namespace {

std::string find_program(const std::string& name) {
    if (name.find('/') != std::string::npos) return name;
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
    dirs += ":/usr/sbin:/sbin";  // haproxy lives in /usr/sbin, often not in a user's PATH
    std::stringstream in(dirs);
    std::string dir;
    while (std::getline(in, dir, ':')) {
        if (dir.empty()) continue;
        auto candidate = fmt::format("{}/{}", dir, name);
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return name;  // execve fails: the child exits 127
}

}  // namespace

std::vector<std::string> child_environment(char** environment, const std::vector<std::pair<std::string, std::string>>& env) {
    std::vector<std::string> out;
    for (char** e = environment; *e; ++e) {
        std::string_view entry(*e);
        auto eq = entry.find('=');
        bool replaced = false;
        for (const auto& [k, v] : env)
            if (entry.substr(0, eq) == k) replaced = true;
        if (!replaced) out.emplace_back(entry);
    }
    for (const auto& [k, v] : env) out.push_back(fmt::format("{}={}", k, v));
    return out;
}

pid_t spawn(const SpawnOptions& o) {
    if (o.argv.empty()) throw std::invalid_argument("spawn: no program");
    // Everything the child needs is built before fork: after it, only async-signal-safe calls.
    const std::string program = find_program(o.argv[0]);
    auto env_strings = child_environment(environ, o.env);
    std::vector<char*> argv, envp;
    for (const auto& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);

    int log_fd = ::open(o.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (log_fd < 0) throw std::runtime_error(fmt::format("cannot open {}: {}", o.log.string(), std::generic_category().message(errno)));
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    const pid_t parent = ::getpid();

    pid_t pid = ::fork();
    if (pid < 0) {
        int err = errno;
        ::close(log_fd);
        if (null_fd >= 0) ::close(null_fd);
        throw std::runtime_error("fork: " + std::generic_category().message(err));
    }
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() != parent) ::_exit(1);  // the fleet died before prctl
        ::setsid();
        if (null_fd >= 0) ::dup2(null_fd, 0);
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
        ::close_range(3, ~0U, 0);
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD}) ::sigaction(sig, &dfl, nullptr);
        sigset_t none;
        sigemptyset(&none);
        ::pthread_sigmask(SIG_SETMASK, &none, nullptr);
        ::execve(program.c_str(), argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    return pid;
}

std::string ExitStatus::describe() const {
    if (exited) return fmt::format("exit {}", code);
    const char* name = code == SIGKILL ? "SIGKILL" : code == SIGTERM ? "SIGTERM" : code == SIGSEGV ? "SIGSEGV" : code == SIGABRT ? "SIGABRT" : code == SIGINT ? "SIGINT" : nullptr;
    return name ? fmt::format("killed by signal {} ({})", code, name) : fmt::format("killed by signal {}", code);
}

std::optional<ExitStatus> try_reap(pid_t pid) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == 0) return std::nullopt;
    if (r < 0) return ExitStatus{true, -1};  // not our child (already reaped)
    if (WIFEXITED(status)) return ExitStatus{true, WEXITSTATUS(status)};
    if (WIFSIGNALED(status)) return ExitStatus{false, WTERMSIG(status)};
    return std::nullopt;
}

std::optional<ExitStatus> wait_for_exit(pid_t pid, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (auto s = try_reap(pid)) return s;
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

void send_signal(pid_t pid, int sig) {
    if (pid > 0) ::kill(pid, sig);
}

std::optional<std::chrono::microseconds> cpu_time(pid_t pid) {
    std::ifstream in(fmt::format("/proc/{}/stat", pid));
    std::string text;
    if (!std::getline(in, text)) return std::nullopt;
    auto close = text.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream fields(text.substr(close + 2));
    std::string f;
    unsigned long long utime = 0, stime = 0;
    for (int i = 0; i < 13 && fields >> f; ++i) {
        if (i == 11) utime = std::stoull(f);
        if (i == 12) stime = std::stoull(f);
    }
    static const long ticks = ::sysconf(_SC_CLK_TCK);
    return std::chrono::microseconds(static_cast<long long>((utime + stime) * 1'000'000ULL / static_cast<unsigned long long>(ticks)));
}

std::string self_executable() {
    std::error_code ec;
    auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::string("photoshare") : p.string();
}

}  // namespace photoshare::fleet
