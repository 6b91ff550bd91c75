#include "kv/shared_counter.hpp"

#include <charconv>
#include <stdexcept>

namespace photoshare::kv {

namespace {

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Counters start from the clock, in microseconds. Anything below this (the year 2001) was
// not made here: an incr that found the key missing and created it from 0.
constexpr std::int64_t kFloor = 1'000'000'000'000'000;
std::int64_t fresh_value() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::optional<std::int64_t> counter_value(std::string_view text) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v < kFloor) return std::nullopt;
    return v;
}

void raise_to(std::atomic<std::int64_t>& a, std::int64_t v) noexcept {
    auto old = a.load(std::memory_order_relaxed);
    while (old < v && !a.compare_exchange_weak(old, v, std::memory_order_release, std::memory_order_relaxed)) {
    }
}

}  // namespace

SharedCounter::SharedCounter(Store& store, std::string key, std::chrono::milliseconds max_staleness)
    : store_(store), key_(std::move(key)), channel_("photoshare:changed:" + key_), max_staleness_(max_staleness), local_(store.local()) {
    if (max_staleness.count() < 0) throw std::invalid_argument("SharedCounter: max_staleness must not be negative");
    if (local_) {
        seen(fetch());  // the store is this process's: its value is the truth, and cheap
        return;
    }
    if (max_staleness_.count() == 0) return;
    subscription_ = store_.subscribe(channel_, [this](std::string_view message) {
        if (auto v = counter_value(message)) {
            pushes_.fetch_add(1, std::memory_order_relaxed);
            seen(*v);
        }
    });
    poller_ = std::thread([this] { poll_loop(); });
}

SharedCounter::~SharedCounter() {
    subscription_.reset();
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    if (poller_.joinable()) poller_.join();
}

SharedCounter::Near SharedCounter::near() const noexcept {
    if (local_) return {State::fresh, value_.load(std::memory_order_acquire)};
    // The confirmation first, then the value: a reader sets the value before the time it
    // confirms (release), so the value read after it is at least the one confirmed.
    const auto confirmed = confirmed_ns_.load(std::memory_order_acquire);
    const auto failed = failed_ns_.load(std::memory_order_acquire);
    const auto value = value_.load(std::memory_order_acquire);
    const auto now = now_ns();
    const auto bound = std::chrono::duration_cast<std::chrono::nanoseconds>(max_staleness_).count();
    if (confirmed != 0 && now - confirmed <= bound) return {State::fresh, value};
    // A failure holds longer than the bound: while the store is down a poll takes the store's
    // own timeout too; a success ends it at once.
    const std::int64_t down_hold = std::max<std::int64_t>(bound, 1'000'000'000);
    if (failed > confirmed && now - failed <= down_hold) return {State::down, value};
    return {State::unknown, value};
}

// From the clock, and above anything this copy has seen (the clock may not have moved).
std::int64_t SharedCounter::restart_value() const noexcept { return std::max(fresh_value(), value_.load(std::memory_order_acquire) + 1); }

std::int64_t SharedCounter::fetch() {
    if (auto text = store_.get(key_)) {
        if (auto v = counter_value(*text)) return *v;
    } else {
        // Missing: start it. add() sets only an absent key, so servers starting it at once
        // agree on the one that won.
        store_.add(key_, std::to_string(restart_value()), std::chrono::seconds(0));
        if (auto again = store_.get(key_))
            if (auto v = counter_value(*again)) return *v;
    }
    // Not a counter this made (garbage, or created by an incr from 0): start afresh.
    const auto v = restart_value();
    store_.set(key_, std::to_string(v), std::chrono::seconds(0));
    return v;
}

void SharedCounter::seen(std::int64_t value) noexcept { raise_to(value_, value); }

void SharedCounter::confirmed(std::chrono::steady_clock::time_point sent) noexcept {
    raise_to(confirmed_ns_, std::chrono::duration_cast<std::chrono::nanoseconds>(sent.time_since_epoch()).count());
}

void SharedCounter::failed() noexcept {
    failures_.fetch_add(1, std::memory_order_relaxed);
    raise_to(failed_ns_, now_ns());
}

void SharedCounter::pay_owed() {
    if (!owed_.exchange(false, std::memory_order_acq_rel)) return;
    try {
        bump();
    } catch (const Unavailable&) {
        // still owed: bump() set it again
    }
}

std::int64_t SharedCounter::read() {
    pay_owed();
    const auto sent = std::chrono::steady_clock::now();
    try {
        const auto v = fetch();
        reads_.fetch_add(1, std::memory_order_relaxed);
        seen(v);
        confirmed(sent);
        return v;
    } catch (const Unavailable&) {
        failed();
        throw;
    }
}

std::int64_t SharedCounter::bump() {
    const auto sent = std::chrono::steady_clock::now();
    std::int64_t v = 0;
    try {
        try {
            v = store_.incr(key_, 1, std::chrono::seconds(0));
        } catch (const std::invalid_argument&) {
            v = 0;  // not an integer: replaced below
        }
        if (v < kFloor) {
            // The counter had vanished and incr made it again from 0: a value some reader
            // may already have passed. Replace it by one above anything before.
            v = restart_value();
            store_.set(key_, std::to_string(v), std::chrono::seconds(0));
        }
    } catch (const Unavailable&) {
        failed();
        owed_.store(true, std::memory_order_release);
        throw;
    }
    try {
        store_.publish(channel_, std::to_string(v));
    } catch (const Unavailable&) {
        failures_.fetch_add(1, std::memory_order_relaxed);  // the others poll it within the bound
    }
    seen(v);
    confirmed(sent);
    return v;
}

void SharedCounter::poll_loop() {
    const auto interval = std::max(std::chrono::milliseconds(1), max_staleness_ / 2);
    bool failing = false;
    std::unique_lock lock(mutex_);
    while (!stop_) {
        lock.unlock();
        const auto sent = std::chrono::steady_clock::now();
        if (failing) {
            // The store's own probe ignores the verdict that its server is down, and clears it
            // when the server answers: requests use a restarted server within one interval,
            // instead of failing fast for the rest of its retry_ms.
            try {
                store_.check();
            } catch (const std::exception&) {
                // the fetch below fails too, and says so
            }
        }
        try {
            pay_owed();
            const auto v = fetch();
            polls_.fetch_add(1, std::memory_order_relaxed);
            seen(v);
            confirmed(sent);
            failing = false;
        } catch (const std::exception&) {
            failed();
            failing = true;
        }
        lock.lock();
        wake_.wait_for(lock, interval, [this] { return stop_; });
    }
}

SharedCounter::Stats SharedCounter::stats() const noexcept {
    Stats s{polls_.load(std::memory_order_relaxed), reads_.load(std::memory_order_relaxed), pushes_.load(std::memory_order_relaxed),
            failures_.load(std::memory_order_relaxed)};
    const auto confirmed = confirmed_ns_.load(std::memory_order_acquire);
    if (local_) s.age_seconds = 0;
    else if (confirmed != 0) s.age_seconds = static_cast<double>(now_ns() - confirmed) / 1e9;
    return s;
}

}  // namespace photoshare::kv
