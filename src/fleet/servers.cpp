#include "fleet/servers.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace photoshare::fleet {

using namespace std::chrono_literals;

int capacity(const std::vector<ServerRecord>& servers) {
    int n = 0;
    for (const auto& s : servers)
        if (s.state == ServerState::starting || s.state == ServerState::in_service) ++n;
    return n;
}

std::optional<int> free_slot(const std::vector<ServerRecord>& servers, int slot_count) {
    for (int slot = 1; slot <= slot_count; ++slot) {
        bool used = false;
        for (const auto& s : servers)
            if (s.slot == slot) used = true;
        if (!used) return slot;
    }
    return std::nullopt;
}

std::vector<std::size_t> scale_in_order(const std::vector<ServerRecord>& servers) {
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < servers.size(); ++i)
        if (servers[i].state == ServerState::starting || servers[i].state == ServerState::in_service) order.push_back(i);
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const auto& x = servers[a];
        const auto& y = servers[b];
        if ((x.state == ServerState::starting) != (y.state == ServerState::starting)) return x.state == ServerState::starting;
        return x.slot > y.slot;
    });
    return order;
}

Millis start_backoff(int failures) { return std::min<Millis>(30s, Millis(500) * (1 << std::min(failures, 6))); }

StateCounts count_states(const std::vector<ServerRecord>& servers) {
    StateCounts n;
    for (const auto& s : servers) {
        if (s.state == ServerState::in_service && s.up()) ++n.in_service;
        if (s.state == ServerState::starting) ++n.starting;
        if (s.state == ServerState::draining || s.state == ServerState::stopping) ++n.draining;
    }
    return n;
}

boost::json::object knobs_json(const Knobs& knobs) {
    boost::json::object o;
    if (knobs.latency_ms) o["latency_ms"] = *knobs.latency_ms;
    if (knobs.cpu_ms) o["cpu_ms"] = *knobs.cpu_ms;
    if (knobs.slots) o["slots"] = *knobs.slots;
    return o;
}

std::vector<std::string> knob_arguments(const Knobs& knobs) {
    std::vector<std::string> out;
    if (knobs.latency_ms) out.insert(out.end(), {"--set", fmt::format("knobs.latency_ms={}", *knobs.latency_ms)});
    if (knobs.cpu_ms) out.insert(out.end(), {"--set", fmt::format("knobs.cpu_ms={}", *knobs.cpu_ms)});
    if (knobs.slots) out.insert(out.end(), {"--set", fmt::format("knobs.slots={}", *knobs.slots)});
    return out;
}

std::pair<std::string, std::string> host_and_port(const std::string& address) {
    const auto colon = address.rfind(':');
    return {address.substr(0, colon), address.substr(colon + 1)};
}

std::optional<double> cpu_percent(const std::optional<std::chrono::microseconds>& now,
                                  const std::optional<std::chrono::microseconds>& before, Millis span) {
    if (!now || !before) return std::nullopt;
    return 100.0 * static_cast<double>((*now - *before).count()) / 1000.0 / static_cast<double>(span.count());
}

}  // namespace photoshare::fleet
