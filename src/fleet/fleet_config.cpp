#include "fleet/fleet_config.hpp"

#include "config/config.hpp"

#include <toml++/toml.h>

#include <fmt/format.h>

#include <arpa/inet.h>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace photoshare::fleet {

namespace {

using config::Error;

[[noreturn]] void invalid(const std::string& key, const std::string& expected, const std::string& got) {
    throw Error(fmt::format("invalid fleet configuration: {}: expected {}, got {}", key, expected, got));
}

std::string shown(const toml::node& n) {
    std::ostringstream out;
    if (auto s = n.as_string()) out << '\'' << s->get() << '\'';
    else if (n.is_table()) out << "a table";
    else if (n.is_array()) out << "an array";
    else n.visit([&](auto&& v) { out << v; });
    return out.str();
}

// A table whose keys are checked: a key nobody reads is a typo, and says so.
class Table {
public:
    Table(const toml::table* t, std::string path) : t_(t), path_(std::move(path)) {}

    const toml::node* get(const std::string& key) {
        known_.insert(key);
        return t_ ? t_->get(key) : nullptr;
    }
    std::string key(const std::string& k) const { return path_.empty() ? k : path_ + "." + k; }

    Table sub(const std::string& k) {
        auto* n = get(k);
        if (n && !n->is_table()) invalid(key(k), "a table", shown(*n));
        return Table(n ? n->as_table() : nullptr, key(k));
    }

    void text(const std::string& k, std::string& out) {
        if (auto* n = get(k)) {
            if (!n->is_string()) invalid(key(k), "a string", shown(*n));
            out = n->as_string()->get();
        }
    }
    void integer(const std::string& k, int& out, long lo, long hi) {
        if (auto* n = get(k)) {
            if (!n->is_integer()) invalid(key(k), fmt::format("a whole number from {} to {}", lo, hi), shown(*n));
            auto v = n->as_integer()->get();
            if (v < lo || v > hi) invalid(key(k), fmt::format("a whole number from {} to {}", lo, hi), shown(*n));
            out = static_cast<int>(v);
        }
    }
    void number(const std::string& k, double& out, double lo, double hi) {
        if (auto* n = get(k)) {
            double v = 0;
            if (n->is_integer()) v = static_cast<double>(n->as_integer()->get());
            else if (n->is_floating_point()) v = n->as_floating_point()->get();
            else invalid(key(k), "a number", shown(*n));
            if (!std::isfinite(v) || v < lo || v > hi) invalid(key(k), fmt::format("a number from {} to {}", lo, hi), shown(*n));
            out = v;
        }
    }
    void boolean(const std::string& k, bool& out) {
        if (auto* n = get(k)) {
            if (!n->is_boolean()) invalid(key(k), "true or false", shown(*n));
            out = n->as_boolean()->get();
        }
    }
    // "30s", "250ms", "5m", or a whole number of seconds.
    void duration(const std::string& k, Millis& out, Millis lo = Millis{1}) {
        if (auto* n = get(k)) {
            Millis v{};
            if (n->is_integer()) {
                v = Millis{n->as_integer()->get() * 1000};
            } else if (n->is_string()) {
                try {
                    v = config::parse_duration(n->as_string()->get());
                } catch (const std::exception&) {
                    invalid(key(k), "a duration like \"30s\", \"500ms\" or \"5m\"", shown(*n));
                }
            } else {
                invalid(key(k), "a duration like \"30s\"", shown(*n));
            }
            if (v < lo) invalid(key(k), fmt::format("a duration of at least {} ms", lo.count()), shown(*n));
            out = v;
        }
    }
    void metric(const std::string& k, Metric& out) {
        std::string s;
        text(k, s);
        if (s.empty()) return;
        auto m = parse_metric(s);
        if (!m) invalid(key(k), "\"latency\", \"rps\", \"in_flight\" or \"cpu\"", "'" + s + "'");
        out = *m;
    }

