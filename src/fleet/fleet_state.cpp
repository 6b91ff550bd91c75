#include "fleet/fleet_state.hpp"

#include <fmt/format.h>

namespace photoshare::fleet {

const char* to_string(ServerState s) {
    switch (s) {
        case ServerState::starting: return "starting";
        case ServerState::in_service: return "in service";
        case ServerState::draining: return "draining";
        case ServerState::stopping: return "stopping";
    }
    return "?";
}

std::string Knobs::describe() const {
    std::string out;
    auto add = [&](const char* name, const std::optional<long>& v) {
        if (!v) return;
        if (!out.empty()) out += " ";
        out += fmt::format("{}={}", name, *v);
    };
    add("latency_ms", latency_ms);
    add("cpu_ms", cpu_ms);
    add("slots", slots);
    return out;
}

}  // namespace photoshare::fleet
