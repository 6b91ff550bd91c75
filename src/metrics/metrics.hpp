// Prometheus metrics: counters, gauges and histograms with labels, rendered in the text
// exposition format (version 0.0.4). Updating a metric is lock-free; looking one up by
// labels takes a lock, so hot paths keep the reference they got.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace photoshare::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
public:
    void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

class Gauge {
public:
    void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
    void add(double d) noexcept;
    double value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<double> value_{0};
};

class Histogram {
public:
    // Bounds strictly increasing, no NaN (else std::invalid_argument); a trailing +Inf is
    // dropped, as the +Inf bucket is always there.
    explicit Histogram(std::vector<double> upper_bounds);
    void observe(double v) noexcept;
    const std::vector<double>& bounds() const noexcept { return bounds_; }
    // Cumulative count per bound, then the +Inf count; and the sum of observations.
    std::vector<std::uint64_t> cumulative_counts() const;
    std::uint64_t count() const noexcept;
    double sum() const noexcept;

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // bounds_.size() + 1
    std::atomic<double> sum_{0};
};

// Latency buckets in seconds, from 0.5 ms to 10 s.
std::vector<double> latency_buckets();

// Names follow Prometheus rules ([a-zA-Z_:][a-zA-Z0-9_:]* for metrics, [a-zA-Z_][a-zA-Z0-9_]*
// for labels, no "__" prefix, no "le" on histograms, no label twice), else
// std::invalid_argument. Label order does not matter: {a,b} and {b,a} are one series.
// Asking for an existing name as another type (or a histogram with other bounds) throws
// std::logic_error; the help text of the first call is kept. References stay valid for the
// registry's lifetime.
class Registry {
public:
    Registry();
    ~Registry();  // out of line: Family is complete only in metrics.cpp
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    Counter& counter(std::string_view name, std::string_view help, const Labels& labels = {});
    Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels = {});
    Histogram& histogram(std::string_view name, std::string_view help, const Labels& labels = {},
                         std::vector<double> bounds = latency_buckets());
    // All metrics, grouped by family, in the text exposition format; families sorted by
    // name, series by labels, so the output is stable.
    std::string render() const;

private:
    struct Family;
    Family& family(std::string_view name, std::string_view help, int type);
    mutable std::mutex mutex_;
    std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;
};

}  // namespace photoshare::metrics
