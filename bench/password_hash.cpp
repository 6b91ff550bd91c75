// The reference for logins (docs/PERFORMANCE.md, written by bench/run): argon2id
// verifications a second with the server's own code and parameters (auth::verify_password;
// libsodium; the defaults of auth::PasswordParams unless given), by N threads at once, as
// many as there are concurrent logins in bench/run's login case. A login cannot be faster
// than one verification; logins/s ÷ verifications/s is what HTTP, the session row and the
// database add.
//
//   password_hash [--threads N] [--seconds S] [--memory-kib M] [--iterations T]
//
// Prints one line:
//   threads N: R verifications/s, median L ms, m=M KiB t=T p=1, V verifications in W s
// Plain threads rather than Google Benchmark: the rate is all threads' verifications over
// the wall time, without a framework's per-thread accounting to interpret.
#include "auth/password.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace photoshare::auth;
using Clock = std::chrono::steady_clock;

}  // namespace

int main(int argc, char** argv) try {
    int threads = 1;
    double seconds = 3;
    PasswordParams params;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (i + 1 >= argc) throw std::runtime_error(arg + " needs a value");
        const std::string value = argv[++i];
        if (arg == "--threads") threads = std::stoi(value);
        else if (arg == "--seconds") seconds = std::stod(value);
        else if (arg == "--memory-kib") params.memory_kib = static_cast<std::uint32_t>(std::stoul(value));
        else if (arg == "--iterations") params.iterations = static_cast<std::uint32_t>(std::stoul(value));
        else throw std::runtime_error("unknown argument " + arg);
    }
    const std::string phc = hash_password("correct horse battery", params);  // once, before timing
    if (!verify_password("correct horse battery", phc)) throw std::runtime_error("verification failed");

    const auto start = Clock::now();
    const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    std::vector<std::vector<double>> latencies(static_cast<std::size_t>(threads));
    std::atomic<bool> failed{false};
    std::vector<std::thread> workers;
    workers.reserve(static_cast<std::size_t>(threads));
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            auto& mine = latencies[static_cast<std::size_t>(t)];
            while (Clock::now() < deadline) {
                const auto begin = Clock::now();
                if (!verify_password("correct horse battery", phc)) failed = true;
                mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - begin).count());
            }
        });
    }
    for (auto& w : workers) w.join();
    const double wall = std::chrono::duration<double>(Clock::now() - start).count();
    if (failed) throw std::runtime_error("a verification failed");

    std::vector<double> all;
    for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    std::sort(all.begin(), all.end());
    const double median = all.empty() ? 0 : (all.size() % 2 ? all[all.size() / 2] : (all[all.size() / 2 - 1] + all[all.size() / 2]) / 2);
    std::printf("threads %d: %.2f verifications/s, median %.2f ms, m=%u KiB t=%u p=1, %zu verifications in %.2f s\n", threads,
                static_cast<double>(all.size()) / wall, median, params.memory_kib, params.iterations, all.size(), wall);
    return 0;
} catch (const std::exception& e) {
    (void)std::fprintf(stderr, "password_hash: %s\n", e.what());
    return 1;
}
