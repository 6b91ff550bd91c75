// The HAProxy configuration the fleet writes at every start: deploy/haproxy/haproxy.cfg
// (compiled into the binary; see CMakeLists.txt) with what the fleet must change
// substituted: the listen address, the stats socket, the request log (to the fleet over
// UDP, in a format it parses), the servers (`server-template` slots that start in
// maintenance, filled through the runtime API), `balance leastconn`, and the stats page
// (its address, or none).
#pragma once

#include "fleet/fleet_config.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace photoshare::fleet {

inline constexpr const char* kBackend = "photoshare";
// The map whose "open" key lets connections through the site's frontend: empty when HAProxy
// starts, and the key added through the runtime API once a server is in service.
std::filesystem::path site_open_map(const FleetConfig& config);
// Slot N is the HAProxy server "web-N" (server-template web- 1-SLOTS).
std::string slot_name(int slot);

// The text of deploy/haproxy/haproxy.cfg as it was at build time.
std::string_view haproxy_template_text();
// deploy/errors/503.html as it was at build time: HAProxy's page when no server can answer,
// written to unavailable_page(config) at every start.
std::string_view unavailable_page_text();
std::filesystem::path unavailable_page(const FleetConfig& config);
// Writes the files the configuration refers to: the site-open map (empty: the site closed)
// and the error page. Throws std::runtime_error when it cannot.
void write_haproxy_files(const FleetConfig& config);

// The configuration, with the request log sent to 127.0.0.1:log_port. Throws
// std::logic_error when `template_text` lacks a directive the fleet replaces.
std::string haproxy_config(const FleetConfig& config, int log_port, std::string_view template_text = haproxy_template_text());

}  // namespace photoshare::fleet
