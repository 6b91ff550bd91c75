// A counter in a shared store that every request of every server wants to know: the feed's
// generation (bumped by each upload and delete), the count of revoked sessions (bumped by
// each logout). Reading it from the store on every request costs a thread hop and a round
// trip; this keeps a near copy in the process and promises how old it can be.
//
// The promise: while near() says `fresh`, the store held no larger value max_staleness ago.
// A thread re-reads the counter every max_staleness / 2; where the store can push (Redis
// pub/sub), a change made by any process arrives at once as well, and polling is what
// still holds the bound when a notice is lost. If the copy cannot be confirmed in time
// (the store is down, the thread fell behind), near() says `down` or `unknown` and the
// caller decides: read() the store itself, or do without.
//
// Values only grow. A counter missing from the store (a cache server restarted and lost it)
// starts again from the clock in microseconds, above any value it held before, so a reader
// never takes an old number for a new one.
#pragma once

#include "kv/kv.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace photoshare::kv {

class SharedCounter {
public:
    // max_staleness 0: no near copy (every near() of a networked store is `unknown`, so every
    // reader reads the store). For an in-process store the copy is the counter itself: always
    // fresh, no thread. The store must outlive the counter.
    SharedCounter(Store& store, std::string key, std::chrono::milliseconds max_staleness);
    ~SharedCounter();
    SharedCounter(const SharedCounter&) = delete;
    SharedCounter& operator=(const SharedCounter&) = delete;

    enum class State {
        fresh,    // confirmed within max_staleness
        down,     // the last attempt to read it failed, within max_staleness (or 1 s, if longer)
        unknown,  // neither: read() to know
    };
    struct Near {
        State state;
        std::int64_t value;  // the largest value seen so far (0 before the first)
    };
    // An atomic load and a clock read: cheap enough for every request on an I/O thread.
    Near near() const noexcept;

    // The counter as the store has it now (blocking: a round trip, two when it must be
    // created); updates the near copy. Throws Unavailable.
    std::int64_t read();
    // Adds one in the store, tells the other processes (where the store can push) and
    // updates the near copy; returns the new value. Throws Unavailable, and then makes the
    // increment itself as soon as a read reaches the store again, so a change made while the
    // store was unreachable still makes every server's copy stale once it is back.
    std::int64_t bump();

    const std::string& key() const { return key_; }
    std::chrono::milliseconds max_staleness() const { return max_staleness_; }
    bool pushed() const { return subscription_ != nullptr; }  // the store pushes changes

    struct Stats {
        std::uint64_t polls = 0;     // reads by the background thread
        std::uint64_t reads = 0;     // read() by callers
        std::uint64_t pushes = 0;    // notices received from other processes
        std::uint64_t failures = 0;  // reads, bumps and notices that failed
        double age_seconds = -1;     // since the copy was last confirmed (-1: never; 0: in process)
    };
    Stats stats() const noexcept;

private:
    std::int64_t fetch();  // one read from the store, creating the counter when absent
    std::int64_t restart_value() const noexcept;
    void seen(std::int64_t value) noexcept;
    void confirmed(std::chrono::steady_clock::time_point sent) noexcept;
    void failed() noexcept;
    void pay_owed();  // the bump a failure left owed, if any
    void poll_loop();

    Store& store_;
    const std::string key_;
    const std::string channel_;
    const std::chrono::milliseconds max_staleness_;
    const bool local_;

    std::atomic<std::int64_t> value_{0};
    std::atomic<std::int64_t> confirmed_ns_{0};  // steady clock: when the last good read was sent
    std::atomic<std::int64_t> failed_ns_{0};     // steady clock: when the last read failed
    std::atomic<std::uint64_t> polls_{0}, reads_{0}, pushes_{0}, failures_{0};
    // A bump that could not reach the store: made (and announced) by the next read that can.
    std::atomic<bool> owed_{false};

    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread poller_;
    std::unique_ptr<Subscription> subscription_;  // destroyed first: it calls seen()
};

}  // namespace photoshare::kv
