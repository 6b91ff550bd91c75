#include "fleet/scrape.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>

namespace photoshare::fleet {

ServerMetrics parse_server_metrics(std::string_view text) {
    ServerMetrics m;
    while (!text.empty()) {
        auto nl = text.find('\n');
        auto line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (line.empty() || line.front() == '#') continue;
        auto space = line.rfind(' ');
        if (space == std::string_view::npos) continue;
        auto series = line.substr(0, space);
        std::string value_text(line.substr(space + 1));
        char* end = nullptr;
        double value = std::strtod(value_text.c_str(), &end);
        if (end == value_text.c_str()) continue;
        auto brace = series.find('{');
        auto name = series.substr(0, brace);
        if (name == "http_requests_in_flight") m.in_flight = std::max(0.0, value - 1);  // the scrape is in flight too
        else if (name == "photoshare_requests_waiting_for_a_slot") m.waiting_for_slot = value;
        else if (name == "photoshare_knob_latency_ms") m.knob_latency_ms = value;
        else if (name == "photoshare_knob_cpu_ms") m.knob_cpu_ms = value;
        else if (name == "photoshare_knob_slots") m.knob_slots = value;
        else if (name == "http_requests_total") {
            auto labels = brace == std::string_view::npos ? std::string_view{} : series.substr(brace);
            bool probe = labels.find("route=\"/metrics\"") != std::string_view::npos || labels.find("route=\"/readyz\"") != std::string_view::npos ||
                         labels.find("route=\"/healthz\"") != std::string_view::npos;
            if (!probe) m.requests_total += value;
        }
    }
    return m;
}

}  // namespace photoshare::fleet
