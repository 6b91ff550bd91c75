#include "metrics/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <set>
#include <stdexcept>

namespace photoshare::metrics {

namespace {

enum Type : int { counter_type, gauge_type, histogram_type };

constexpr std::string_view type_names[] = {"counter", "gauge", "histogram"};

// std::atomic<double>::fetch_add exists in C++20, but spelling out the loop keeps the
// lock-free promise visible and independent of the library's choice.
void atomic_add(std::atomic<double>& target, double d) noexcept {
    double old = target.load(std::memory_order_relaxed);
    while (!target.compare_exchange_weak(old, old + d, std::memory_order_relaxed)) {
    }
}

bool valid_name(std::string_view name, bool allow_colon) {
    auto head = [&](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
               (allow_colon && c == ':');
    };
    auto tail = [&](char c) { return head(c) || (c >= '0' && c <= '9'); };
    return !name.empty() && head(name.front()) && std::all_of(name.begin() + 1, name.end(), tail);
}

// Prometheus' Go parser reads these forms; fmt's shortest round-trip form for the rest.
std::string format_value(double v) {
    if (std::isnan(v)) {
        return "NaN";
    }
    if (std::isinf(v)) {
        return v > 0 ? "+Inf" : "-Inf";
    }
    return fmt::format("{}", v);
}

std::string escape_label_value(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '"': out += "\\\""; break;
            case '\n': out += "\\n"; break;
            default: out += c;
        }
    }
    return out;
}

// HELP lines escape only backslash and newline; a quote there is literal.
std::string escape_help(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            default: out += c;
        }
    }
    return out;
}

// One canonical form per label set, so lookups and output order do not depend on the order
// in which a caller listed the labels.
Labels canonical(const Labels& labels, int type) {
    Labels sorted = labels;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < sorted.size(); ++i) {
        const std::string& name = sorted[i].first;
        if (!valid_name(name, false) || name.starts_with("__")) {
            throw std::invalid_argument("metrics: invalid label name '" + name + "'");
        }
        if (type == histogram_type && name == "le") {
            throw std::invalid_argument("metrics: 'le' is reserved for histogram buckets");
        }
        if (i > 0 && sorted[i - 1].first == name) {
            throw std::invalid_argument("metrics: label '" + name + "' given twice");
        }
    }
    return sorted;
}

// {a="x",b="y"} with an optional extra label last (le for buckets); empty when no labels.
std::string label_block(const Labels& labels, std::string_view extra_name = {},
                        std::string_view extra_value = {}) {
    if (labels.empty() && extra_name.empty()) {
        return {};
    }
    std::string out = "{";
    for (const auto& [name, value] : labels) {
        out += name + "=\"" + escape_label_value(value) + "\",";
    }
    if (!extra_name.empty()) {
        out += std::string(extra_name) + "=\"" + std::string(extra_value) + "\",";
    }
    out.back() = '}';
    return out;
}

}  // namespace

void Gauge::add(double d) noexcept { atomic_add(value_, d); }

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
    if (!bounds_.empty() && bounds_.back() == INFINITY) {
        bounds_.pop_back();
    }
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
        if (std::isnan(bounds_[i]) || (i > 0 && !(bounds_[i - 1] < bounds_[i]))) {
            throw std::invalid_argument("metrics: histogram bounds must increase strictly");
        }
    }
    counts_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::observe(double v) noexcept {
    // First bucket whose bound is >= v; NaN compares false everywhere and lands in +Inf.
    const auto it = std::partition_point(bounds_.begin(), bounds_.end(),
                                         [v](double bound) { return !(v <= bound); });
    counts_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
    atomic_add(sum_, v);
}

std::vector<std::uint64_t> Histogram::cumulative_counts() const {
    std::vector<std::uint64_t> out(bounds_.size() + 1);
    std::uint64_t running = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
        running += counts_[i].load(std::memory_order_relaxed);
        out[i] = running;
    }
    return out;
}

std::uint64_t Histogram::count() const noexcept {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        total += counts_[i].load(std::memory_order_relaxed);
    }
    return total;
}

double Histogram::sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

