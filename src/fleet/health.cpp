// Each pass of the controller's loop (every 100 ms): HAProxy restarted if it died, servers
// that exited taken out (and replaced), HAProxy's view of each server read, starting
// servers probed and registered once ready, unhealthy, late or drained ones stopped.
#include "fleet/fleet.hpp"
#include "fleet/process.hpp"
#include "fleet/servers.hpp"
#include "fleet/support.hpp"
#include "http/client.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <csignal>

namespace photoshare::fleet {

using namespace std::chrono_literals;

void Fleet::housekeeping() {
    const auto t = now();
    if (!stop_ && !haproxy_alive() && t >= next_start_allowed_) restart_haproxy(t);
    const auto stats = read_stats();
    // Exits first (a dead server's slot is released before anything else looks at it).
    reap_exits();
    if (stats) apply_stats(*stats);
    for (auto& s : state_.servers) check_server(s, t, stats.has_value());  // nothing in the loop adds or removes servers
    reconcile();
    if (!site_open_) open_site();
    if (!started_) check_started();
}

std::optional<std::vector<ServerStat>> Fleet::read_stats() {
    try {
        return parse_show_stat(api_.command("show stat"), kBackend);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

void Fleet::reap_exits() {
    for (std::size_t i = state_.servers.size(); i-- > 0;)
        if (auto st = try_reap(state_.servers[i].pid)) on_exit(i, st->describe());
}

void Fleet::apply_stats(const std::vector<ServerStat>& stats) {
    std::lock_guard lock(mutex_);
    for (auto& s : state_.servers) {
        for (const auto& st : stats) {
            if (st.name != s.name) continue;
            s.haproxy_status = st.status;
            s.check_status = st.check_status;
            s.sessions = st.scur;
            s.queued = st.qcur;
            s.rtime_ms = st.rtime;
        }
    }
}

void Fleet::check_server(ServerRecord& s, TimePoint t, bool have_stats) {
    switch (s.state) {
        case ServerState::starting: check_starting(s, t); break;
        case ServerState::in_service:
            if (have_stats) check_in_service(s, t);
            break;
        case ServerState::draining: check_draining(s, t, have_stats); break;
        case ServerState::stopping: check_stopping(s, t); break;
    }
}

// Registered once /readyz answers 200; stopped (and replaced) if that takes start_timeout.
void Fleet::check_starting(ServerRecord& s, TimePoint t) {
    if (t - s.started_at > config_.servers.start_timeout) {
        stop_server(s, fmt::format("failed to become ready within {:.0f} s", seconds(config_.servers.start_timeout)));
        pending_why_ = "replacing " + s.name + ", which was not ready in time";
        return;
    }
    try {
        auto res = http::fetch(s.address, "GET", "/readyz", {}, "", 500ms);
        if (res.status == 200) register_server(s);
    } catch (const std::exception&) {
        // not listening yet
    }
}

// Failing HAProxy's health checks for unhealthy_after: stopped and replaced.
void Fleet::check_in_service(ServerRecord& s, TimePoint t) {
    if (s.up()) {
        if (s.down_since) event("ready", fmt::format("{} passes its health checks again", s.name));
        std::lock_guard lock(mutex_);
        s.down_since.reset();
        return;
    }
    if (!s.down_since) {
        {
            std::lock_guard lock(mutex_);
            s.down_since = t;
        }
        event("unhealthy", fmt::format("{} fails its health checks (HAProxy: {}, {}); replaced if it still does in {:.0f} s", s.name,
                                       s.haproxy_status, s.check_status, seconds(config_.servers.unhealthy_after)));
    } else if (t - *s.down_since >= config_.servers.unhealthy_after) {
        stop_server(s, fmt::format("failed its health checks for {:.0f} s (HAProxy: {}, {})", seconds(t - *s.down_since), s.haproxy_status,
                                   s.check_status));
        pending_why_ = "replacing " + s.name + ", which failed its health checks";
    }
}

// Stopped once HAProxy reports nothing in progress for it, or at its drain deadline.
void Fleet::check_draining(ServerRecord& s, TimePoint t, bool have_stats) {
    const bool idle = have_stats && s.sessions == 0 && s.queued == 0;
    if (idle) stop_server(s, fmt::format("drained in {:.1f} s ({})", seconds(t - s.state_since), s.why));
    else if (t >= s.drain_deadline)
        stop_server(s, fmt::format("drain deadline of {:.0f} s passed with {} session(s) ({})", seconds(config_.servers.drain_timeout), s.sessions, s.why));
}

// SIGKILL once stop_timeout has passed since SIGTERM (once).
void Fleet::check_stopping(ServerRecord& s, TimePoint t) {
    if (t >= s.stop_deadline && s.stop_deadline.count() > 0) {
        event("stop", fmt::format("{} (pid {}) still running {:.0f} s after SIGTERM: SIGKILL", s.name, s.pid, seconds(config_.servers.stop_timeout)));
        send_signal(s.pid, SIGKILL);
        std::lock_guard lock(mutex_);
        s.stop_deadline = TimePoint{0};
    }
}

// The fleet has started once the initial servers are in service.
void Fleet::check_started() {
    int ready = 0;
    for (const auto& s : state_.servers)
        if (s.state == ServerState::in_service) ++ready;
    if (ready >= config_.servers.initial) {
        std::lock_guard lock(mutex_);
        started_ = true;
        state_.phase = "running";
        cv_.notify_all();
    }
}

// The site's port opens when the first server is in service and HAProxy sees it up.
void Fleet::open_site() {
    for (const auto& s : state_.servers) {
        if (s.state != ServerState::in_service || !s.up()) continue;
        try {
            api_.expect_ok(fmt::format("add map {} open 1", site_open_map(config_).string()));
        } catch (const std::exception& e) {
            spdlog::warn("HAProxy: {}", e.what());  // tried again at the next tick
            return;
        }
        site_open_ = true;
        event("haproxy", fmt::format("the site is open on {}: {} is in service", config_.haproxy.listen, s.name));
        return;
    }
}

// A server's process ended: its slot is freed, and, unless it was being stopped, the event
// says why a new one replaces it (reconcile starts it).
void Fleet::on_exit(std::size_t index, const std::string& how) {
    ServerRecord s;
    {
        std::lock_guard lock(mutex_);
        s = state_.servers[index];
        state_.servers.erase(state_.servers.begin() + static_cast<std::ptrdiff_t>(index));
    }
    if (s.state != ServerState::starting) api(fmt::format("set server {}/{} state maint", kBackend, s.name));
    const auto t = now();
    switch (s.state) {
        case ServerState::starting:
            ++start_failures_;
            next_start_allowed_ = t + start_backoff(start_failures_);
            event("exit", fmt::format("{} (pid {}) exited while starting ({}); next start in {:.1f} s. The end of {}.log:{}", s.name, s.pid, how,
                                      seconds(next_start_allowed_ - t), s.name, tail(config_.state_dir / (s.name + ".log"), 5)));
            pending_why_ = "replacing " + s.name + ", which failed to start";
            break;
        case ServerState::in_service:
        case ServerState::draining:
            event("died", fmt::format("{} (pid {}) died ({}) while {}: taken out of HAProxy; a new server replaces it", s.name, s.pid, how, to_string(s.state)));
            pending_why_ = "replacing " + s.name + ", which died";
            break;
        case ServerState::stopping:
            event("stopped", fmt::format("{} (pid {}) stopped ({}) {:.1f} s after SIGTERM; its slot is free", s.name, s.pid, how, seconds(t - s.state_since)));
            break;
    }
}

}  // namespace photoshare::fleet
