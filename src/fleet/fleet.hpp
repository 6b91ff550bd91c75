// The fleet controller: starts HAProxy and the photoshare servers, registers each in HAProxy
// once it is ready, measures, asks the policy, and carries its decision out (start a server,
// or drain one and stop it), replaces servers that die or fail their health checks, and
// records everything it did and why. One thread does all of it; the dashboard reads the
// state under a lock.
#pragma once

#include "fleet/fleet_config.hpp"
#include "fleet/haproxy_config.hpp"
#include "fleet/log_receiver.hpp"
#include "fleet/runtime_api.hpp"
#include "fleet/policy.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace photoshare::fleet {

enum class ServerState {
    starting,    // spawned, /readyz not yet 200
    in_service,  // registered in HAProxy (may be DOWN there: see `up`)
    draining,    // HAProxy sends it nothing new; waiting for its sessions to end
    stopping,    // SIGTERM sent (drained, unhealthy, or the fleet is stopping)
};
const char* to_string(ServerState s);

struct Knobs {
    std::optional<long> latency_ms, cpu_ms, slots;
    bool empty() const { return !latency_ms && !cpu_ms && !slots; }
    std::string describe() const;  // "latency_ms=1200 slots=4"
};

struct ServerRecord {
    int slot = 0;
    std::string name;  // web-N, also its HAProxy server name and its --name
    std::string address;  // host:port
    pid_t pid = -1;
    ServerState state = ServerState::starting;
    TimePoint started_at{0}, state_since{0}, in_service_since{0};
    std::string why;  // why it is draining or stopping
    // From HAProxy
    std::string haproxy_status, check_status;
    std::uint64_t sessions = 0, queued = 0, rtime_ms = 0;
    std::optional<TimePoint> down_since;  // failing health checks since
    bool up() const { return haproxy_status == "UP" || haproxy_status.starts_with("UP "); }
    // The last interval
    std::optional<double> latency_ms, rps, in_flight, cpu_percent;
    std::optional<double> knob_latency_ms, knob_slots;
    std::uint64_t requests = 0, errors = 0;  // at the load balancer, since it started
    // Internal
    TimePoint drain_deadline{0}, stop_deadline{0};
    std::optional<std::chrono::microseconds> last_cpu;
};

struct Event {
    TimePoint at{0};
    std::string kind;  // start, ready, scale-out, scale-in, drain, stop, exit, died, unhealthy, replace, knobs, policy, haproxy, fleet
    std::string message;
};

// The fleet as a whole over one evaluation interval (for charts and history.jsonl).
struct FleetTick {
    TimePoint at{0};
    int desired = 0, in_service = 0, starting = 0, draining = 0;
    std::optional<double> latency_ms;  // request-weighted over every server
    double rps = 0;
    LogCounts requests;  // everything HAProxy logged in the interval, <NOSRV> included
    std::optional<double> policy_value;
    std::string rule;
};

// What the dashboard and the control API see (read under the fleet's lock).
struct FleetState {
    std::chrono::system_clock::time_point started_wall;
    std::vector<ServerRecord> servers;
    std::deque<Event> events;
    std::deque<Sample> samples;
    std::deque<FleetTick> ticks;
    std::vector<ScalingAction> actions;
    int desired = 0;
    Knobs knobs;  // fleet-wide knobs: every server, and every new one, gets them
    Decision last_decision;
    LogCounts totals;  // every request since the fleet started
    bool haproxy_running = false;
    std::string phase = "starting";  // starting, running, stopping, stopped, failed
};

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
    void run();
    void start_haproxy();
    bool haproxy_alive();
    void housekeeping();
    void evaluate();
    void reconcile();
    void spawn_server(int slot);
    void register_server(ServerRecord& s);
    void drain_server(ServerRecord& s, const std::string& why);
    void stop_server(ServerRecord& s, const std::string& why);
    void on_exit(std::size_t index, const std::string& how);
    void shutdown_all();
    void event(const std::string& kind, const std::string& message);
    void write_history(const FleetTick& tick, const Sample& sample);
    int capacity() const;  // starting + in service
    std::optional<int> free_slot() const;
    void api(const std::string& command);  // logged on failure, never throws

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
