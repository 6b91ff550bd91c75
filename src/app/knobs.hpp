// The seed's latency knob and a CPU-work knob, changeable while the server runs (through
// /admin/knobs). Latency is an asynchronous timer that holds no thread; CPU work is real
// computation on a worker, so latency rises with load as it would for a real page.
#pragma once

#include "http/runtime.hpp"
#include "http/semaphore.hpp"

#include <atomic>
#include <cstdint>

namespace photoshare::app {

namespace asio = boost::asio;

class Knobs {
public:
    std::atomic<std::uint64_t> latency_ms{0};
    std::atomic<std::uint64_t> cpu_ms{0};
    // Page requests worked on at once, like a fixed pool of PHP workers: with a latency
    // set, a server's capacity is slots / latency, so adding servers adds capacity.
    // Requests beyond it wait their turn. 0: no limit.
    http::AsyncSemaphore slots;

    // Applies the knobs to the current request.
    asio::awaitable<void> apply(http::Workers& workers);
};

// Spins on real work (hashing) for about `ms` milliseconds of this thread's CPU time.
void burn_cpu(std::uint64_t ms);

}  // namespace photoshare::app