    // Every key present was read (call after all reads).
    void check_unknown() const {
        if (!t_) return;
        for (auto&& [k, v] : *t_) {
            std::string name(k.str());
            if (!known_.count(name)) throw Error(fmt::format("invalid fleet configuration: unknown key '{}'", key(name)));
        }
    }

private:
    const toml::table* t_;
    std::string path_;
    std::set<std::string> known_;
};

// [servers.settings]: "section.key" = value, or nested tables; every value as text, in the
// file's order. Nested tables are walked with a stack of their own, not by recursion.
void flatten(const toml::table& root, std::vector<std::pair<std::string, std::string>>& out) {
    struct Level {
        const toml::table* table;
        std::string prefix;
        toml::table::const_iterator next;
    };
    std::vector<Level> stack{{&root, "", root.cbegin()}};
    while (!stack.empty()) {
        Level& level = stack.back();
        if (level.next == level.table->cend()) {
            stack.pop_back();
            continue;
        }
        auto&& [k, v] = *level.next++;
        std::string key = level.prefix.empty() ? std::string(k.str()) : level.prefix + "." + std::string(k.str());
        if (auto* sub = v.as_table()) {
            stack.push_back({sub, std::move(key), sub->cbegin()});  // `level` is not used after this
        } else if (auto* s = v.as_string()) {
            out.emplace_back(key, s->get());
        } else if (auto* a = v.as_array()) {
            std::string joined;
            for (auto&& item : *a) {
                if (!joined.empty()) joined += ",";
                if (auto* is = item.as_string()) joined += is->get();
                else joined += shown(item);
            }
            out.emplace_back(key, joined);
        } else if (v.is_boolean()) {
            out.emplace_back(key, v.as_boolean()->get() ? "true" : "false");
        } else {
            out.emplace_back(key, shown(v));
        }
    }
}

std::filesystem::path resolve(const std::filesystem::path& base, const std::string& p) {
    std::filesystem::path path(p);
    return (path.is_absolute() ? path : base / path).lexically_normal();
}

void check_address(const std::string& key, const std::string& address) {
    auto colon = address.rfind(':');
    if (colon == std::string::npos || colon == 0) invalid(key, "host:port", "'" + address + "'");
    auto port = address.substr(colon + 1);
    if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 || std::stoi(port) > 65535 ||
        std::stoi(port) == 0)
        invalid(key, "host:port with a port from 1 to 65535", "'" + address + "'");
}

// Where the servers listen, their timeouts, and the checks across keys.
void read_server_addresses(Table& servers, FleetConfig& c) {
    auto& s = c.servers;
    servers.text("host", s.host);
    {
        in_addr ip{};
        if (::inet_pton(AF_INET, s.host.c_str(), &ip) != 1)
            invalid("servers.host", "an IPv4 address (HAProxy's runtime API sets server addresses, not names)", "'" + s.host + "'");
    }
    servers.integer("base_port", s.base_port, 1024, 65535);
    servers.integer("slots", s.slots, 0, 100);
    servers.duration("start_timeout", s.start_timeout);
    servers.duration("drain_timeout", s.drain_timeout, Millis{0});
    servers.duration("stop_timeout", s.stop_timeout);
    servers.duration("unhealthy_after", s.unhealthy_after);
    servers.check_unknown();
    if (s.min > s.max) invalid("servers.min", fmt::format("at most servers.max ({})", s.max), std::to_string(s.min));
    if (s.initial < s.min || s.initial > s.max)
        invalid("servers.initial", fmt::format("from servers.min ({}) to servers.max ({})", s.min, s.max), std::to_string(s.initial));
    if (s.slots != 0 && s.slots < s.max) invalid("servers.slots", fmt::format("0 or at least servers.max ({})", s.max), std::to_string(s.slots));
    if (s.base_port + c.slot_count() - 1 > 65535)
        invalid("servers.base_port", fmt::format("room for {} ports below 65536", c.slot_count()), std::to_string(s.base_port));
}

void read_servers(Table& top, const std::filesystem::path& base_dir, FleetConfig& c) {
    auto servers = top.sub("servers");
    auto& s = c.servers;
    servers.integer("min", s.min, 0, 50);
    servers.integer("max", s.max, 1, 50);
    s.initial = s.min;
    servers.integer("initial", s.initial, 0, 50);
    servers.text("binary", s.binary);
    if (!s.binary.empty()) s.binary = resolve(base_dir, s.binary).string();
    std::string server_config;
    servers.text("config", server_config);
    if (!server_config.empty()) s.config = resolve(base_dir, server_config);
    if (auto* n = servers.get("settings")) {
        if (!n->is_table()) invalid("servers.settings", "a table of photoshare keys", shown(*n));
        flatten(*n->as_table(), s.settings);
    }
    read_server_addresses(servers, c);
}

void read_haproxy(Table& top, FleetConfig& c) {
    auto haproxy = top.sub("haproxy");
    haproxy.text("listen", c.haproxy.listen);
    haproxy.text("stats", c.haproxy.stats);
    haproxy.text("binary", c.haproxy.binary);
    haproxy.check_unknown();
    check_address("haproxy.listen", c.haproxy.listen);
    if (!c.haproxy.stats.empty()) check_address("haproxy.stats", c.haproxy.stats);
}

