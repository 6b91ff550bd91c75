// `photoshare fleet` for real: HAProxy and photoshare servers (sharing one SQLite file) on
// loopback ports, the step policy with periods of seconds, a bounded load generator through
// HAProxy, and the fleet's own JSON API and command line to watch and steer it.
//
// FLEET_KEEP_DIRS=1 keeps each test's directory (fleet.out, the state directory with every
// log, history.jsonl and events.jsonl).
#include "support/files.hpp"
#include "support/http_client.hpp"
#include "support/load.hpp"
#include "support/photoshare_server.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <thread>
#include <unistd.h>

using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

// GET, PUT with a JSON body: one request on a fresh connection.
pstest::Response fetch(const std::string& address, const std::string& method, const std::string& path, const pstest::Headers& headers = {},
                       const std::string& json_body = {}, std::chrono::milliseconds timeout = 3s) {
    pstest::HttpClient c("http://" + address);
    c.set_timeout(timeout);
    return method == "PUT" ? c.put_json(path, json_body, headers) : c.request(method, path, std::nullopt, headers);
}

struct Options {
    int min = 1, max = 3, initial = 1;
    std::string step = "high = 1000\nlow = 500\nperiod = \"3s\"\ncooldown = \"4s\"\n";
    std::string servers_extra;
};

// One fleet in a temporary directory, stopped (SIGTERM, exit 0 required) at the end.
class Fleet {
public:
    explicit Fleet(const Options& o)
        : dir_(std::filesystem::temp_directory_path() / ("photoshare-fleet-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++))) {
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_ / "shared");
        base_ = pstest::pick_ports(20);
        front = "127.0.0.1:" + std::to_string(base_);
        dashboard = "127.0.0.1:" + std::to_string(base_ + 1);
        config = dir_ / "fleet.toml";
        std::ofstream(config) << "state_dir = \"state\"\n"
                              << "[servers]\nmin = " << o.min << "\nmax = " << o.max << "\ninitial = " << o.initial << "\nbase_port = " << base_ + 10
                              << "\nstart_timeout = \"20s\"\ndrain_timeout = \"10s\"\nstop_timeout = \"5s\"\nunhealthy_after = \"3s\"\n"
                              << o.servers_extra << "[servers.settings]\n"
                              << "\"database.url\" = \"sqlite://" << (dir_ / "shared/photoshare.db").string() << "\"\n"
                              << "\"storage.url\" = \"file://" << (dir_ / "shared/media").string() << "\"\n"
                              << "\"server.shutdown_delay\" = \"1s\"\n\"server.trusted_proxies\" = \"127.0.0.1\"\n\"log.access\" = \"false\"\n"
                              << "[haproxy]\nlisten = \"" << front << "\"\n"
                              << "[dashboard]\nlisten = \"" << dashboard << "\"\n"
                              << "[policy]\nkind = \"step\"\ninterval = \"1s\"\n[policy.step]\n"
                              << o.step;
        pid_ = pstest::spawn({pstest::server_binary(), "fleet", "--config", config.string()}, {}, dir_ / "fleet.out");
    }
    ~Fleet() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            pstest::wait_for(pid_, 5s);
        }
        if (::testing::Test::HasFailure()) {
            (void)std::fprintf(stderr, "---- the end of %s ----\n%s---- end ----\n", (dir_ / "fleet.out").c_str(), pstest::tail_lines(pstest::read_text(dir_ / "fleet.out"), 80).c_str());
        }
        if (std::getenv("FLEET_KEEP_DIRS")) (void)std::fprintf(stderr, "kept %s\n", dir_.c_str());
        else std::filesystem::remove_all(dir_);
    }

    // SIGTERM: the fleet stops HAProxy and every server in order and exits 0.
    void stop() {
        ::kill(pid_, SIGTERM);
        auto st = pstest::wait_for(pid_, 40s);
        ASSERT_TRUE(st) << "the fleet did not stop within 40 s";
        pid_ = -1;
        EXPECT_TRUE(st->exited && st->code == 0) << st->describe();
    }

    json::object status() {
        auto res = fetch(dashboard, "GET", "/api/status");
        if (res.status != 200) throw std::runtime_error("status " + std::to_string(res.status));
        return json::parse(res.body).as_object();
    }
    std::optional<json::object> try_status() {
        try {
            return status();
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }

    // Polls until `pred` holds (true) or the time passes (false).
    bool wait_for(std::chrono::milliseconds timeout, const std::function<bool(const json::object&)>& pred) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            if (pid_ > 0)
                if (auto st = pstest::wait_for(pid_, 0ms)) {
                    ADD_FAILURE() << "the fleet exited: " << st->describe();
                    pid_ = -1;
                    return false;
                }
            if (auto s = try_status(); s && pred(*s)) return true;
            std::this_thread::sleep_for(200ms);
        }
        return false;
    }

    static std::int64_t in_service(const json::object& s) { return s.at("in_service").as_int64(); }
    static std::int64_t desired(const json::object& s) { return s.at("desired").as_int64(); }

    // `photoshare fleet knobs --config ... ARGS`: its exit status.
    int knobs(std::vector<std::string> args) {
        std::vector<std::string> argv{"fleet", "knobs", "--config", config.string()};
        argv.insert(argv.end(), args.begin(), args.end());
        auto res = pstest::run_photoshare(argv, {}, 20s);
        std::ofstream(dir_ / "knobs.out", std::ios::app) << res.output;
        return res.exit_code();
    }

    // Every event so far (the API gives the last 50; history is in events.jsonl too).
    std::vector<json::object> events() {
        std::vector<json::object> out;
        std::ifstream in(dir_ / "state/events.jsonl");
        std::string line;
        while (std::getline(in, line))
            if (!line.empty()) out.push_back(json::parse(line).as_object());
        return out;
    }

    std::string front, dashboard;
    std::filesystem::path config;

