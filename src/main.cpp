// photoshare: one binary, several commands.
//   serve    run the web server
//   config   print the effective configuration (secrets redacted) or every key
//   migrate  bring the database schema up to date and exit
//   knobs    read or set a running server's latency and CPU knobs
//   fsck     check (and repair) that photo rows and stored files match (src/app/fsck.hpp)
//   fleet    run a fleet of servers behind HAProxy that follows the load (src/fleet/)
#include "app/site.hpp"
#include "app/fsck.hpp"
#include "config/config.hpp"
#include "fleet/cli.hpp"
#include "http/client.hpp"
#include "image/image.hpp"
#include "http/router.hpp"
#include "http/server.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <iostream>

using namespace photoshare;

namespace {

struct CommonOptions {
    std::string config_file;
    std::string listen;
    std::string data_dir;
    std::string name;
    std::vector<std::string> sets;

    // --listen and --name only where they mean something (serve, config; knobs: --listen).
    void add_to(CLI::App& cmd, bool with_listen, bool with_name) {
        cmd.add_option("-c,--config", config_file, "TOML configuration file (also PHOTOSHARE_CONFIG)");
        if (with_listen) cmd.add_option("--listen", listen, "address:port to listen on (server.listen)");
        cmd.add_option("--data-dir", data_dir, "directory for all local state (server.data_dir)");
        if (with_name) cmd.add_option("--name", name, "server name shown on pages (server.name)");
        cmd.add_option("--set", sets, "any key=value, e.g. --set limits.max_upload_bytes=50MiB (repeatable)");
    }

