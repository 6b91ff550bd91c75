#include "metrics/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <thread>

namespace photoshare::metrics {
namespace {

TEST(Metrics, RendersASmallRegistryExactly) {
    Registry reg;
    reg.counter("http_requests_total", "Requests served.", {{"route", "/"}, {"method", "GET"}})
        .inc(3);
    reg.counter("http_requests_total", "Requests served.", {{"method", "POST"}, {"route", "/upload"}})
        .inc();
    reg.gauge("latency_knob_seconds", "Delay added to each request.").set(0.25);
    auto& h = reg.histogram("request_seconds", "Request latency.", {{"route", "/"}}, {0.1, 1});
    h.observe(0.0625);
    h.observe(0.5);
    h.observe(1);  // a bound is inclusive: counts in le="1"
    h.observe(3);
    reg.counter("a_first_total", "Sorted by name.").inc(0);

    EXPECT_EQ(reg.render(),
              "# HELP a_first_total Sorted by name.\n"
              "# TYPE a_first_total counter\n"
              "a_first_total 0\n"
              "# HELP http_requests_total Requests served.\n"
              "# TYPE http_requests_total counter\n"
              "http_requests_total{method=\"GET\",route=\"/\"} 3\n"
              "http_requests_total{method=\"POST\",route=\"/upload\"} 1\n"
              "# HELP latency_knob_seconds Delay added to each request.\n"
              "# TYPE latency_knob_seconds gauge\n"
              "latency_knob_seconds 0.25\n"
              "# HELP request_seconds Request latency.\n"
              "# TYPE request_seconds histogram\n"
              "request_seconds_bucket{route=\"/\",le=\"0.1\"} 1\n"
              "request_seconds_bucket{route=\"/\",le=\"1\"} 3\n"
              "request_seconds_bucket{route=\"/\",le=\"+Inf\"} 4\n"
              "request_seconds_sum{route=\"/\"} 4.5625\n"
              "request_seconds_count{route=\"/\"} 4\n");
}

TEST(Metrics, EmptyRegistryRendersNothing) { EXPECT_EQ(Registry().render(), ""); }

TEST(Metrics, EscapesLabelValuesAndHelp) {
    Registry reg;
    reg.counter("c_total", "Help with \\ backslash,\nnewline and \"quotes\".",
                {{"path", "C:\\dir \"x\"\nnext"}})
        .inc();
    EXPECT_EQ(reg.render(),
              "# HELP c_total Help with \\\\ backslash,\\nnewline and \"quotes\".\n"
              "# TYPE c_total counter\n"
              "c_total{path=\"C:\\\\dir \\\"x\\\"\\nnext\"} 1\n");
}

TEST(Metrics, SameNameAndLabelsGiveTheSameMetric) {
    Registry reg;
    Counter& a = reg.counter("c_total", "h", {{"x", "1"}, {"y", "2"}});
    Counter& b = reg.counter("c_total", "other help is ignored", {{"y", "2"}, {"x", "1"}});
    Counter& c = reg.counter("c_total", "h", {{"x", "1"}, {"y", "3"}});
    EXPECT_EQ(&a, &b);
    EXPECT_NE(&a, &c);
    Histogram& h1 = reg.histogram("h_seconds", "h", {{"r", "/"}});
    Histogram& h2 = reg.histogram("h_seconds", "h", {{"r", "/"}});
    EXPECT_EQ(&h1, &h2);
}

TEST(Metrics, AFamilyHasOneType) {
    Registry reg;
    reg.counter("thing", "h");
    EXPECT_THROW(reg.gauge("thing", "h"), std::logic_error);
    EXPECT_THROW(reg.histogram("thing", "h"), std::logic_error);
    reg.histogram("latency", "h", {}, {1, 2});
    EXPECT_THROW(reg.counter("latency", "h"), std::logic_error);
    EXPECT_THROW(reg.histogram("latency", "h", {{"r", "x"}}, {1, 3}), std::logic_error);
    EXPECT_NO_THROW(reg.histogram("latency", "h", {{"r", "x"}}, {1, 2, INFINITY}));
}

TEST(Metrics, InvalidNamesAreRejected) {
    Registry reg;
    EXPECT_THROW(reg.counter("", "h"), std::invalid_argument);
    EXPECT_THROW(reg.counter("1abc", "h"), std::invalid_argument);
    EXPECT_THROW(reg.counter("a-b", "h"), std::invalid_argument);
    EXPECT_THROW(reg.counter("__reserved", "h"), std::invalid_argument);
    EXPECT_THROW(reg.counter("c", "h", {{"bad-label", "v"}}), std::invalid_argument);
    EXPECT_THROW(reg.counter("c", "h", {{"a:b", "v"}}), std::invalid_argument);
    EXPECT_THROW(reg.counter("c", "h", {{"__name__", "v"}}), std::invalid_argument);
    EXPECT_THROW(reg.counter("c", "h", {{"x", "1"}, {"x", "2"}}), std::invalid_argument);
    EXPECT_THROW(reg.histogram("h", "h", {{"le", "1"}}), std::invalid_argument);
    EXPECT_NO_THROW(reg.counter("ns:sub_total", "h", {{"_ok", "v"}}));
    // Rejected calls registered nothing.
    EXPECT_EQ(reg.render(), "# HELP ns:sub_total h\n# TYPE ns:sub_total counter\n"
                            "ns:sub_total{_ok=\"v\"} 0\n");
}

TEST(Metrics, HistogramBoundsMustIncrease) {
    EXPECT_THROW(Histogram({1, 1}), std::invalid_argument);
    EXPECT_THROW(Histogram({2, 1}), std::invalid_argument);
    EXPECT_THROW(Histogram({NAN}), std::invalid_argument);
    EXPECT_EQ(Histogram({1, 2, INFINITY}).bounds(), (std::vector<double>{1, 2}));
    Histogram only_inf({});
    only_inf.observe(7);
    EXPECT_EQ(only_inf.cumulative_counts(), std::vector<std::uint64_t>{1});
}

TEST(Metrics, HistogramPlacesValuesInTheirBuckets) {
    Histogram h({1, 2});
    h.observe(-5);
    h.observe(1);
    h.observe(1.5);
    h.observe(2.0000001);
    h.observe(NAN);  // counted in +Inf only, like Prometheus' own clients
    EXPECT_EQ(h.cumulative_counts(), (std::vector<std::uint64_t>{2, 3, 5}));
    EXPECT_EQ(h.count(), 5u);
    EXPECT_TRUE(std::isnan(h.sum()));
}

TEST(Metrics, LatencyBucketsAndTheirRendering) {
    EXPECT_EQ(latency_buckets(), (std::vector<double>{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}));
    Registry reg;
    reg.histogram("d_seconds", "h").observe(0.003);
    const std::string text = reg.render();
    for (const char* le : {"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
                           "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}) {
        EXPECT_NE(text.find(std::string("d_seconds_bucket{le=\"") + le + "\"}"), std::string::npos)
            << le;
    }
    EXPECT_NE(text.find("d_seconds_bucket{le=\"0.0025\"} 0\n"), std::string::npos);
    EXPECT_NE(text.find("d_seconds_bucket{le=\"0.005\"} 1\n"), std::string::npos);
    EXPECT_NE(text.find("d_seconds_sum 0.003\nd_seconds_count 1\n"), std::string::npos);
}

TEST(Metrics, GaugeValues) {
    Registry reg;
    Gauge& g = reg.gauge("g", "h");
    g.add(2.5);
    g.add(-1);
    EXPECT_EQ(g.value(), 1.5);
    g.set(-3);
    EXPECT_NE(reg.render().find("\ng -3\n"), std::string::npos);
    g.set(INFINITY);
    EXPECT_NE(reg.render().find("\ng +Inf\n"), std::string::npos);
    g.set(NAN);
    EXPECT_NE(reg.render().find("\ng NaN\n"), std::string::npos);
}

TEST(Metrics, ConcurrentUpdatesAreNotLost) {
    Registry reg;
    constexpr int threads = 8;
    constexpr int per_thread = 50'000;
    std::atomic<bool> done{false};
    std::thread scraper([&] {
        while (!done) {
            (void)reg.render();
        }
    });
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            // Looking up from every thread races the lookups too.
            Counter& c = reg.counter("c_total", "h", {{"route", "/"}});
            Gauge& g = reg.gauge("g", "h");
            Histogram& h = reg.histogram("h_seconds", "h", {{"route", "/"}}, {0.5, 1});
            for (int i = 0; i < per_thread; ++i) {
                c.inc();
                g.add(1);
                h.observe(t % 2 ? 0.25 : 0.75);  // exact in binary: the sum is exact
            }
        });
    }
    for (auto& t : pool) {
        t.join();
    }
    done = true;
    scraper.join();
    constexpr std::uint64_t total = threads * per_thread;
    EXPECT_EQ(reg.counter("c_total", "h", {{"route", "/"}}).value(), total);
    EXPECT_EQ(reg.gauge("g", "h").value(), static_cast<double>(total));
    Histogram& h = reg.histogram("h_seconds", "h", {{"route", "/"}}, {0.5, 1});
    EXPECT_EQ(h.cumulative_counts(), (std::vector<std::uint64_t>{total / 2, total, total}));
    EXPECT_EQ(h.sum(), 0.5 * total);
}

}  // namespace
}  // namespace photoshare::metrics
