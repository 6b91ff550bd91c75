// `photoshare fleet`: run a fleet, or talk to a running one. main.cpp parses the command
// line (fleet/cli.hpp) and calls run_command().
#pragma once

#include <string>

namespace photoshare::fleet {

struct Command {
    std::string action = "run";  // run, status, knobs
    std::string config_file;     // the fleet TOML (default: $PHOTOSHARE_FLEET_CONFIG, else fleet.toml)
    std::string url;             // status/knobs: the fleet's dashboard address (default: dashboard.listen)
    std::string token;           // knobs: the admin token (default: STATE_DIR/admin.token)
    std::string server;          // knobs: one server (default: all, and every new one)
    long latency_ms = -1, cpu_ms = -1, slots = -1;
    bool json = false;           // status: print the JSON as it is
};

// Returns the process exit status. Errors are printed to stderr.
int run_command(const Command& command);

}  // namespace photoshare::fleet
