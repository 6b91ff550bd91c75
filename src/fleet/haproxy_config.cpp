#include "fleet/haproxy_config.hpp"

#include "fleet/haproxy_template.hpp"

#include <fmt/format.h>

#include <fstream>
#include <stdexcept>
#include <vector>

namespace photoshare::fleet {

std::string slot_name(int slot) { return fmt::format("web-{}", slot); }

std::filesystem::path site_open_map(const FleetConfig& config) { return config.state_dir / "site-open.map"; }
std::filesystem::path unavailable_page(const FleetConfig& config) { return config.state_dir / "errors/503.html"; }

void write_haproxy_files(const FleetConfig& config) {
    auto write = [](const std::filesystem::path& path, std::string_view text) {
        std::filesystem::create_directories(path.parent_path());
        std::ofstream out(path, std::ios::trunc);
        out << text;
        if (!out) throw std::runtime_error("cannot write " + path.string());
    };
    write(site_open_map(config), "");
    write(unavailable_page(config), unavailable_page_text());
}

namespace {

std::vector<std::string> preamble(const FleetConfig& c) {
    return {
        fmt::format("# Written by `photoshare fleet` ({}) at every start; edits are lost.", c.file.string()),
        "# The settings are those of deploy/haproxy/haproxy.cfg (read its comments for the why); what",
        fmt::format("# differs: the servers are {} slots (server-template) that start in maintenance and that", c.slot_count()),
        "# the fleet fills through the admin socket, the request log goes to the fleet over UDP, and",
        "# requests go to the server with the fewest in progress.",
    };
}

// Every request, to the fleet over UDP, in the format parse_request_log() reads.
void set_request_log(HaproxyTemplate& t, int log_port) {
    t.replace("global", "log",
              {"# The fleet reads this log: one line per request with the server and its timings.",
               fmt::format("log 127.0.0.1:{} len 8192 format raw local0 info", log_port)});
    t.replace("defaults", "option httplog", {});
    t.insert_after("defaults", "option dontlognull",
                   {"# REQ server queue connect response-headers total status retries client request",
                    R"(log-format "REQ %s %Tw %Tc %Tr %Ta %ST %rc %ci:%cp %{+Q}r")"});
}

void set_addresses(HaproxyTemplate& t, const FleetConfig& c) {
    t.set_argument("global", "stats socket", fmt::format("\"{}\"", (c.state_dir / "haproxy.sock").string()));
    t.set_argument("frontend www", "bind", c.haproxy.listen);
    t.insert_after("frontend www", "bind",
                   {"# Closed (connections refused) until a server is in service: the fleet then adds \"open\"",
                    "# to this map, so no request ever gets a 503 because the fleet is still starting.",
                    fmt::format("tcp-request connection reject unless {{ str(open),map(\"{}\") -m found }}", site_open_map(c).string())});
}

// The template finds its error page beside itself; the fleet writes its copy to STATE.
void set_error_page(HaproxyTemplate& t, const FleetConfig& c) {
    auto& line = t.directive("defaults", "http-error");
    const std::string_view file = " file \"";
    const auto at = line.find(file);
    const auto end = at == std::string::npos ? at : line.find('"', at + file.size());
    if (end == std::string::npos) throw std::logic_error("HAProxy template: the defaults' http-error has no file \"...\"");
    line.replace(at + file.size(), end - at - file.size(), unavailable_page(c).string());
}

void set_servers(HaproxyTemplate& t, const FleetConfig& c) {
    const auto backend = fmt::format("backend {}", kBackend);
    if (t.directive("frontend www", "default_backend") != fmt::format("default_backend {}", kBackend))
        throw std::logic_error(fmt::format("HAProxy template: the frontend's default_backend is not {}", kBackend));
    t.replace(backend, "balance",
              {"# leastconn, not deploy/haproxy's roundrobin: a server that has a queue (the slots knob, or",
               "# one that was alone before a scale-out) gets fewer new requests until it has caught up.",
               "# Round robin would keep feeding it its share, and its queue would never drain.", "balance leastconn"});
    t.replace_all(backend, "server",
                  {fmt::format("# web-1 .. web-{}: the fleet sets each one's address, then its state.", c.slot_count()),
                   fmt::format("server-template web- 1-{} {}:{} disabled", c.slot_count(), c.servers.host, c.servers.base_port)});
}

void set_stats(HaproxyTemplate& t, const FleetConfig& c) {
    if (c.haproxy.stats.empty()) {
        t.remove_section("listen stats");
        return;
    }
    t.section("listen stats").comments = {"# The stats page (and Prometheus /metrics): per server state, sessions, errors, retries."};
    t.set_argument("listen stats", "bind", c.haproxy.stats);
}

}  // namespace

std::string haproxy_config(const FleetConfig& c, int log_port, std::string_view template_text) {
    auto t = HaproxyTemplate::parse(template_text);
    set_request_log(t, log_port);
    set_addresses(t, c);
    set_error_page(t, c);
    set_servers(t, c);
    set_stats(t, c);
    return t.render(preamble(c));
}

}  // namespace photoshare::fleet
