// Child processes: the one way the tests start a program (spawn, to run alongside; run, to
// completion with its output), the one command-result type, and what /proc tells of a process.
#pragma once

#include "common.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace pstest {

struct ExitStatus {
    bool exited = false;  // normal exit (code is valid)
    int code = -1;
    int signal = 0;  // killed by this signal
    bool ok() const { return exited && code == 0; }
    std::string describe() const;
};

// What running a command to completion gave.
struct CommandResult {
    ExitStatus status;
    bool timed_out = false;  // killed (with its process group) at the timeout
    std::string output;      // stdout and stderr together
    bool ok() const { return !timed_out && status.ok(); }
    // The exit code; -1 if it was killed by a signal or timed out.
    int exit_code() const { return !timed_out && status.exited ? status.code : -1; }
};

// Starts argv (argv[0] looked up in PATH unless it holds a '/'), stdin from /dev/null, stdout
// and stderr appended to `output`. The environment is ours minus PHOTOSHARE_*, plus env. The
// child gets none of our descriptors and is killed (SIGKILL) if the thread that started it
// dies. Throws std::runtime_error if it cannot fork.
pid_t spawn(const std::vector<std::string>& argv, const Env& env, const fs::path& output);

// Waits for a child's exit; nullopt if it is still running at the timeout. A pid that is not
// (or no more) our child gives an ExitStatus of "unknown status".
std::optional<ExitStatus> wait_for(pid_t pid, std::chrono::milliseconds timeout);

// Runs argv (as spawn does, in a process group of its own) to completion; killed with its
// group after timeout. A background process it leaves holding its output does not keep run
// waiting.
CommandResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout, const Env& env = {});

// The pid a pid file names; nullopt if there is none (or it names no ordinary process).
std::optional<pid_t> pid_in_file(const fs::path& file);

bool have_program(const std::string& name);  // on PATH, or in /usr/sbin, /sbin
bool process_alive(pid_t pid);               // running, not a zombie

// Resident set of a process, now and at its peak (VmRSS, VmHWM), in KiB; 0 if unknown.
std::uint64_t rss_kib(pid_t pid);
std::uint64_t peak_rss_kib(pid_t pid);

// Raises this process's soft RLIMIT_NOFILE towards `wanted` (never above the hard limit);
// returns the soft limit in force afterwards. Child processes (servers) inherit it.
std::size_t raise_open_files_limit(std::size_t wanted);

}  // namespace pstest
