// HAProxy's process: its configuration written and checked, started, watched, restarted
// (with the servers put back), and the runtime API calls the controller makes.
#include "fleet/fleet.hpp"
#include "fleet/process.hpp"
#include "fleet/servers.hpp"
#include "fleet/support.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <fstream>

namespace photoshare::fleet {

using namespace std::chrono_literals;

void Fleet::start_haproxy() {
    if (!log_) log_ = std::make_unique<LogReceiver>(config_.state_dir / "haproxy.log");
    auto cfg_path = config_.state_dir / "haproxy.cfg";
    {
        std::ofstream out(cfg_path);
        out << haproxy_config(config_, log_->port());
        if (!out) throw std::runtime_error("cannot write " + cfg_path.string());
    }
    // Every slot starts in maintenance, so until a server is in service a request could only
    // get a 503: the frontend refuses connections until open_site() adds its key to the map,
    // written empty here.
    write_haproxy_files(config_);
    site_open_ = false;
    auto out_log = config_.state_dir / "haproxy.out";
    check_haproxy_config(cfg_path, out_log);
    std::filesystem::remove(config_.state_dir / "haproxy.sock");
    const auto [host, port] = host_and_port(config_.haproxy.listen);
    if (port_in_use(host, std::stoi(port)))
        throw std::runtime_error(fmt::format("{} (haproxy.listen) is in use by another process", config_.haproxy.listen));
    haproxy_pid_ = spawn({{config_.haproxy.binary, "-db", "-f", cfg_path.string()}, {}, out_log});
    wait_for_admin_socket(cfg_path, out_log);
}

// Checked first, so a bad setting is reported as such rather than as a failed start.
void Fleet::check_haproxy_config(const std::filesystem::path& cfg_path, const std::filesystem::path& out_log) {
    pid_t check = spawn({{config_.haproxy.binary, "-c", "-q", "-f", cfg_path.string()}, {}, out_log});
    auto checked = wait_for_exit(check, 10s);
    if (!checked || !checked->exited || checked->code != 0)
        throw std::runtime_error(fmt::format("HAProxy rejects {} ({}):{}", cfg_path.string(),
                                             checked ? checked->describe() : "timed out", tail(out_log, 10)));
}

// Until HAProxy answers on its admin socket (it is running), or it exits, or 10 s pass.
void Fleet::wait_for_admin_socket(const std::filesystem::path& cfg_path, const std::filesystem::path& out_log) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);  // not 10s: cppcheck 2.10 cannot evaluate it
    while (std::chrono::steady_clock::now() < deadline) {
        if (auto st = try_reap(haproxy_pid_)) {
            haproxy_pid_ = -1;
            throw std::runtime_error(fmt::format("HAProxy exited at start ({}):{}", st->describe(), tail(out_log, 10)));
        }
        try {
            if (api_.command("show info").find("Name: HAProxy") != std::string::npos) {
                {
                    std::lock_guard lock(mutex_);
                    state_.haproxy_running = true;
                }
                event("haproxy", fmt::format("HAProxy (pid {}) on {}, {} server slots; configuration {}", haproxy_pid_, config_.haproxy.listen,
                                             config_.slot_count(), cfg_path.string()));
                return;
            }
        } catch (const std::exception&) {
        }
        std::this_thread::sleep_for(50ms);
    }
    send_signal(haproxy_pid_, SIGKILL);
    wait_for_exit(haproxy_pid_, 2s);
    haproxy_pid_ = -1;
    throw std::runtime_error("HAProxy did not open its admin socket within 10 s:" + tail(out_log, 10));
}

bool Fleet::haproxy_alive() {
    if (haproxy_pid_ <= 0) return false;
    if (auto st = try_reap(haproxy_pid_)) {
        event("error", fmt::format("HAProxy (pid {}) exited ({}); restarting it", haproxy_pid_, st->describe()));
        haproxy_pid_ = -1;
        std::lock_guard lock(mutex_);
        state_.haproxy_running = false;
        return false;
    }
    return true;
}

void Fleet::restart_haproxy(TimePoint t) {
    try {
        start_haproxy();
        // A new HAProxy starts with every slot in maintenance: put the servers back.
        for (auto& s : state_.servers) {
            if (s.state != ServerState::in_service && s.state != ServerState::draining) continue;
            const auto [host, port] = host_and_port(s.address);
            api(fmt::format("set server {}/{} addr {} port {}", kBackend, s.name, host, port));
            api(fmt::format("set server {}/{} state {}", kBackend, s.name, s.state == ServerState::in_service ? "ready" : "drain"));
        }
        open_site();
    } catch (const std::exception& e) {
        event("error", fmt::format("HAProxy could not be restarted: {}", e.what()));
        next_start_allowed_ = t + 5s;
    }
}

void Fleet::api(const std::string& command) {
    try {
        api_.expect_ok(command);
    } catch (const std::exception& e) {
        spdlog::warn("HAProxy: {}", e.what());
    }
}

}  // namespace photoshare::fleet
