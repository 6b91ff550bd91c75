// Each evaluation interval: what HAProxy logged and each server's /metrics and CPU become a
// Sample; the policy (policy.cpp, pure) decides on the history; a change of capacity is
// carried out (reconcile) and every decision recorded.
#include "fleet/fleet.hpp"
#include "fleet/process.hpp"
#include "fleet/servers.hpp"
#include "fleet/support.hpp"
#include "http/client.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>

namespace photoshare::fleet {

using namespace std::chrono_literals;

// A server's /metrics, being read.
struct Fleet::Scrape {
    std::size_t index;
    std::future<std::optional<ServerMetrics>> metrics;
};

void Fleet::evaluate() {
    const auto t = now();
    const auto span = std::max<Millis>(1ms, t - last_eval_);
    last_eval_ = t;
    auto taken = log_ ? log_->take() : LogReceiver::Taken{};
    for (const auto& m : taken.messages) event("haproxy", m);

    auto scrapes = scrape_servers();
    FleetTick tick;
    tick.at = t;
    tick.requests = taken.total;
    const auto sample = measure(t, span, taken, scrapes, tick);
    int desired = 0;
    const auto decision = decide_now(t, sample, taken.total, tick, desired);
    act_on(t, decision, desired);
    record_tick(t, tick, sample);
}

// Each server's /metrics, all at once, each within a bound.
std::vector<Fleet::Scrape> Fleet::scrape_servers() {
    std::vector<Scrape> scrapes;
    const auto timeout = std::min<Millis>(800ms, std::max<Millis>(100ms, config_.policy.interval / 2));
    for (std::size_t i = 0; i < state_.servers.size(); ++i) {
        const auto& s = state_.servers[i];
        if (s.state != ServerState::in_service && s.state != ServerState::draining) continue;
        scrapes.push_back({i, std::async(std::launch::async, [address = s.address, timeout]() -> std::optional<ServerMetrics> {
                               try {
                                   auto res = http::fetch(address, "GET", "/metrics", {}, "", timeout);
                                   if (res.status != 200) return std::nullopt;
                                   return parse_server_metrics(res.body);
                               } catch (const std::exception&) {
                                   return std::nullopt;
                               }
                           })});
    }
    return scrapes;
}

// The interval's Sample (one ServerSample per server scraped), and the fleet's latency and
// request rate in `tick`.
Sample Fleet::measure(TimePoint t, Millis span, const LogReceiver::Taken& taken, std::vector<Scrape>& scrapes, FleetTick& tick) {
    Sample sample;
    sample.at = t;
    sample.span = span;
    double latency_sum = 0;
    std::uint64_t latency_n = 0;
    for (auto& scrape : scrapes) {
        auto m = scrape.metrics.get();
        auto& s = state_.servers[scrape.index];
        const auto counts = taken.servers.count(s.name) ? taken.servers.at(s.name) : LogCounts{};
        latency_sum += counts.latency_sum_ms;
        latency_n += counts.with_latency;
        sample.servers.push_back(measure_server(s, m, counts, span));
    }
    // Requests of servers that have gone since count in the fleet's latency too.
    for (const auto& [name, counts] : taken.servers) {
        bool known = false;
        for (const auto& ss : sample.servers)
            if (ss.name == name) known = true;
        if (!known) {
            latency_sum += counts.latency_sum_ms;
            latency_n += counts.with_latency;
        }
    }
    if (latency_n) tick.latency_ms = latency_sum / static_cast<double>(latency_n);
    tick.rps = static_cast<double>(taken.total.requests) * 1000.0 / static_cast<double>(span.count());
    return sample;
}

// One server's interval, also kept in its record for the dashboard.
ServerSample Fleet::measure_server(ServerRecord& s, const std::optional<ServerMetrics>& m, const LogCounts& counts, Millis span) {
    ServerSample ss;
    ss.name = s.name;
    ss.in_service = s.state == ServerState::in_service && s.up();
    ss.in_service_since = s.in_service_since;
    ss.requests = counts.with_latency;
    ss.latency_sum_ms = counts.latency_sum_ms;
    auto cpu = cpu_time(s.pid);
    const auto cpu_used = cpu_percent(cpu, s.last_cpu, span);
    ss.cpu_percent = cpu_used;
    if (m) ss.in_flight = m->in_flight;
    std::lock_guard lock(mutex_);
    s.last_cpu = cpu;
    s.latency_ms = counts.with_latency ? std::optional<double>(counts.latency_sum_ms / static_cast<double>(counts.with_latency)) : std::nullopt;
    s.rps = static_cast<double>(counts.requests) * 1000.0 / static_cast<double>(span.count());
    s.in_flight = m ? m->in_flight : std::nullopt;
    s.cpu_percent = cpu_used;
    if (m) {
        s.knob_latency_ms = m->knob_latency_ms;
        s.knob_slots = m->knob_slots;
    }
    s.requests += counts.requests;
    s.errors += counts.status_5xx + counts.failed;
    return ss;
}

// The sample joins the history and the policy decides on it; `desired` is the capacity it
// decided from.
Decision Fleet::decide_now(TimePoint t, const Sample& sample, const LogCounts& total, FleetTick& tick, int& desired) {
    std::lock_guard lock(mutex_);
    const auto counts = count_states(state_.servers);
    tick.starting = counts.starting;
    tick.in_service = counts.in_service;
    tick.draining = counts.draining;
    state_.samples.push_back(sample);
    while (!state_.samples.empty() && state_.samples.front().at < t - config_.dashboard.history) state_.samples.pop_front();
    desired = state_.desired;
    PolicyInput in{t, state_.samples, state_.actions, desired, tick.in_service, config_.servers.min, config_.servers.max};
    auto decision = decide(config_.policy, in);
    tick.policy_value = decision.value;
    tick.rule = decision.rule;
    state_.last_decision = decision;
    state_.totals.add(total);
    return decision;
}

// A new capacity is carried out; a new verdict of the policy is an event.
void Fleet::act_on(TimePoint t, const Decision& decision, int desired) {
    if (decision.changes(desired) && !stop_) {
        const bool out = decision.desired > desired;
        {
            std::lock_guard lock(mutex_);
            state_.actions.push_back(ScalingAction{t, desired, decision.desired});
            state_.desired = decision.desired;
        }
        event(out ? "scale-out" : "scale-in", fmt::format("{} ({} rule)", decision.reason, decision.rule));
        pending_why_ = fmt::format("{} to {}", out ? "scale-out" : "scale-in", decision.desired);
        reconcile();
        last_rule_.clear();
    } else if (decision.rule != last_rule_) {
        event("policy", fmt::format("{} ({} rule)", decision.reason, decision.rule));
        last_rule_ = decision.rule;
    } else {
        spdlog::debug("[policy] {}", decision.reason);
    }
}

void Fleet::record_tick(TimePoint t, FleetTick& tick, const Sample& sample) {
    {
        std::lock_guard lock(mutex_);
        tick.desired = state_.desired;
        state_.ticks.push_back(tick);
        while (!state_.ticks.empty() && state_.ticks.front().at < t - config_.dashboard.history) state_.ticks.pop_front();
    }
    write_history(tick, sample);
}

}  // namespace photoshare::fleet