private:
    static int& counter() {
        static int n = 0;
        return n;
    }
    std::filesystem::path dir_;
    int base_ = 0;
    pid_t pid_ = -1;
};

// A bounded load: `threads` clients, each one GET / at a time (a new connection each) with a
// pause between, through HAProxy. Every answer is counted by status; a request that gets none
// counts as failed.
pstest::LoadOptions bounded(int threads, std::chrono::milliseconds pause) {
    return {.clients = threads, .timeout = 15s, .pause = pause, .new_connections = true};
}

// Answers not 2xx (no answer at all included).
std::size_t not_2xx(const pstest::Load& load) {
    std::size_t n = 0;
    for (const auto& [status, count] : pstest::by_status(load.answers()))
        if (status < 200 || status > 299) n += static_cast<std::size_t>(count);
    return n;
}

double event_time(const std::vector<json::object>& events, const std::string& kind, double after) {
    for (const auto& e : events)
        if (e.at("kind").as_string() == kind && e.at("t").as_double() > after) return e.at("t").as_double();
    return -1;
}

}  // namespace

// The seed's experiment: raise the latency knob -> the fleet grows; lower it -> it shrinks
// to min. Under a steady load all along, through scale-out and the drains of scale-in: no
// request may fail.
TEST(Fleet, GrowsWithLatencyShrinksBackAndFailsNoRequest) {
    Fleet f(Options{});
    ASSERT_TRUE(f.wait_for(30s, [](const json::object& s) { return Fleet::in_service(s) == 1; })) << "the fleet did not start";
    pstest::Load load("http://" + f.front, pstest::get_paths({"/"}), bounded(4, 50ms));
    std::this_thread::sleep_for(4s);  // a full period of fast answers first
    auto before = f.status();
    EXPECT_EQ(Fleet::desired(before), 1) << json::serialize(before);

    const double raised_at = f.status().at("t").as_double();
    ASSERT_EQ(f.knobs({"--latency-ms", "1200"}), 0);
    // Within two evaluation periods (2 x 3 s) of the change, the fleet decides to grow...
    ASSERT_TRUE(f.wait_for(15s, [](const json::object& s) { return Fleet::desired(s) >= 2; }));
    const double out_at = event_time(f.events(), "scale-out", raised_at);
    ASSERT_GT(out_at, 0);
    EXPECT_LE(out_at - raised_at, 2 * 3.0 + 0.5) << "scale-out " << out_at - raised_at << " s after the knob";
    // ... and, one cooldown after another, reaches max, every new server with the knob set.
    ASSERT_TRUE(f.wait_for(30s, [](const json::object& s) { return Fleet::in_service(s) == 3; })) << json::serialize(f.status());
    auto grown = f.status();
    for (const auto& s : grown.at("servers").as_array()) {
        const auto& knob = s.as_object().at("knob_latency_ms");
        if (!knob.is_null()) EXPECT_EQ(knob.to_number<double>(), 1200) << json::serialize(s);
    }

    const double lowered_at = f.status().at("t").as_double();
    ASSERT_EQ(f.knobs({"--latency-ms", "0"}), 0);
    ASSERT_TRUE(f.wait_for(40s, [](const json::object& s) { return Fleet::desired(s) == 1 && Fleet::in_service(s) == 1 && s.at("servers").as_array().size() == 1; }))
        << json::serialize(f.status());
    const double in_at = event_time(f.events(), "scale-in", lowered_at);
    ASSERT_GT(in_at, 0);
    EXPECT_LE(in_at - lowered_at, 2 * 3.0 + 0.5);
    std::this_thread::sleep_for(1s);
    load.stop();

    EXPECT_GT(load.total(), 100) << load.summary();
    EXPECT_EQ(not_2xx(load), 0) << load.summary();
    auto totals = f.status().at("totals").as_object();
    EXPECT_EQ(totals.at("status_5xx").as_int64() + totals.at("failed").as_int64(), 0) << json::serialize(totals);
    // Every scale-in drained its server before stopping it.
    auto events = f.events();
    int drains = 0, drained = 0;
    for (const auto& e : events) {
        if (e.at("kind").as_string() == "drain") ++drains;
        if (e.at("kind").as_string() == "stop" && std::string(e.at("message").as_string()).find("drained in") != std::string::npos) ++drained;
    }
    EXPECT_EQ(drains, 2);
    EXPECT_EQ(drained, 2);
    f.stop();
}