std::vector<double> latency_buckets() {
    return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

struct Registry::Family {
    std::string help;
    int type;
    std::vector<double> bounds;  // histograms: every series of a family shares them
    // Only the member for `type` is set; unique_ptr keeps handed-out references stable.
    struct Series {
        std::unique_ptr<Counter> counter;
        std::unique_ptr<Gauge> gauge;
        std::unique_ptr<Histogram> histogram;
    };
    std::map<Labels, Series> series;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Family& Registry::family(std::string_view name, std::string_view help, int type) {
    auto it = families_.find(name);
    if (it == families_.end()) {
        if (!valid_name(name, true) || name.starts_with("__")) {
            throw std::invalid_argument("metrics: invalid metric name '" + std::string(name) + "'");
        }
        auto family = std::make_unique<Family>();
        family->help = std::string(help);
        family->type = type;
        it = families_.emplace(std::string(name), std::move(family)).first;
    } else if (it->second->type != type) {
        throw std::logic_error("metrics: '" + std::string(name) + "' is already a " +
                               std::string(type_names[it->second->type]));
    }
    return *it->second;
}

Counter& Registry::counter(std::string_view name, std::string_view help, const Labels& labels) {
    std::lock_guard lock(mutex_);
    Labels key = canonical(labels, counter_type);
    auto& series = family(name, help, counter_type).series[std::move(key)];
    if (!series.counter) {
        series.counter = std::make_unique<Counter>();
    }
    return *series.counter;
}

Gauge& Registry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
    std::lock_guard lock(mutex_);
    Labels key = canonical(labels, gauge_type);
    auto& series = family(name, help, gauge_type).series[std::move(key)];
    if (!series.gauge) {
        series.gauge = std::make_unique<Gauge>();
    }
    return *series.gauge;
}

Histogram& Registry::histogram(std::string_view name, std::string_view help, const Labels& labels,
                               std::vector<double> bounds) {
    std::lock_guard lock(mutex_);
    Labels key = canonical(labels, histogram_type);
    // Built before the family is touched, so invalid bounds leave the registry unchanged;
    // compared in normalised form (a trailing +Inf is dropped).
    auto made = std::make_unique<Histogram>(std::move(bounds));
    Family& fam = family(name, help, histogram_type);
    if (fam.series.empty()) {
        fam.bounds = made->bounds();
    } else if (fam.bounds != made->bounds()) {
        throw std::logic_error("metrics: histogram '" + std::string(name) +
                               "' already has other bucket bounds");
    }
    auto& series = fam.series[std::move(key)];
    if (!series.histogram) {
        series.histogram = std::move(made);
    }
    return *series.histogram;
}

std::string Registry::render() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& [name, fam] : families_) {
        fmt::format_to(std::back_inserter(out), "# HELP {} {}\n", name, escape_help(fam->help));
        fmt::format_to(std::back_inserter(out), "# TYPE {} {}\n", name, type_names[fam->type]);
        for (const auto& [labels, series] : fam->series) {
            const std::string block = label_block(labels);
            if (series.counter) {
                fmt::format_to(std::back_inserter(out), "{}{} {}\n", name, block, series.counter->value());
            } else if (series.gauge) {
                fmt::format_to(std::back_inserter(out), "{}{} {}\n", name, block, format_value(series.gauge->value()));
            } else if (series.histogram) {
                const Histogram& h = *series.histogram;
                // One snapshot of the buckets, so _count always equals the +Inf bucket.
                const auto counts = h.cumulative_counts();
                for (std::size_t i = 0; i < counts.size(); ++i) {
                    const std::string le =
                        i < h.bounds().size() ? format_value(h.bounds()[i]) : "+Inf";
                    fmt::format_to(std::back_inserter(out), "{}_bucket{} {}\n", name, label_block(labels, "le", le), counts[i]);
                }
                fmt::format_to(std::back_inserter(out), "{}_sum{} {}\n", name, block, format_value(h.sum()));
                fmt::format_to(std::back_inserter(out), "{}_count{} {}\n", name, block, counts.back());
            }
        }
    }
    return out;
}

}  // namespace photoshare::metrics
