#include "app/knobs.hpp"

#include "codec/sha256.hpp"

#include <chrono>
#include <ctime>
#include <string>

namespace photoshare::app {

namespace {
std::chrono::nanoseconds thread_cpu_time() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}
}  // namespace

void burn_cpu(std::uint64_t ms) {
    // Thread CPU time, not wall time: under load the work takes longer to finish, which
    // is the point of the knob.
    const auto until = thread_cpu_time() + std::chrono::milliseconds(ms);
    std::string state = "photoshare";
    while (thread_cpu_time() < until) {
        for (int i = 0; i < 64; ++i) state = codec::sha256_hex(state);
    }
}

asio::awaitable<void> Knobs::apply(http::Workers& workers) {
    const auto cpu = cpu_ms.load(std::memory_order_relaxed);
    const auto delay = latency_ms.load(std::memory_order_relaxed);
    if (cpu == 0 && delay == 0) co_return;
    auto permit = co_await slots.hold();
    if (cpu) co_await workers.run([cpu] { burn_cpu(cpu); });
    if (delay) co_await http::sleep_for(std::chrono::milliseconds(delay));
}

}  // namespace photoshare::app
