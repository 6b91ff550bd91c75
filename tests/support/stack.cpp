#include "stack.hpp"

#include "files.hpp"
#include "http_client.hpp"
#include "photoshare_server.hpp"
#include "ports.hpp"
#include "services.hpp"

#include <gtest/gtest.h>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <optional>
#include <poll.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace pstest {

std::string render_nginx(int listen_port, const std::vector<int>& server_ports) {
    const auto text = read_text(fs::path(source_dir()) / "deploy" / "nginx" / "nginx.conf");
    std::istringstream in(text);
    std::string out, line;
    bool skipping = false;
    while (std::getline(in, line)) {
        if (line.find("# BEGIN servers") != std::string::npos) {
            out += line + "\n";
            for (int p : server_ports) out += "        server 127.0.0.1:" + std::to_string(p) + " max_fails=1 fail_timeout=2s;\n";
            skipping = true;
            continue;
        }
        if (line.find("# END servers") != std::string::npos) skipping = false;
        if (skipping) continue;
        if (auto at = line.find("listen 127.0.0.1:8000;"); at != std::string::npos)
            line.replace(at, std::string::npos, "listen 127.0.0.1:" + std::to_string(listen_port) + ";");
        out += line + "\n";
    }
    return out;
}

LoadBalancer::LoadBalancer(Kind kind, const std::vector<int>& server_ports) : kind_(kind), dir_(make_registered_dir()) {
    if (kind_ == Kind::haproxy) {
        port_ = pick_ports(2);  // the site and the stats page
        std::string servers;
        for (std::size_t i = 0; i < server_ports.size(); ++i)
            servers += (i ? "," : "") + ("web-" + std::to_string(i + 1)) + "=127.0.0.1:" + std::to_string(server_ports[i]);
        auto start = service_script({"start", "haproxy", dir_.string(), std::to_string(port_)}, 30s, {{"PS_HAPROXY_SERVERS", servers}});
        if (!start.ok()) throw std::runtime_error("HAProxy did not start: " + start.output);
        return;
    }
    port_ = pick_ports(1);
    for (const char* sub : {"logs", "tmp", "errors"}) fs::create_directories(dir_ / sub);
    fs::copy_file(fs::path(source_dir()) / "deploy/errors/503.html", dir_ / "errors/503.html");
    std::ofstream(dir_ / "nginx.conf") << render_nginx(port_, server_ports);
    nginx_ = {"nginx", "-p", dir_.string(), "-e", (dir_ / "error.log").string(), "-c", (dir_ / "nginx.conf").string()};
    auto start = run(nginx_, 20s);
    if (!start.ok()) throw std::runtime_error("nginx did not start: " + start.output);
}

LoadBalancer::~LoadBalancer() {
    if (kind_ == Kind::haproxy) {
        service_script({"stop", "haproxy", dir_.string()}, 30s);
    } else {
        auto quit = nginx_;
        quit.insert(quit.end(), {"-s", "quit"});
        run(quit, 20s);
        // nginx.pid is gone once the master exits; release_dir kills what it still names.
        eventually([&] { return !fs::exists(dir_ / "nginx.pid"); }, 10s);
    }
    release_dir(dir_);
}

Stack::Stack(StackOptions options) : options_(std::move(options)), dir_(make_registered_dir()) {
    // HAProxy (P, P+1), the database (P+2), cache nodes (P+3..5), s3rver (P+6), web-N (P+10+N).
    port_ = pick_ports(11 + options_.servers);
}

Stack::~Stack() {
    // Nothing may leave a destructor: what fails here is a test failure, and the clean-up goes on.
    try {
        down();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "scripts/stack down in " << dir_ << ": " << e.what();
    }
    try {
        const auto leftovers = kill_leftovers(dir_);
        if (!leftovers.empty()) {
            std::string names;
            for (const auto& n : leftovers) names += " " + n;
            ADD_FAILURE() << "scripts/stack down left processes running in " << dir_ << ":" << names;
        }
        release_dir(dir_);
    } catch (const std::exception& e) {
        ADD_FAILURE() << "cleaning up " << dir_ << ": " << e.what();
    }
}