// A server killed with -9 is taken out and replaced (an Auto Scaling group with ELB health
// checks); HAProxy retries the GETs it had sent there.
// While no server is in service, the site refuses connections instead of answering 503:
// a client polling from the moment the fleet starts gets no answer, then pages.
TEST(Fleet, TheSiteOpensOnlyOnceAServerIsInService) {
    Fleet f(Options{});
    const int port = std::stoi(f.front.substr(f.front.rfind(':') + 1));
    std::map<int, int> answers;
    int unanswered = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(40);  // not 40s: cppcheck 2.10 cannot evaluate it
    while (std::chrono::steady_clock::now() < deadline && answers[200] < 20) {
        std::optional<pstest::RawResponse> r;
        try {
            r = pstest::raw_exchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 2s);
        } catch (const std::exception&) {
            // refused: the port is not open yet
        }
        if (r) ++answers[r->status];
        else ++unanswered;
        std::this_thread::sleep_for(5ms);
    }
    EXPECT_EQ(answers[200], 20) << "the site never opened";
    for (const auto& [status, n] : answers) EXPECT_EQ(status, 200) << n << " answer(s) " << status << " while the fleet was starting";
    EXPECT_GT(unanswered, 0) << "the first connection already found a server in service: this test proves nothing";
    bool opened = false;
    for (const auto& e : f.events()) opened = opened || pstest::contains(std::string(e.at("message").as_string()), "the site is open");
    EXPECT_TRUE(opened) << "no event says when the site opened";
    f.stop();
}

