// The fleet's configuration: one TOML file (docs/FLEET.md has every key). Paths in it are
// relative to the file's directory.
#pragma once

#include "fleet/policy.hpp"

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace photoshare::fleet {

struct FleetConfig {
    std::filesystem::path file;       // the fleet TOML itself (absolute)
    std::filesystem::path state_dir;  // generated HAProxy config, logs, token, server data dirs

    struct Servers {
        int min = 1;
        int max = 4;
        int initial = 1;
        std::string binary;                    // photoshare; empty: this very binary
        std::filesystem::path config;          // the photoshare TOML every server reads; may be empty
        std::vector<std::pair<std::string, std::string>> settings;  // inline keys, passed as --set
        std::string host = "127.0.0.1";
        int base_port = 9011;                  // slot N listens on base_port + N - 1
        int slots = 0;                         // HAProxy server slots; 0: max + 2
        Millis start_timeout{30'000};          // from start to /readyz 200
        Millis drain_timeout{30'000};          // in drain, waiting for sessions to end, before SIGTERM
        Millis stop_timeout{20'000};           // from SIGTERM to SIGKILL
        Millis unhealthy_after{10'000};        // failing health checks this long: replaced
    } servers;

    struct Haproxy {
        std::string listen = "127.0.0.1:8000";
        std::string stats;  // optional stats page address
        std::string binary = "haproxy";
    } haproxy;

    struct Dashboard {
        std::string listen = "127.0.0.1:9000";
        Millis history{30 * 60'000};  // how much history the dashboard (and the policy) keep
    } dashboard;

    PolicyConfig policy;

    int slot_count() const { return servers.slots > 0 ? servers.slots : servers.max + 2; }
};

// Reads and validates; throws config::Error naming the key.
FleetConfig load_fleet_config(const std::filesystem::path& file);
// The same from text; relative paths resolve against `base_dir`.
FleetConfig parse_fleet_config(const std::string& toml_text, const std::filesystem::path& base_dir);

// A one-line description of the policy with its parameters, for logs and the dashboard.
std::string describe_policy(const PolicyConfig& p);

}  // namespace photoshare::fleet
