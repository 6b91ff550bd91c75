#include "fleet/fleet.hpp"

#include "config/config.hpp"
#include "fleet/process.hpp"
#include "fleet/support.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <fcntl.h>
#include <unistd.h>

namespace photoshare::fleet {

using namespace std::chrono_literals;

Fleet::Fleet(FleetConfig config) : config_(std::move(config)), origin_(std::chrono::steady_clock::now()), api_(config_.state_dir / "haproxy.sock") {
    state_.started_wall = std::chrono::system_clock::now();
}

Fleet::~Fleet() {
    request_stop();
    join();
    // Every record was flushed (and checked) when written: nothing is left to report.
    if (history_) (void)std::fclose(history_);
    if (events_file_) (void)std::fclose(events_file_);
}

TimePoint Fleet::now() const { return std::chrono::duration_cast<TimePoint>(std::chrono::steady_clock::now() - origin_); }

void Fleet::inspect(const std::function<void(const FleetState&)>& f) const {
    std::lock_guard lock(mutex_);
    f(state_);
}

// ---------------------------------------------------------------------------------------
// Preparation

void Fleet::prepare() {
    std::filesystem::create_directories(config_.state_dir);
    load_token();
    binary_ = config_.servers.binary.empty() ? self_executable() : config_.servers.binary;
    check_server_config();
    history_ = std::fopen((config_.state_dir / "history.jsonl").c_str(), "w");
    events_file_ = std::fopen((config_.state_dir / "events.jsonl").c_str(), "w");
}

// The admin token of STATE_DIR/admin.token, or a new one written there (mode 0600).
void Fleet::load_token() {
    auto token_file = config_.state_dir / "admin.token";
    token_ = read_first_line(token_file);
    if (token_.size() >= 32) return;
    token_ = random_token();
    int fd = ::open(token_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot write " + token_file.string());
    auto line = token_ + "\n";
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        ::close(fd);
        throw std::runtime_error("cannot write " + token_file.string());
    }
    ::close(fd);
}

// The shared server configuration, checked as the first server will read it.
void Fleet::check_server_config() {
    for (const auto& [k, v] : config_.servers.settings)
        if (k == "admin.token" || k == "server.name" || k == "server.listen" || k == "server.data_dir")
            throw config::Error(fmt::format("invalid fleet configuration: servers.settings: {} is set by the fleet for each server", k));
    config::Sources src;
    src.file = config_.servers.config.string();
    src.environment = config::process_environment();
    if (src.file.empty())
        for (const auto& [k, v] : src.environment)
            if (k == "PHOTOSHARE_CONFIG") src.file = v;
    src.environment.emplace_back("PHOTOSHARE_ADMIN_TOKEN", token_);
    src.flags = config_.servers.settings;
    src.flags.emplace_back("server.name", slot_name(1));
    src.flags.emplace_back("server.listen", fmt::format("{}:{}", config_.servers.host, config_.servers.base_port));
    src.flags.emplace_back("server.data_dir", (config_.state_dir / slot_name(1)).string());
    config::Config cfg;
    try {
        cfg = config::load(src);
    } catch (const config::Error& e) {
        throw config::Error(fmt::format("the servers' configuration{}: {}", src.file.empty() ? "" : " (" + src.file + ")", e.what()));
    }
    if (cfg.database.url.empty() || cfg.storage.url.empty())
        throw config::Error(fmt::format(
            "the servers' configuration{} leaves {} in each server's own data directory: uploads on one server would not show on "
            "the others. Set database.url (e.g. \"sqlite:///srv/fleet/photoshare.db\" for one machine, or postgresql://...) and "
            "storage.url (e.g. \"file:///srv/fleet/media\") in servers.config or [servers.settings]",
            src.file.empty() ? "" : " (" + src.file + ")",
            cfg.database.url.empty() && cfg.storage.url.empty() ? "the database and the photos" : cfg.database.url.empty() ? "the database" : "the photos"));
}

// ---------------------------------------------------------------------------------------
// The thread

void Fleet::start() {
    thread_ = std::thread([this] { run(); });
}

void Fleet::request_stop() {
    stop_ = true;
    cv_.notify_all();
}

bool Fleet::join() {
    if (thread_.joinable()) thread_.join();
    return clean_;
}

bool Fleet::wait_started(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout, [this] { return started_ || start_failed_ || stop_.load(); });
    return started_;
}

void Fleet::run() {
    if (!start_up()) return;
    while (!stop_) {
        try {
            housekeeping();
            if (now() - last_eval_ >= config_.policy.interval) evaluate();
        } catch (const std::exception& e) {
            event("error", fmt::format("controller: {}", e.what()));
        }
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, 100ms, [this] { return stop_.load(); });
    }
    shutdown_all();
    clean_ = true;
    std::lock_guard lock(mutex_);
    cv_.notify_all();
}

