#include "process.hpp"

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <stdexcept>
#include <string_view>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace pstest {

namespace {

// Ours minus PHOTOSHARE_* (ours to choose, not the caller's), plus env.
std::vector<std::string> child_environment(const Env& env) {
    std::vector<std::string> out;
    for (char** e = environ; e && *e; ++e)
        if (!std::string_view(*e).starts_with("PHOTOSHARE_")) out.emplace_back(*e);
    for (const auto& [k, v] : env) out.push_back(k + "=" + v);
    return out;
}

std::vector<char*> pointers(const std::vector<std::string>& strings) {
    std::vector<char*> out;
    for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
    out.push_back(nullptr);
    return out;
}

// Forks a child with stdin from /dev/null and stdout and stderr on out_fd, and execs argv.
pid_t fork_exec(const std::vector<std::string>& argv, const Env& env, int out_fd, bool own_group) {
    const auto env_strings = child_environment(env);
    auto args = pointers(argv);
    auto envp = pointers(env_strings);
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    long max_fd = ::sysconf(_SC_OPEN_MAX);
    if (max_fd < 0 || max_fd > 65536) max_fd = 65536;
    const pid_t parent = ::getpid();

    const pid_t pid = ::fork();
    if (pid < 0) {
        const int e = errno;
        if (null_fd >= 0) ::close(null_fd);
        throw std::runtime_error(std::string("fork: ") + std::strerror(e));
    }
    if (pid == 0) {
        // Only async-signal-safe calls from here on.
        if (own_group) ::setpgid(0, 0);      // a group of its own, to kill it whole at the timeout
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a test runner that dies
        if (::getppid() != parent) ::_exit(127);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int sig : {SIGINT, SIGTERM, SIGHUP})
            if (::signal(sig, SIG_DFL) == SIG_ERR) ::_exit(127);
        ::dup2(null_fd, 0);
        ::dup2(out_fd, 1);
        ::dup2(out_fd, 2);
        // Client sockets of the test must not live on in a server.
        for (int fd = 3; fd < max_fd; ++fd) ::close(fd);
        ::execvpe(args[0], args.data(), envp.data());
        ::_exit(127);
    }
    if (null_fd >= 0) ::close(null_fd);
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

std::uint64_t proc_status_kib(pid_t pid, std::string_view key) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with(key) && line.size() > key.size() && line[key.size()] == ':')
            return std::strtoull(line.c_str() + key.size() + 1, nullptr, 10);
    return 0;
}

}  // namespace

std::string ExitStatus::describe() const {
    if (exited) return "exit code " + std::to_string(code);
    if (signal) return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
    return "unknown status";
}

pid_t spawn(const std::vector<std::string>& argv, const Env& env, const fs::path& output) {
    const int out_fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out_fd < 0) throw std::runtime_error("cannot open " + output.string() + ": " + std::strerror(errno));
    try {
        const pid_t pid = fork_exec(argv, env, out_fd, false);
        ::close(out_fd);
        return pid;
    } catch (...) {
        ::close(out_fd);
        throw;
    }
}

std::optional<ExitStatus> wait_for(pid_t pid, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        int st = 0;
        const pid_t r = ::waitpid(pid, &st, WNOHANG);
        if (r == pid) return decode_status(st);
        if (r < 0 && errno != EINTR) return ExitStatus{};  // not our child any more
        if (Clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(10ms);
    }
}

CommandResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout, const Env& env) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    pid_t pid = -1;
    try {
        pid = fork_exec(argv, env, fds[1], true);
    } catch (...) {
        ::close(fds[0]);
        ::close(fds[1]);
        throw;
    }
    ::close(fds[1]);
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
    result.status = decode_status(status);
    return result;
}

std::optional<pid_t> pid_in_file(const fs::path& file) {
    std::ifstream in(file);
    long pid = 0;
    if (!(in >> pid) || pid <= 1) return std::nullopt;
    return static_cast<pid_t>(pid);
}

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

std::uint64_t rss_kib(pid_t pid) { return proc_status_kib(pid, "VmRSS"); }
std::uint64_t peak_rss_kib(pid_t pid) { return proc_status_kib(pid, "VmHWM"); }

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

}  // namespace pstest
