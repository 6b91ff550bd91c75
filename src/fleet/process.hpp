// Child processes of the fleet: HAProxy and the photoshare servers. Each runs in a session of
// its own (a Ctrl-C in the terminal reaches the fleet only, which then stops them in order)
// and gets SIGTERM if the thread that started it dies, so a fleet killed with -9 leaves
// nothing behind.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace photoshare::fleet {

struct SpawnOptions {
    std::vector<std::string> argv;  // argv[0] is the program (a path, or a name looked up in PATH)
    std::vector<std::pair<std::string, std::string>> env;  // added to (or replacing in) the fleet's environment
    std::filesystem::path log;      // stdout and stderr are appended here
};

// The environment a child gets: `environment` (NAME=value entries, null-terminated) without
// the names `env` sets, then `env`.
std::vector<std::string> child_environment(char** environment, const std::vector<std::pair<std::string, std::string>>& env);

// Starts the process; throws std::runtime_error when it cannot (the program not found is
// reported by the child as exit status 127).
pid_t spawn(const SpawnOptions& options);

// How a child ended, once it has.
struct ExitStatus {
    bool exited = false;  // false: killed by a signal
    int code = 0;         // exit code, or the signal number
    std::string describe() const;  // "exit 0", "killed by signal 9 (SIGKILL)"
};
// Non-blocking: the status if `pid` has ended (and reaps it), nullopt while it runs.
std::optional<ExitStatus> try_reap(pid_t pid);
// Waits up to `timeout` for it to end.
std::optional<ExitStatus> wait_for_exit(pid_t pid, std::chrono::milliseconds timeout);

void send_signal(pid_t pid, int sig);

// CPU time (user + system) a process has used so far, from /proc; nullopt when unknown.
std::optional<std::chrono::microseconds> cpu_time(pid_t pid);

// The path of the running executable.
std::string self_executable();

}  // namespace photoshare::fleet