CommandResult Stack::stack(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
    std::vector<std::string> argv{"bash", source_dir() + "/scripts/stack"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.emplace_back("--dir");
    argv.push_back(dir_.string());
    return run(argv, timeout, {{"PHOTOSHARE_BINARY", server_binary()}});
}

std::vector<std::string> Stack::up_args() const {
    std::vector<std::string> args{"up",      "--level", std::to_string(options_.level), "--servers", std::to_string(options_.servers),
                                  "--db",    options_.db, "--cache", options_.cache, "--storage", options_.storage,
                                  "--serve", options_.serve, "--port", std::to_string(port_)};
    args.insert(args.end(), kTestDefaults.begin(), kTestDefaults.end());
    for (const auto& s : options_.sets) {
        args.emplace_back("--set");
        args.push_back(s);
    }
    return args;
}

void Stack::up() {
    auto res = stack(up_args(), 240s);
    if (!res.ok())
        throw std::runtime_error("scripts/stack up failed (exit " + std::to_string(res.exit_code()) + (res.timed_out ? ", timed out" : "") +
                                 "):\n" + res.output + "\n" + logs());
}

CommandResult Stack::down() {
    if (!fs::exists(dir_ / "stack.conf")) return CommandResult{ExitStatus{true, 0, 0}, false, ""};
    return stack({"down"}, 120s);
}

std::string Stack::url() const { return "http://127.0.0.1:" + std::to_string(port_); }
std::string Stack::server_url(int n) const { return "http://127.0.0.1:" + std::to_string(server_port(n)); }
std::string Stack::s3_url() const { return "http://127.0.0.1:" + std::to_string(s3_port()); }

pid_t Stack::server_pid(int n) const { return pid_in_file(dir_ / ("web-" + std::to_string(n) + ".pid")).value_or(-1); }

std::string Stack::server_log(int n) const { return read_text(dir_ / ("web-" + std::to_string(n) + ".log")); }

std::string Stack::admin_token() const {
    auto t = read_text(dir_ / "admin.token");
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    return t;
}

std::string Stack::haproxy_api(const std::string& command) const {
    const auto path = (dir_ / "haproxy.sock").string();
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return {};
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const int length = std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    std::string out;
    if (length > 0 && static_cast<std::size_t>(length) < sizeof addr.sun_path &&
        ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        const std::string line = command + "\n";
        if (::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size())) {
            char buf[4096];
            for (;;) {
                pollfd p{fd, POLLIN, 0};
                if (::poll(&p, 1, 2000) <= 0) break;
                const ssize_t n = ::read(fd, buf, sizeof buf);
                if (n <= 0) break;
                out.append(buf, static_cast<std::size_t>(n));
            }
        }
    }
    ::close(fd);
    return out;
}

std::map<std::string, int> Stack::haproxy_states() const {
    // "be_id be_name srv_id srv_name srv_addr srv_op_state ..." after a version line and a header.
    std::map<std::string, int> states;
    std::istringstream in(haproxy_api("show servers state photoshare"));
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        std::vector<std::string> f;
        for (std::string w; fields >> w;) f.push_back(w);
        if (f.size() <= 5) continue;
        int state = 0;
        const char* end = f[5].data() + f[5].size();
        if (const auto parsed = std::from_chars(f[5].data(), end, state); parsed.ec == std::errc() && parsed.ptr == end) states[f[3]] = state;
    }
    return states;
}

bool Stack::wait_all_in_rotation(std::chrono::milliseconds timeout) const {
    return eventually(
        [&] {
            auto states = haproxy_states();
            for (int n = 1; n <= options_.servers; ++n) {
                auto it = states.find(server_name(n));
                if (it == states.end() || it->second != 2) return false;
            }
            return true;
        },
        timeout);
}

void Stack::ensure_all_servers_up() {
    for (int n = 1; n <= options_.servers; ++n) {
        if (process_alive(server_pid(n))) continue;
        auto res = stack({"start", server_name(n)});
        ASSERT_TRUE(res.ok()) << "scripts/stack start " << server_name(n) << ":\n" << res.output;
    }
    ASSERT_TRUE(wait_all_in_rotation()) << "HAProxy does not use every server:\n" << haproxy_api("show servers state photoshare");
    // Every backend answering each server (not "degraded"): a cache server that came back a
    // moment ago may still be marked down in a server for a second.
    for (int n = 1; n <= options_.servers; ++n) {
        HttpClient c(server_url(n));
        std::string body;
        ASSERT_TRUE(eventually(
            [&] {
                body = c.get("/readyz").body;
                return body.find("\"status\":\"ready\"") != std::string::npos;
            },
            15s))
            << server_name(n) << " is not ready: " << body;
    }
}

std::string Stack::logs() const {
    std::string out;
    auto add = [&](const fs::path& file, std::size_t lines) {
        if (!fs::exists(file)) return;
        out += "---- " + file.string() + " (end) ----\n" + tail_lines(read_text(file), lines);
        if (!out.empty() && out.back() != '\n') out += '\n';
    };
    for (int n = 1; n <= options_.servers; ++n) add(dir_ / ("web-" + std::to_string(n) + ".log"), 15);
    add(dir_ / "haproxy.log", 15);
    add(dir_ / "postgres" / "postgres.log", 15);
    add(dir_ / "mariadb" / "mysqld.log", 15);
    for (int n = 1; n <= 3; ++n) add(dir_ / ("memcached-" + std::to_string(n)) / "memcached.log", 5);
    add(dir_ / "redis" / "redis.log", 10);
    add(dir_ / "s3rver" / "s3rver.log", 15);
    return out;
}

}  // namespace pstest
