// What the fleet reads from each server's /metrics (Prometheus text).
#pragma once

#include <optional>
#include <string_view>

namespace photoshare::fleet {

struct ServerMetrics {
    std::optional<double> in_flight;  // page and API requests being handled (the scrape itself left out)
    std::optional<double> waiting_for_slot;
    std::optional<double> knob_latency_ms, knob_cpu_ms, knob_slots;
    double requests_total = 0;  // every request the server has answered, /metrics and probes left out
};

ServerMetrics parse_server_metrics(std::string_view text);

}  // namespace photoshare::fleet
