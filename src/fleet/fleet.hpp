// The fleet controller: starts HAProxy and the photoshare servers, registers each in HAProxy
// once it is ready, measures, asks the policy, and carries its decision out (start a server,
// or drain one and stop it), replaces servers that die or fail their health checks, and
// records everything it did and why. One thread does all of it; the dashboard reads the
// state under a lock.
//
// One class, its work in files by job:
//   fleet.cpp            the thread: start-up, the loop, shutdown; events and records
//   haproxy_process.cpp  HAProxy's process: its configuration, start, restart, runtime API calls
//   actuation.cpp        the servers: start, register, drain, stop; reconcile; knobs
//   health.cpp           each pass of the loop: exits, HAProxy's view, readiness, health checks
//   evaluation.cpp       each interval: measure, ask the policy (policy.cpp), act, record
#pragma once

#include "fleet/fleet_config.hpp"
#include "fleet/fleet_state.hpp"
#include "fleet/haproxy_config.hpp"
#include "fleet/log_receiver.hpp"
#include "fleet/runtime_api.hpp"
#include "fleet/scrape.hpp"
#include "fleet/show_stat.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <sys/types.h>
#include <thread>
#include <utility>
#include <vector>

namespace photoshare::fleet {

class Fleet {
public:
    // `photoshare` is the server binary (servers.binary, or this executable).
    explicit Fleet(FleetConfig config);
    ~Fleet();
    Fleet(const Fleet&) = delete;
    Fleet& operator=(const Fleet&) = delete;

    // Checks the shared server configuration (throws config::Error with the reason), writes
    // the state directory and the admin token.
    void prepare();
    // Starts the controller thread: HAProxy, the initial servers, then the loop.
    void start();
    // Orderly stop: HAProxy finishes what it has, every server drains and exits. Any thread.
    void request_stop();
    // Waits for the controller thread; true if it ran and stopped cleanly.
    bool join();
    // Blocks until HAProxy and the initial servers are up (true) or the start failed.
    bool wait_started(std::chrono::milliseconds timeout);

    const FleetConfig& config() const { return config_; }
    const std::string& admin_token() const { return token_; }
    TimePoint now() const;

    void inspect(const std::function<void(const FleetState&)>& f) const;

    // Sets knobs on one server (by name) or, with an empty name, on all and on every server
    // started later. Blocking (talks to the servers); returns a JSON text with each result.
    std::string set_knobs(const Knobs& knobs, const std::string& server);

private:
    struct Scrape;

    // fleet.cpp
    void load_token();
    void check_server_config();
    void run();
    bool start_up();
    void shutdown_all();
    void stop_servers();
    void stop_haproxy();
    void event(const std::string& kind, const std::string& message);
    void write_history(const FleetTick& tick, const Sample& sample);

    // haproxy_process.cpp
    void start_haproxy();
    void check_haproxy_config(const std::filesystem::path& cfg, const std::filesystem::path& out_log);
    void wait_for_admin_socket(const std::filesystem::path& cfg, const std::filesystem::path& out_log);
    bool haproxy_alive();
    void restart_haproxy(TimePoint t);
    void api(const std::string& command);  // logged on failure, never throws

    // actuation.cpp
    void spawn_server(int slot);
    void register_server(ServerRecord& s);
    void set_knobs_on(const ServerRecord& s, const Knobs& knobs);
    void drain_server(ServerRecord& s, const std::string& why);
    void stop_server(ServerRecord& s, const std::string& why);
    void enter(ServerRecord& s, ServerState state, TimePoint ServerRecord::*deadline, Millis timeout, const std::string& why);
    void reconcile();
    void scale_out(int desired, int& cap);
    void scale_in(int desired, int cap);
    // (name, address) of the servers to set knobs on; remembers fleet-wide knobs.
    std::vector<std::pair<std::string, std::string>> knob_targets(const Knobs& knobs, const std::string& server);
    Knobs fleet_knobs() const;

    // health.cpp
    void housekeeping();
    std::optional<std::vector<ServerStat>> read_stats();
    void reap_exits();
    void apply_stats(const std::vector<ServerStat>& stats);
    void check_server(ServerRecord& s, TimePoint t, bool have_stats);
    void check_starting(ServerRecord& s, TimePoint t);
    void check_in_service(ServerRecord& s, TimePoint t);
    void check_draining(ServerRecord& s, TimePoint t, bool have_stats);
    void check_stopping(ServerRecord& s, TimePoint t);
    void check_started();
    void open_site();
    void on_exit(std::size_t index, const std::string& how);

    // evaluation.cpp
    void evaluate();
    std::vector<Scrape> scrape_servers();
    Sample measure(TimePoint t, Millis span, const LogReceiver::Taken& taken, std::vector<Scrape>& scrapes, FleetTick& tick);
    ServerSample measure_server(ServerRecord& s, const std::optional<ServerMetrics>& m, const LogCounts& counts, Millis span);
    Decision decide_now(TimePoint t, const Sample& sample, const LogCounts& total, FleetTick& tick, int& desired);
    void act_on(TimePoint t, const Decision& decision, int desired);
    void record_tick(TimePoint t, FleetTick& tick, const Sample& sample);

    FleetConfig config_;
    std::string binary_;
    std::string token_;
    std::chrono::steady_clock::time_point origin_;
    RuntimeApi api_;
    std::unique_ptr<LogReceiver> log_;
    pid_t haproxy_pid_ = -1;

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    FleetState state_;
    std::atomic<bool> stop_{false};
    bool started_ = false, start_failed_ = false, clean_ = false;
    bool site_open_ = false;  // HAProxy's frontend listens (only once a server is in service)
    std::thread thread_;

    TimePoint last_eval_{0};
    std::string last_rule_;
    std::string pending_why_;  // why the next server starts or drains, for its event
    int start_failures_ = 0;
    TimePoint next_start_allowed_{0};
    std::FILE* history_ = nullptr;
    std::FILE* events_file_ = nullptr;
    std::atomic<bool> history_failed_{false}, events_failed_{false};  // a write failed: reported once
};

}  // namespace photoshare::fleet
