// What the dashboard's files share (dashboard.cpp: routes; dashboard_page.cpp: the HTML;
// dashboard_charts.cpp: the charts; dashboard_json.cpp: the JSON API).
#pragma once

#include "fleet/fleet.hpp"
#include "fleet/svg.hpp"

#include <optional>
#include <string>
#include <vector>

namespace photoshare::fleet::dashboard {

svg::Chart size_chart(const FleetState& s, const FleetConfig& c, TimePoint now);
svg::Chart latency_chart(const FleetState& s, const FleetConfig& c, TimePoint now);
svg::Chart requests_chart(const FleetState& s, const FleetConfig& c, TimePoint now);
// What the policy looks at, when that is not the latency chart already.
std::optional<svg::Chart> policy_chart(const FleetState& s, const FleetConfig& c, TimePoint now);
// Charts one above the other in one <svg>.
std::string stacked(const std::vector<svg::Chart>& charts);

}  // namespace photoshare::fleet::dashboard
