// The `fleet` subcommand's options (CLI11), for main.cpp. Header-only, so that the fleet
// library itself does not depend on CLI11.
#pragma once

#include "fleet/command.hpp"

#include <CLI/CLI.hpp>

#include <memory>

namespace photoshare::fleet {

struct Cli {
    CLI::App* fleet = nullptr;
    CLI::App* status = nullptr;
    CLI::App* knobs = nullptr;
    Command command;

    bool parsed() const { return fleet->parsed(); }
    int run() {
        if (status->parsed()) command.action = "status";
        else if (knobs->parsed()) command.action = "knobs";
        else command.action = "run";
        return run_command(command);
    }
};

inline std::unique_ptr<Cli> add_cli(CLI::App& app) {
    auto cli = std::make_unique<Cli>();
    auto& c = cli->command;
    cli->fleet = app.add_subcommand("fleet", "Run a fleet of servers behind HAProxy that grows and shrinks with load (docs/FLEET.md)");
    cli->fleet->add_option("-c,--config", c.config_file, "fleet TOML (also PHOTOSHARE_FLEET_CONFIG; default fleet.toml)");
    cli->fleet->require_subcommand(0, 1);

    cli->status = cli->fleet->add_subcommand("status", "Show a running fleet: servers, the policy's last decision, recent events");
    cli->status->add_option("-c,--config", c.config_file, "fleet TOML");
    cli->status->add_option("--url", c.url, "the fleet's dashboard address (default: dashboard.listen)");
    cli->status->add_flag("--json", c.json, "print the JSON of /api/status");

    cli->knobs = cli->fleet->add_subcommand("knobs", "Set the latency/CPU/slots knobs of every server of a running fleet, or of one");
    cli->knobs->add_option("-c,--config", c.config_file, "fleet TOML");
    cli->knobs->add_option("--url", c.url, "the fleet's dashboard address (default: dashboard.listen)");
    cli->knobs->add_option("--token", c.token, "admin token (default: STATE_DIR/admin.token)");
    cli->knobs->add_option("--server", c.server, "only this server, e.g. web-2 (default: all, and every server started later)");
    cli->knobs->add_option("--latency-ms", c.latency_ms, "delay added to every page request")->check(CLI::Range(0L, 60000L));
    cli->knobs->add_option("--cpu-ms", c.cpu_ms, "computation added to every page request")->check(CLI::Range(0L, 60000L));
    cli->knobs->add_option("--slots", c.slots, "page requests a server works on at once (0: no limit)")->check(CLI::Range(0L, 60000L));
    return cli;
}

}  // namespace photoshare::fleet