// HAProxy, then the initial servers; false (the fleet failed) if HAProxy does not start.
bool Fleet::start_up() {
    try {
        start_haproxy();
    } catch (const std::exception& e) {
        event("error", e.what());
        std::lock_guard lock(mutex_);
        start_failed_ = true;
        state_.phase = "failed";
        cv_.notify_all();
        return false;
    }
    {
        std::lock_guard lock(mutex_);
        state_.desired = config_.servers.initial;
    }
    event("fleet", fmt::format("{} initial server(s), min {}, max {}; policy: {}", config_.servers.initial, config_.servers.min, config_.servers.max,
                               describe_policy(config_.policy)));
    pending_why_ = "initial";
    reconcile();
    last_eval_ = now();
    return true;
}

// ---------------------------------------------------------------------------------------
// Shutdown: HAProxy stops listening and finishes what it has, the servers drain and exit.

void Fleet::shutdown_all() {
    {
        std::lock_guard lock(mutex_);
        state_.phase = "stopping";
    }
    event("fleet", fmt::format("stopping: HAProxy finishes the requests it has, then {} server(s) drain and exit", state_.servers.size()));
    if (haproxy_pid_ > 0) send_signal(haproxy_pid_, SIGUSR1);  // soft stop: stop listening, finish what is in flight
    stop_servers();
    stop_haproxy();
    {
        std::lock_guard lock(mutex_);
        state_.phase = "stopped";
        state_.haproxy_running = false;
    }
    event("fleet", "stopped");
}

// SIGTERM to every server, SIGKILL to those still running after stop_timeout.
void Fleet::stop_servers() {
    for (auto& s : state_.servers)
        if (s.state != ServerState::stopping) send_signal(s.pid, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + config_.servers.stop_timeout;
    while (!state_.servers.empty()) {
        for (std::size_t i = state_.servers.size(); i-- > 0;) {
            if (auto st = try_reap(state_.servers[i].pid)) {
                event("stopped", fmt::format("{} (pid {}) stopped ({})", state_.servers[i].name, state_.servers[i].pid, st->describe()));
                std::lock_guard lock(mutex_);
                state_.servers.erase(state_.servers.begin() + static_cast<std::ptrdiff_t>(i));
            }
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            for (auto& s : state_.servers) {
                event("stop", fmt::format("{} (pid {}) still running: SIGKILL", s.name, s.pid));
                send_signal(s.pid, SIGKILL);
                wait_for_exit(s.pid, 2s);
            }
            std::lock_guard lock(mutex_);
            state_.servers.clear();
            break;
        }
        std::this_thread::sleep_for(50ms);
    }
}

void Fleet::stop_haproxy() {
    if (haproxy_pid_ > 0) {
        if (!wait_for_exit(haproxy_pid_, 10s)) {
            send_signal(haproxy_pid_, SIGKILL);
            wait_for_exit(haproxy_pid_, 2s);
        }
        haproxy_pid_ = -1;
    }
    std::filesystem::remove(config_.state_dir / "haproxy.sock");
}

// ---------------------------------------------------------------------------------------
// Events and records

void Fleet::event(const std::string& kind, const std::string& message) {
    const auto at = now();
    if (kind == "died" || kind == "unhealthy" || kind == "exit" || kind == "error") spdlog::warn("[{}] {}", kind, message);
    else spdlog::info("[{}] {}", kind, message);
    {
        std::lock_guard lock(mutex_);
        state_.events.push_back(Event{at, kind, message});
        while (state_.events.size() > 2000) state_.events.pop_front();
    }
    if (events_file_) {
        boost::json::object o{{"t", seconds(at)}, {"kind", kind}, {"message", message}};
        append_record(events_file_, boost::json::serialize(o) + "\n", events_failed_, "events.jsonl");
    }
}

void Fleet::write_history(const FleetTick& tick, const Sample& sample) {
    if (!history_) return;
    boost::json::object servers;
    for (const auto& s : sample.servers) {
        boost::json::object o;
        o["in_service"] = s.in_service;
        o["latency_ms"] = json_number(server_value(Metric::latency, s, sample.span));
        o["rps"] = json_number(server_value(Metric::rps, s, sample.span));
        o["in_flight"] = json_number(s.in_flight);
        o["cpu"] = json_number(s.cpu_percent);
        servers[s.name] = o;
    }
    boost::json::object line{{"t", seconds(tick.at)},
                             {"desired", tick.desired},
                             {"in_service", tick.in_service},
                             {"starting", tick.starting},
                             {"draining", tick.draining},
                             {"latency_ms", json_number(tick.latency_ms)},
                             {"rps", json_number(tick.rps)},
                             {"requests", tick.requests.requests},
                             {"status_5xx", tick.requests.status_5xx},
                             {"status_4xx", tick.requests.status_4xx},
                             {"failed", tick.requests.failed},
                             {"rule", tick.rule},
                             {"value", json_number(tick.policy_value)},
                             {"servers", servers}};
    append_record(history_, boost::json::serialize(line) + "\n", history_failed_, "history.jsonl");
}

}  // namespace photoshare::fleet