TEST(Fleet, AKilledServerIsReplaced) {
    Options o;
    o.min = 2;
    o.initial = 2;
    Fleet f(o);
    ASSERT_TRUE(f.wait_for(30s, [](const json::object& s) { return Fleet::in_service(s) == 2; }));
    pstest::Load load("http://" + f.front, pstest::get_paths({"/"}), bounded(4, std::chrono::milliseconds(20)));  // not 20ms: cppcheck 2.10 cannot evaluate it
    std::this_thread::sleep_for(2s);
    auto s = f.status();
    const auto victim = s.at("servers").as_array()[0].as_object();
    const auto pid = static_cast<pid_t>(victim.at("pid").as_int64());
    const std::string name(victim.at("name").as_string());
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    ASSERT_TRUE(f.wait_for(20s, [&](const json::object& st) {
        if (Fleet::in_service(st) != 2) return false;
        for (const auto& sv : st.at("servers").as_array())
            if (sv.as_object().at("pid").as_int64() == pid) return false;
        return true;
    })) << json::serialize(f.status());
    auto events = f.events();
    EXPECT_GT(event_time(events, "died", 0), 0);
    bool replaced = false;
    for (const auto& e : events)
        if (e.at("kind").as_string() == "start" && std::string(e.at("message").as_string()).find("replacing " + name + ", which died") != std::string::npos)
            replaced = true;
    EXPECT_TRUE(replaced);
    load.stop();
    EXPECT_EQ(not_2xx(load), 0) << load.summary();
    f.stop();
}

// A server that stops answering (SIGSTOP: its socket still accepts, nothing answers) fails
// its health checks; after servers.unhealthy_after it is stopped (SIGKILL, as SIGTERM cannot
// reach a stopped process) and replaced.
TEST(Fleet, AServerFailingHealthChecksIsReplaced) {
    Options o;
    o.min = 2;
    o.initial = 2;
    Fleet f(o);
    ASSERT_TRUE(f.wait_for(30s, [](const json::object& s) { return Fleet::in_service(s) == 2; }));
    auto victim = f.status().at("servers").as_array()[1].as_object();
    const auto pid = static_cast<pid_t>(victim.at("pid").as_int64());
    ASSERT_EQ(::kill(pid, SIGSTOP), 0);
    ASSERT_TRUE(f.wait_for(40s, [&](const json::object& st) {
        if (Fleet::in_service(st) != 2) return false;
        for (const auto& sv : st.at("servers").as_array())
            if (sv.as_object().at("pid").as_int64() == pid) return false;
        return true;
    })) << json::serialize(f.status());
    auto events = f.events();
    EXPECT_GT(event_time(events, "unhealthy", 0), 0);
    ::kill(pid, SIGCONT);  // in case it is still around
    f.stop();
}

// The command line: status prints the fleet; knobs on one server changes that one only; a bad
// token is refused.
TEST(Fleet, CommandLineAndApi) {
    Options o;
    o.min = 2;
    o.initial = 2;
    Fleet f(o);
    ASSERT_TRUE(f.wait_for(30s, [](const json::object& s) { return Fleet::in_service(s) == 2; }));
    EXPECT_EQ(f.knobs({"--server", "web-2", "--latency-ms", "7"}), 0);
    ASSERT_TRUE(f.wait_for(5s, [](const json::object& s) {
        for (const auto& sv : s.at("servers").as_array())
            if (sv.as_object().at("name").as_string() == "web-2" && !sv.as_object().at("knob_latency_ms").is_null() &&
                sv.as_object().at("knob_latency_ms").to_number<double>() == 7)
                return true;
        return false;
    }));
    auto s = f.status();
    for (const auto& sv : s.at("servers").as_array())
        if (sv.as_object().at("name").as_string() == "web-1") EXPECT_NE(json::serialize(sv.as_object().at("knob_latency_ms")), "7");
    EXPECT_TRUE(s.at("knobs").as_object().empty());
    EXPECT_EQ(f.knobs({"--server", "web-9", "--latency-ms", "7"}), 1);
    auto denied = fetch(f.dashboard, "PUT", "/api/knobs", {{"Authorization", "Bearer nope"}}, R"({"latency_ms": 5})");
    EXPECT_EQ(denied.status, 401);
    auto page = fetch(f.dashboard, "GET", "/");
    EXPECT_EQ(page.status, 200);
    EXPECT_NE(page.body.find("<svg"), std::string::npos);
    auto chart = fetch(f.dashboard, "GET", "/charts/summary.svg");
    EXPECT_EQ(chart.status, 200);
    f.stop();
}