    config::Sources sources() const {
        config::Sources s;
        s.file = config_file;
        s.environment = config::process_environment();
        if (s.file.empty())
            for (const auto& [k, v] : s.environment)
                if (k == "PHOTOSHARE_CONFIG") s.file = v;
        if (!listen.empty()) s.flags.emplace_back("server.listen", listen);
        if (!data_dir.empty()) s.flags.emplace_back("server.data_dir", data_dir);
        if (!name.empty()) s.flags.emplace_back("server.name", name);
        for (const auto& kv : sets) {
            auto eq = kv.find('=');
            if (eq == std::string::npos) throw config::Error("--set needs key=value, got '" + kv + "'");
            s.flags.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
        }
        return s;
    }
};

void setup_logging(const config::Config& c) {
    spdlog::set_level(spdlog::level::from_str(c.log.level));
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
}

int serve(const config::Config& cfg) {
    setup_logging(cfg);
    image::initialize();  // before any other thread starts: it sets an environment variable
    app::Site site(cfg);
    http::Router router;
    site.add_routes(router);
    http::Server server(site.server_options(), router, site.hooks());
    server.listen();
    site.attach(server, server.local_address());
    spdlog::info("photoshare {} '{}' listening on http://{} (pid {})", PHOTOSHARE_VERSION, site.info().name, server.local_address(),
                 site.info().pid);
    spdlog::info("{}", site.describe());
    server.run();
    spdlog::info("stopped");
    return 0;
}

// `photoshare knobs`: reads or sets a running server's knobs through /admin/knobs.
int knobs_command(const config::Config& cfg, const std::string& url_opt, const std::string& token_opt, long latency, long cpu, long slots) {
    std::string address = url_opt.empty() ? cfg.server.listen : url_opt;
    if (address.starts_with("http://")) address.erase(0, 7);
    if (auto slash = address.find('/'); slash != std::string::npos) address.resize(slash);
    if (address.starts_with("0.0.0.0:")) address = "127.0.0.1" + address.substr(7);
    std::string token = token_opt.empty() ? cfg.admin.token : token_opt;
    if (token.empty()) {
        std::ifstream in(std::filesystem::path(cfg.server.data_dir) / "admin.token");
        std::getline(in, token);
    }
    if (token.empty()) throw std::runtime_error("no admin token: pass --token, or --data-dir of the server");
    boost::json::object body;
    if (latency >= 0) body["latency_ms"] = latency;
    if (cpu >= 0) body["cpu_ms"] = cpu;
    if (slots >= 0) body["slots"] = slots;
    std::vector<std::pair<std::string, std::string>> headers{{"Authorization", "Bearer " + token}};
    http::ClientResponse res;
    if (body.empty()) {
        res = http::fetch(address, "GET", "/admin/knobs", headers);
    } else {
        headers.emplace_back("Content-Type", "application/json");
        res = http::fetch(address, "PUT", "/admin/knobs", headers, boost::json::serialize(body));
    }
    std::cout << res.body << std::endl;
    return res.status == 200 ? 0 : 1;
}

int run(int argc, char** argv) {
    CLI::App cli{"photoshare: a photo-sharing site that scales from one process to a fleet"};
    cli.require_subcommand(1);
    cli.set_version_flag("--version", PHOTOSHARE_VERSION);

    CommonOptions serve_opts, config_opts, migrate_opts, knobs_opts;
    auto* serve_cmd = cli.add_subcommand("serve", "Run the web server");
    serve_opts.add_to(*serve_cmd, true, true);

    auto* config_cmd = cli.add_subcommand("config", "Print the effective configuration (secrets redacted)");
    config_opts.add_to(*config_cmd, true, true);
    bool list_keys = false;
    config_cmd->add_flag("--keys", list_keys, "List every key with its default and meaning");

    auto* migrate_cmd = cli.add_subcommand("migrate", "Bring the database schema up to date and exit");
    migrate_opts.add_to(*migrate_cmd, false, false);

    auto* knobs_cmd = cli.add_subcommand("knobs", "Read or set a running server's latency and CPU knobs");
    knobs_opts.add_to(*knobs_cmd, true, false);
    std::string knobs_url, knobs_token;
    long latency = -1, cpu = -1, slots = -1;
    knobs_cmd->add_option("--url", knobs_url, "server address (default: server.listen)");
    knobs_cmd->add_option("--token", knobs_token, "admin token (default: admin.token or DATA_DIR/admin.token)");
    knobs_cmd->add_option("--latency-ms", latency, "delay added to every page request")->check(CLI::Range(0L, 60000L));
    knobs_cmd->add_option("--cpu-ms", cpu, "computation added to every page request")->check(CLI::Range(0L, 60000L));
    knobs_cmd->add_option("--slots", slots, "page requests worked on at once (0: no limit)")->check(CLI::Range(0L, 60000L));

    CommonOptions fsck_opts;
    auto* fsck_cmd = cli.add_subcommand("fsck", "Check that every photo row has its files and every file its row; --repair fixes");
    fsck_opts.add_to(*fsck_cmd, false, false);
    app::fsck::Options fsck_options;
    std::string fsck_grace;
    fsck_cmd->add_flag("--repair", fsck_options.repair,
                       "Remove files without a row older than --grace, and rows missing a file (with their other file)");
    fsck_cmd->add_option("--grace", fsck_grace,
                         "Files without a row younger than this may be uploads in flight: left alone (default 1h; 0 also removes "
                         "files of unknown age, e.g. in S3 — only when no upload is in flight)");
    fsck_cmd->add_option("--list", fsck_options.max_listed, "Problems of each kind listed in the report (default 20)");

    auto fleet_cli = fleet::add_cli(cli);

    CLI11_PARSE(cli, argc, argv);
    if (fleet_cli->parsed()) return fleet_cli->run();

    try {
        if (config_cmd->parsed() && list_keys) {
            for (const auto& k : config::keys())
                std::cout << fmt::format("{:32} {:16} {}{}\n", k.key, k.default_value.empty() ? "\"\"" : k.default_value, k.help,
                                         k.secret ? " [secret: redacted in output]" : "");
            return 0;
        }
        CommonOptions& opts = serve_cmd->parsed() ? serve_opts : config_cmd->parsed() ? config_opts : migrate_cmd->parsed() ? migrate_opts
                              : fsck_cmd->parsed() ? fsck_opts : knobs_opts;
        auto sources = opts.sources();
        auto cfg = config::load(sources);
        if (config_cmd->parsed()) {
            std::cout << config::describe(cfg, sources);
            return 0;
        }
        if (migrate_cmd->parsed()) {
            setup_logging(cfg);
            auto repo = store::open(cfg.database_url(), store::Options{static_cast<int>(cfg.database.pool_size), cfg.database.acquire_timeout});
            repo->migrate();
            std::cout << "schema version " << repo->schema_version() << " (" << repo->describe() << ")\n";
            return 0;
        }
        if (knobs_cmd->parsed()) return knobs_command(cfg, knobs_url, knobs_token, latency, cpu, slots);
        if (fsck_cmd->parsed()) {
            spdlog::set_level(spdlog::level::warn);
            if (!fsck_grace.empty()) {
                fsck_options.grace = app::fsck::parse_grace(fsck_grace);
                fsck_options.grace_explicit = true;
            }
            return app::fsck::run(cfg, fsck_options, std::cout, std::cerr);
        }
        return serve(cfg);
    } catch (const config::Error& e) {
        std::cerr << "photoshare: " << e.what() << '\n';
        return 2;
    }
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {  // also what setting up the command line can throw
        std::cerr << "photoshare: " << e.what() << '\n';
        return 1;
    }
}