void read_dashboard(Table& top, FleetConfig& c) {
    auto dashboard = top.sub("dashboard");
    dashboard.text("listen", c.dashboard.listen);
    dashboard.duration("history", c.dashboard.history, Millis{60'000});
    dashboard.check_unknown();
    check_address("dashboard.listen", c.dashboard.listen);
}

void read_step(Table& policy, PolicyConfig& p) {
    auto step = policy.sub("step");
    step.metric("metric", p.step.metric);
    step.number("high", p.step.high, 0, 1e9);
    step.number("low", p.step.low, 0, 1e9);
    step.duration("period", p.step.period);
    step.duration("cooldown", p.step.cooldown, Millis{0});
    step.integer("out_step", p.step.out_step, 1, 50);
    step.integer("in_step", p.step.in_step, 1, 50);
    step.boolean("idle_is_low", p.step.idle_is_low);
    step.check_unknown();
    if (p.step.low >= p.step.high)
        invalid("policy.step.low", fmt::format("below policy.step.high ({})", p.step.high), fmt::format("{}", p.step.low));
    if (p.step.period < p.interval)
        invalid("policy.step.period", fmt::format("at least policy.interval ({} ms)", p.interval.count()), fmt::format("{} ms", p.step.period.count()));
}

void read_target(Table& policy, PolicyConfig& p) {
    auto target = policy.sub("target");
    target.metric("metric", p.target.metric);
    target.number("target", p.target.target, 1e-6, 1e9);
    target.duration("warmup", p.target.warmup, Millis{0});
    target.duration("out_window", p.target.out_window);
    target.duration("in_window", p.target.in_window);
    target.duration("in_cooldown", p.target.in_cooldown, Millis{0});
    target.number("tolerance", p.target.tolerance, 0, 1);
    target.integer("in_step", p.target.in_step, 1, 50);
    target.check_unknown();
    if (p.target.metric == Metric::latency)
        throw Error(
            "invalid fleet configuration: policy.target.metric: latency is not proportional to load (adding servers does not "
            "halve it), so target tracking on it over- or under-shoots; use \"rps\", \"in_flight\" or \"cpu\", or the step policy "
            "for latency (see docs/FLEET.md)");
    if (p.target.out_window < p.interval)
        invalid("policy.target.out_window", fmt::format("at least policy.interval ({} ms)", p.interval.count()),
                fmt::format("{} ms", p.target.out_window.count()));
    if (p.target.in_window < p.target.out_window)
        invalid("policy.target.in_window", "at least policy.target.out_window", fmt::format("{} ms", p.target.in_window.count()));
}

void read_policy(Table& top, FleetConfig& c) {
    auto policy = top.sub("policy");
    auto& p = c.policy;
    std::string kind = "step";
    policy.text("kind", kind);
    if (kind == "step") p.kind = PolicyConfig::Kind::step;
    else if (kind == "target") p.kind = PolicyConfig::Kind::target;
    else invalid("policy.kind", "\"step\" or \"target\"", "'" + kind + "'");
    policy.duration("interval", p.interval, Millis{100});
    policy.number("min_coverage", p.min_coverage, 0.01, 1);
    read_step(policy, p);
    read_target(policy, p);
    policy.check_unknown();
}

}  // namespace

FleetConfig parse_fleet_config(const std::string& text, const std::filesystem::path& base_dir) {
    toml::table root;
    try {
        root = toml::parse(text);
    } catch (const toml::parse_error& e) {
        throw Error(fmt::format("fleet configuration: {} (line {})", e.description(), e.source().begin.line));
    }
    FleetConfig c;
    Table top(&root, "");
    std::string state_dir = "fleet-data";
    top.text("state_dir", state_dir);
    c.state_dir = resolve(base_dir, state_dir);
    read_servers(top, base_dir, c);
    read_haproxy(top, c);
    read_dashboard(top, c);
    read_policy(top, c);
    top.check_unknown();

    // HAProxy's admin socket lives in the state directory: a unix socket path has 107 bytes.
    if ((c.state_dir / "haproxy.sock").string().size() > 100)
        invalid("state_dir", "a path short enough for a unix socket (about 85 characters)", "'" + c.state_dir.string() + "'");
    return c;
}

FleetConfig load_fleet_config(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) throw Error(fmt::format("cannot read the fleet configuration {}", file.string()));
    std::stringstream text;
    text << in.rdbuf();
    auto absolute = std::filesystem::absolute(file).lexically_normal();
    auto c = parse_fleet_config(text.str(), absolute.parent_path());
    c.file = absolute;
    return c;
}

std::string describe_policy(const PolicyConfig& p) {
    auto sec = [](Millis d) { return d.count() % 1000 == 0 ? fmt::format("{}s", d.count() / 1000) : fmt::format("{}ms", d.count()); };
    if (p.kind == PolicyConfig::Kind::step) {
        const auto& s = p.step;
        return fmt::format("step on {}: > {} {} for {} -> +{}, < {} {} for {} -> -{}, cooldown {}, evaluated every {}", to_string(s.metric), s.high,
                           unit_of(s.metric), sec(s.period), s.out_step, s.low, unit_of(s.metric), sec(s.period), s.in_step, sec(s.cooldown),
                           sec(p.interval));
    }
    const auto& t = p.target;
    return fmt::format("target tracking: {} {} per server (+{:.0f}% before scaling out), out on the mean of {}, in on the peak of {} "
                       "after {} quiet, warm-up {}, evaluated every {}",
                       t.target, unit_of(t.metric), t.tolerance * 100, sec(t.out_window), sec(t.in_window), sec(t.in_cooldown), sec(t.warmup),
                       sec(p.interval));
}

}  // namespace photoshare::fleet
