#include "fleet/fleet.hpp"

#include "config/config.hpp"
#include "fleet/process.hpp"
#include "fleet/show_stat.hpp"
#include "fleet/scrape.hpp"
#include "http/client.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <future>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace photoshare::fleet {

using namespace std::chrono_literals;

const char* to_string(ServerState s) {
    switch (s) {
        case ServerState::starting: return "starting";
        case ServerState::in_service: return "in service";
        case ServerState::draining: return "draining";
        case ServerState::stopping: return "stopping";
    }
    return "?";
}

std::string Knobs::describe() const {
    std::string out;
    auto add = [&](const char* name, const std::optional<long>& v) {
        if (!v) return;
        if (!out.empty()) out += " ";
        out += fmt::format("{}={}", name, *v);
    };
    add("latency_ms", latency_ms);
    add("cpu_ms", cpu_ms);
    add("slots", slots);
    return out;
}

namespace {

std::string random_token() {
    std::ifstream in("/dev/urandom", std::ios::binary);
    unsigned char bytes[24];
    in.read(reinterpret_cast<char*>(bytes), sizeof bytes);
    if (!in) throw std::runtime_error("cannot read /dev/urandom");
    std::string out;
    for (unsigned char b : bytes) out += fmt::format("{:02x}", b);
    return out;
}

std::string read_first_line(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::string line;
    std::getline(in, line);
    return line;
}

// The last lines of a log file, for messages about a process that failed.
std::string tail(const std::filesystem::path& p, int lines) {
    std::ifstream in(p);
    std::deque<std::string> last;
    std::string line;
    while (std::getline(in, line)) {
        last.push_back(line);
        if (static_cast<int>(last.size()) > lines) last.pop_front();
    }
    std::string out;
    for (const auto& l : last) out += "\n    " + l;
    return out;
}

bool port_in_use(const std::string& host, int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<unsigned short>(port));
    ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
    bool used = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return used;
}

double seconds(TimePoint t) { return static_cast<double>(t.count()) / 1000.0; }

boost::json::value opt(const std::optional<double>& v) {
    if (!v) return nullptr;
    return std::round(*v * 100) / 100;
}

// Appends one JSON line to a record file (history.jsonl, events.jsonl). A line that cannot
// be written (disk full) is reported, once per file, and the fleet goes on without it.
void append_record(std::FILE* file, const std::string& line, std::atomic<bool>& failed, const char* name) {
    if (std::fputs(line.c_str(), file) != EOF && std::fflush(file) != EOF) return;
    const int err = errno;
    if (!failed.exchange(true)) spdlog::warn("cannot write {}: {} (further failures not reported)", name, std::generic_category().message(err));
}

}  // namespace

Fleet::Fleet(FleetConfig config) : config_(std::move(config)), origin_(std::chrono::steady_clock::now()), api_(config_.state_dir / "haproxy.sock") {
    state_.started_wall = std::chrono::system_clock::now();
}

Fleet::~Fleet() {
    request_stop();
    join();
    // Every record was flushed (and checked) when written: nothing is left to report.
    if (history_) (void)std::fclose(history_);
    if (events_file_) (void)std::fclose(events_file_);
}

TimePoint Fleet::now() const { return std::chrono::duration_cast<TimePoint>(std::chrono::steady_clock::now() - origin_); }

void Fleet::inspect(const std::function<void(const FleetState&)>& f) const {
    std::lock_guard lock(mutex_);
    f(state_);
}

void Fleet::prepare() {
    std::filesystem::create_directories(config_.state_dir);
    auto token_file = config_.state_dir / "admin.token";
    token_ = read_first_line(token_file);
    if (token_.size() < 32) {
        token_ = random_token();
        int fd = ::open(token_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) throw std::runtime_error("cannot write " + token_file.string());
        auto line = token_ + "\n";
        if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
            ::close(fd);
            throw std::runtime_error("cannot write " + token_file.string());
        }
        ::close(fd);
    }
    binary_ = config_.servers.binary.empty() ? self_executable() : config_.servers.binary;

    // The shared server configuration, checked as the first server will read it.
    for (const auto& [k, v] : config_.servers.settings)
        if (k == "admin.token" || k == "server.name" || k == "server.listen" || k == "server.data_dir")
            throw config::Error(fmt::format("invalid fleet configuration: servers.settings: {} is set by the fleet for each server", k));
    config::Sources src;
    src.file = config_.servers.config.string();
    src.environment = config::process_environment();
    if (src.file.empty())
        for (const auto& [k, v] : src.environment)
            if (k == "PHOTOSHARE_CONFIG") src.file = v;
    src.environment.emplace_back("PHOTOSHARE_ADMIN_TOKEN", token_);
    src.flags = config_.servers.settings;
    src.flags.emplace_back("server.name", slot_name(1));
    src.flags.emplace_back("server.listen", fmt::format("{}:{}", config_.servers.host, config_.servers.base_port));
    src.flags.emplace_back("server.data_dir", (config_.state_dir / slot_name(1)).string());
    config::Config cfg;
    try {
        cfg = config::load(src);
    } catch (const config::Error& e) {
        throw config::Error(fmt::format("the servers' configuration{}: {}", src.file.empty() ? "" : " (" + src.file + ")", e.what()));
    }
    if (cfg.database.url.empty() || cfg.storage.url.empty())
        throw config::Error(fmt::format(
            "the servers' configuration{} leaves {} in each server's own data directory: uploads on one server would not show on "
            "the others. Set database.url (e.g. \"sqlite:///srv/fleet/photoshare.db\" for one machine, or postgresql://...) and "
            "storage.url (e.g. \"file:///srv/fleet/media\") in servers.config or [servers.settings]",
            src.file.empty() ? "" : " (" + src.file + ")",
            cfg.database.url.empty() && cfg.storage.url.empty() ? "the database and the photos" : cfg.database.url.empty() ? "the database" : "the photos"));

    history_ = std::fopen((config_.state_dir / "history.jsonl").c_str(), "w");
    events_file_ = std::fopen((config_.state_dir / "events.jsonl").c_str(), "w");
}

void Fleet::start() {
    thread_ = std::thread([this] { run(); });
}

void Fleet::request_stop() {
    stop_ = true;
    cv_.notify_all();
}

bool Fleet::join() {
    if (thread_.joinable()) thread_.join();
    return clean_;
}

bool Fleet::wait_started(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout, [this] { return started_ || start_failed_ || stop_.load(); });
    return started_;
}

void Fleet::event(const std::string& kind, const std::string& message) {
    const auto at = now();
    if (kind == "died" || kind == "unhealthy" || kind == "exit" || kind == "error") spdlog::warn("[{}] {}", kind, message);
    else spdlog::info("[{}] {}", kind, message);
    {
        std::lock_guard lock(mutex_);
        state_.events.push_back(Event{at, kind, message});
        while (state_.events.size() > 2000) state_.events.pop_front();
    }
    if (events_file_) {
        boost::json::object o{{"t", seconds(at)}, {"kind", kind}, {"message", message}};
        append_record(events_file_, boost::json::serialize(o) + "\n", events_failed_, "events.jsonl");
    }
}

void Fleet::api(const std::string& command) {
    try {
        api_.expect_ok(command);
    } catch (const std::exception& e) {
        spdlog::warn("HAProxy: {}", e.what());
    }
}

// ---------------------------------------------------------------------------------------
// HAProxy

void Fleet::start_haproxy() {
    if (!log_) log_ = std::make_unique<LogReceiver>(config_.state_dir / "haproxy.log");
    auto cfg_path = config_.state_dir / "haproxy.cfg";
    {
        std::ofstream out(cfg_path);
        out << haproxy_config(config_, log_->port());
        if (!out) throw std::runtime_error("cannot write " + cfg_path.string());
    }
    auto out_log = config_.state_dir / "haproxy.out";
    // Checked first, so a bad setting is reported as such rather than as a failed start.
    pid_t check = spawn({{config_.haproxy.binary, "-c", "-q", "-f", cfg_path.string()}, {}, out_log});
    auto checked = wait_for_exit(check, 10s);
    if (!checked || !checked->exited || checked->code != 0)
        throw std::runtime_error(fmt::format("HAProxy rejects {} ({}):{}", cfg_path.string(),
                                             checked ? checked->describe() : "timed out", tail(out_log, 10)));
    std::filesystem::remove(config_.state_dir / "haproxy.sock");
    if (port_in_use(config_.haproxy.listen.substr(0, config_.haproxy.listen.rfind(':')), std::stoi(config_.haproxy.listen.substr(config_.haproxy.listen.rfind(':') + 1))))
        throw std::runtime_error(fmt::format("{} (haproxy.listen) is in use by another process", config_.haproxy.listen));
    haproxy_pid_ = spawn({{config_.haproxy.binary, "-db", "-f", cfg_path.string()}, {}, out_log});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);  // not 10s: cppcheck 2.10 cannot evaluate it
    while (std::chrono::steady_clock::now() < deadline) {
        if (auto st = try_reap(haproxy_pid_)) {
            haproxy_pid_ = -1;
            throw std::runtime_error(fmt::format("HAProxy exited at start ({}):{}", st->describe(), tail(out_log, 10)));
        }
        try {
            if (api_.command("show info").find("Name: HAProxy") != std::string::npos) {
                {
                    std::lock_guard lock(mutex_);
                    state_.haproxy_running = true;
                }
                event("haproxy", fmt::format("HAProxy (pid {}) on {}, {} server slots; configuration {}", haproxy_pid_, config_.haproxy.listen,
                                             config_.slot_count(), cfg_path.string()));
                return;
            }
        } catch (const std::exception&) {
        }
        std::this_thread::sleep_for(50ms);
    }
    send_signal(haproxy_pid_, SIGKILL);
    wait_for_exit(haproxy_pid_, 2s);
    haproxy_pid_ = -1;
    throw std::runtime_error("HAProxy did not open its admin socket within 10 s:" + tail(out_log, 10));
}

bool Fleet::haproxy_alive() {
    if (haproxy_pid_ <= 0) return false;
    if (auto st = try_reap(haproxy_pid_)) {
        event("error", fmt::format("HAProxy (pid {}) exited ({}); restarting it", haproxy_pid_, st->describe()));
        haproxy_pid_ = -1;
        std::lock_guard lock(mutex_);
        state_.haproxy_running = false;
        return false;
    }
    return true;
}

// ---------------------------------------------------------------------------------------
// Servers

int Fleet::capacity() const {
    int n = 0;
    for (const auto& s : state_.servers)
        if (s.state == ServerState::starting || s.state == ServerState::in_service) ++n;
    return n;
}

std::optional<int> Fleet::free_slot() const {
    for (int slot = 1; slot <= config_.slot_count(); ++slot) {
        bool used = false;
        for (const auto& s : state_.servers)
            if (s.slot == slot) used = true;
        if (!used) return slot;
    }
    return std::nullopt;
}

void Fleet::spawn_server(int slot) {
    const auto name = slot_name(slot);
    const int port = config_.servers.base_port + slot - 1;
    const auto address = fmt::format("{}:{}", config_.servers.host, port);
    if (port_in_use(config_.servers.host, port)) {
        event("error", fmt::format("cannot start {}: {} is in use by another process", name, address));
        next_start_allowed_ = now() + 5s;
        return;
    }
    auto data_dir = config_.state_dir / name;
    std::filesystem::create_directories(data_dir);
    SpawnOptions o;
    o.argv = {binary_, "serve"};
    if (!config_.servers.config.empty()) o.argv.insert(o.argv.end(), {"--config", config_.servers.config.string()});
    o.argv.insert(o.argv.end(), {"--name", name, "--listen", address, "--data-dir", data_dir.string()});
    for (const auto& [k, v] : config_.servers.settings) o.argv.insert(o.argv.end(), {"--set", fmt::format("{}={}", k, v)});
    Knobs knobs;
    {
        std::lock_guard lock(mutex_);
        knobs = state_.knobs;
    }
    if (knobs.latency_ms) o.argv.insert(o.argv.end(), {"--set", fmt::format("knobs.latency_ms={}", *knobs.latency_ms)});
    if (knobs.cpu_ms) o.argv.insert(o.argv.end(), {"--set", fmt::format("knobs.cpu_ms={}", *knobs.cpu_ms)});
    if (knobs.slots) o.argv.insert(o.argv.end(), {"--set", fmt::format("knobs.slots={}", *knobs.slots)});
    // The token goes in the environment, not on the command line that `ps` shows everyone.
    o.env = {{"PHOTOSHARE_ADMIN_TOKEN", token_}};
    o.log = config_.state_dir / (name + ".log");
    pid_t pid = spawn(o);
    ServerRecord r;
    r.slot = slot;
    r.name = name;
    r.address = address;
    r.pid = pid;
    r.state = ServerState::starting;
    r.started_at = r.state_since = now();
    r.last_cpu = cpu_time(pid);
    {
        std::lock_guard lock(mutex_);
        state_.servers.push_back(r);
    }
    event("start", fmt::format("{} started (pid {}, {}){}", name, pid, address, pending_why_.empty() ? "" : ": " + pending_why_));
}

void Fleet::register_server(ServerRecord& s) {
    Knobs knobs;
    {
        std::lock_guard lock(mutex_);
        knobs = state_.knobs;
    }
    if (!knobs.empty()) {
        // Knobs changed since it was started: it gets the current ones before any request.
        boost::json::object body;
        if (knobs.latency_ms) body["latency_ms"] = *knobs.latency_ms;
        if (knobs.cpu_ms) body["cpu_ms"] = *knobs.cpu_ms;
        if (knobs.slots) body["slots"] = *knobs.slots;
        try {
            http::fetch(s.address, "PUT", "/admin/knobs", {{"Authorization", "Bearer " + token_}, {"Content-Type", "application/json"}},
                        boost::json::serialize(body), 2s);
        } catch (const std::exception& e) {
            spdlog::warn("{}: setting knobs: {}", s.name, e.what());
        }
    }
    const auto colon = s.address.rfind(':');
    try {
        api_.expect_ok(fmt::format("set server {}/{} addr {} port {}", kBackend, s.name, s.address.substr(0, colon), s.address.substr(colon + 1)));
        api_.expect_ok(fmt::format("set server {}/{} state ready", kBackend, s.name));
    } catch (const std::exception& e) {
        spdlog::warn("{} is ready but could not be registered yet: {}", s.name, e.what());
        return;
    }
    const auto t = now();
    {
        std::lock_guard lock(mutex_);
        s.state = ServerState::in_service;
        s.state_since = s.in_service_since = t;
        s.haproxy_status = "UP";
        s.down_since.reset();
    }
    start_failures_ = 0;
    event("ready", fmt::format("{} answered /readyz {:.1f} s after its start: registered in HAProxy, in service", s.name, seconds(t - s.started_at)));
}

void Fleet::drain_server(ServerRecord& s, const std::string& why) {
    if (s.state == ServerState::starting) {
        stop_server(s, why);
        return;
    }
    api(fmt::format("set server {}/{} state drain", kBackend, s.name));
    {
        std::lock_guard lock(mutex_);
        s.state = ServerState::draining;
        s.state_since = now();
        s.drain_deadline = s.state_since + config_.servers.drain_timeout;
        s.why = why;
    }
    event("drain", fmt::format("{} set to drain in HAProxy (no new requests; {} in progress): {}", s.name, s.sessions, why));
}

void Fleet::stop_server(ServerRecord& s, const std::string& why) {
    if (s.state == ServerState::in_service) api(fmt::format("set server {}/{} state maint", kBackend, s.name));
    send_signal(s.pid, SIGTERM);
    {
        std::lock_guard lock(mutex_);
        s.state = ServerState::stopping;
        s.state_since = now();
        s.stop_deadline = s.state_since + config_.servers.stop_timeout;
        s.why = why;
    }
    event("stop", fmt::format("{} (pid {}): SIGTERM: {}", s.name, s.pid, why));
}

void Fleet::on_exit(std::size_t index, const std::string& how) {
    ServerRecord s;
    {
        std::lock_guard lock(mutex_);
        s = state_.servers[index];
        state_.servers.erase(state_.servers.begin() + static_cast<std::ptrdiff_t>(index));
    }
    if (s.state != ServerState::starting) api(fmt::format("set server {}/{} state maint", kBackend, s.name));
    const auto t = now();
    switch (s.state) {
        case ServerState::starting:
            ++start_failures_;
            next_start_allowed_ = t + std::min<Millis>(30s, Millis(500) * (1 << std::min(start_failures_, 6)));
            event("exit", fmt::format("{} (pid {}) exited while starting ({}); next start in {:.1f} s. The end of {}.log:{}", s.name, s.pid, how,
                                      seconds(next_start_allowed_ - t), s.name, tail(config_.state_dir / (s.name + ".log"), 5)));
            pending_why_ = "replacing " + s.name + ", which failed to start";
            break;
        case ServerState::in_service:
        case ServerState::draining:
            event("died", fmt::format("{} (pid {}) died ({}) while {}: taken out of HAProxy; a new server replaces it", s.name, s.pid, how, to_string(s.state)));
            pending_why_ = "replacing " + s.name + ", which died";
            break;
        case ServerState::stopping:
            event("stopped", fmt::format("{} (pid {}) stopped ({}) {:.1f} s after SIGTERM; its slot is free", s.name, s.pid, how, seconds(t - s.state_since)));
            break;
    }
}

void Fleet::reconcile() {
    const auto t = now();
    int cap = capacity();
    int desired;
    {
        std::lock_guard lock(mutex_);
        desired = state_.desired;
    }
    while (cap < desired && !stop_) {
        if (t < next_start_allowed_) break;
        auto slot = free_slot();
        if (!slot) {
            spdlog::warn("no free HAProxy slot for another server ({} slots); waiting for one to be released", config_.slot_count());
            break;
        }
        auto before = state_.servers.size();
        spawn_server(*slot);
        if (state_.servers.size() == before) break;
        ++cap;
    }
    if (cap > desired) {
        // Servers still starting go first (nothing to drain), newest first; then the highest slot.
        std::vector<std::size_t> order;
        for (std::size_t i = 0; i < state_.servers.size(); ++i)
            if (state_.servers[i].state == ServerState::starting || state_.servers[i].state == ServerState::in_service) order.push_back(i);
        std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            const auto& x = state_.servers[a];
            const auto& y = state_.servers[b];
            if ((x.state == ServerState::starting) != (y.state == ServerState::starting)) return x.state == ServerState::starting;
            return x.slot > y.slot;
        });
        for (std::size_t k = 0; k < order.size() && cap > desired; ++k, --cap)
            drain_server(state_.servers[order[k]], pending_why_.empty() ? "scale-in" : pending_why_);
    }
    pending_why_.clear();
}

// ---------------------------------------------------------------------------------------
// The loop

void Fleet::housekeeping() {
    const auto t = now();
    if (!stop_ && !haproxy_alive() && t >= next_start_allowed_) {
        try {
            start_haproxy();
            // A new HAProxy starts with every slot in maintenance: put the servers back.
            for (auto& s : state_.servers) {
                if (s.state != ServerState::in_service && s.state != ServerState::draining) continue;
                const auto colon = s.address.rfind(':');
                api(fmt::format("set server {}/{} addr {} port {}", kBackend, s.name, s.address.substr(0, colon), s.address.substr(colon + 1)));
                api(fmt::format("set server {}/{} state {}", kBackend, s.name, s.state == ServerState::in_service ? "ready" : "drain"));
            }
        } catch (const std::exception& e) {
            event("error", fmt::format("HAProxy could not be restarted: {}", e.what()));
            next_start_allowed_ = t + 5s;
        }
    }

    std::vector<ServerStat> stats;
    bool have_stats = false;
    try {
        stats = parse_show_stat(api_.command("show stat"), kBackend);
        have_stats = true;
    } catch (const std::exception&) {
    }

    // Exits first (a dead server's slot is released before anything else looks at it).
    for (std::size_t i = state_.servers.size(); i-- > 0;)
        if (auto st = try_reap(state_.servers[i].pid)) on_exit(i, st->describe());

    {
        std::lock_guard lock(mutex_);
        for (auto& s : state_.servers) {
            if (!have_stats) continue;
            for (const auto& st : stats) {
                if (st.name != s.name) continue;
                s.haproxy_status = st.status;
                s.check_status = st.check_status;
                s.sessions = st.scur;
                s.queued = st.qcur;
                s.rtime_ms = st.rtime;
            }
        }
    }

    for (auto& s : state_.servers) {  // nothing in the loop adds or removes servers
        switch (s.state) {
            case ServerState::starting: {
                if (t - s.started_at > config_.servers.start_timeout) {
                    stop_server(s, fmt::format("failed to become ready within {:.0f} s", seconds(config_.servers.start_timeout)));
                    pending_why_ = "replacing " + s.name + ", which was not ready in time";
                    break;
                }
                try {
                    auto res = http::fetch(s.address, "GET", "/readyz", {}, "", 500ms);
                    if (res.status == 200) register_server(s);
                } catch (const std::exception&) {
                    // not listening yet
                }
                break;
            }
            case ServerState::in_service: {
                if (!have_stats) break;
                if (s.up()) {
                    if (s.down_since) event("ready", fmt::format("{} passes its health checks again", s.name));
                    std::lock_guard lock(mutex_);
                    s.down_since.reset();
                    break;
                }
                if (!s.down_since) {
                    {
                        std::lock_guard lock(mutex_);
                        s.down_since = t;
                    }
                    event("unhealthy", fmt::format("{} fails its health checks (HAProxy: {}, {}); replaced if it still does in {:.0f} s", s.name,
                                                   s.haproxy_status, s.check_status, seconds(config_.servers.unhealthy_after)));
                } else if (t - *s.down_since >= config_.servers.unhealthy_after) {
                    stop_server(s, fmt::format("failed its health checks for {:.0f} s (HAProxy: {}, {})", seconds(t - *s.down_since), s.haproxy_status,
                                               s.check_status));
                    pending_why_ = "replacing " + s.name + ", which failed its health checks";
                }
                break;
            }
            case ServerState::draining: {
                const bool idle = have_stats && s.sessions == 0 && s.queued == 0;
                if (idle) stop_server(s, fmt::format("drained in {:.1f} s ({})", seconds(t - s.state_since), s.why));
                else if (t >= s.drain_deadline)
                    stop_server(s, fmt::format("drain deadline of {:.0f} s passed with {} session(s) ({})", seconds(config_.servers.drain_timeout), s.sessions, s.why));
                break;
            }
            case ServerState::stopping:
                if (t >= s.stop_deadline && s.stop_deadline.count() > 0) {
                    event("stop", fmt::format("{} (pid {}) still running {:.0f} s after SIGTERM: SIGKILL", s.name, s.pid, seconds(config_.servers.stop_timeout)));
                    send_signal(s.pid, SIGKILL);
                    std::lock_guard lock(mutex_);
                    s.stop_deadline = TimePoint{0};
                }
                break;
        }
    }
    reconcile();

    if (!started_) {
        int ready = 0;
        for (const auto& s : state_.servers)
            if (s.state == ServerState::in_service) ++ready;
        if (ready >= config_.servers.initial) {
            std::lock_guard lock(mutex_);
            started_ = true;
            state_.phase = "running";
            cv_.notify_all();
        }
    }
}

void Fleet::evaluate() {
    const auto t = now();
    const auto span = std::max<Millis>(1ms, t - last_eval_);
    last_eval_ = t;
    auto taken = log_ ? log_->take() : LogReceiver::Taken{};
    for (const auto& m : taken.messages) event("haproxy", m);

    // Each server's /metrics, all at once, each within a bound.
    struct Target {
        std::size_t index;
        std::future<std::optional<ServerMetrics>> metrics;
    };
    std::vector<Target> targets;
    const auto timeout = std::min<Millis>(800ms, std::max<Millis>(100ms, config_.policy.interval / 2));
    for (std::size_t i = 0; i < state_.servers.size(); ++i) {
        const auto& s = state_.servers[i];
        if (s.state != ServerState::in_service && s.state != ServerState::draining) continue;
        targets.push_back({i, std::async(std::launch::async, [address = s.address, timeout]() -> std::optional<ServerMetrics> {
                               try {
                                   auto res = http::fetch(address, "GET", "/metrics", {}, "", timeout);
                                   if (res.status != 200) return std::nullopt;
                                   return parse_server_metrics(res.body);
                               } catch (const std::exception&) {
                                   return std::nullopt;
                               }
                           })});
    }

    Sample sample;
    sample.at = t;
    sample.span = span;
    FleetTick tick;
    tick.at = t;
    tick.requests = taken.total;
    double latency_sum = 0;
    std::uint64_t latency_n = 0;
    for (auto& target : targets) {
        auto m = target.metrics.get();
        auto& s = state_.servers[target.index];
        const auto counts = taken.servers.count(s.name) ? taken.servers.at(s.name) : LogCounts{};
        ServerSample ss;
        ss.name = s.name;
        ss.in_service = s.state == ServerState::in_service && s.up();
        ss.in_service_since = s.in_service_since;
        ss.requests = counts.with_latency;
        ss.latency_sum_ms = counts.latency_sum_ms;
        latency_sum += counts.latency_sum_ms;
        latency_n += counts.with_latency;
        auto cpu = cpu_time(s.pid);
        std::optional<double> cpu_percent;
        if (cpu && s.last_cpu) cpu_percent = 100.0 * static_cast<double>((*cpu - *s.last_cpu).count()) / 1000.0 / static_cast<double>(span.count());
        ss.cpu_percent = cpu_percent;
        if (m) ss.in_flight = m->in_flight;
        {
            std::lock_guard lock(mutex_);
            s.last_cpu = cpu;
            s.latency_ms = counts.with_latency ? std::optional<double>(counts.latency_sum_ms / static_cast<double>(counts.with_latency)) : std::nullopt;
            s.rps = static_cast<double>(counts.requests) * 1000.0 / static_cast<double>(span.count());
            s.in_flight = m ? m->in_flight : std::nullopt;
            s.cpu_percent = cpu_percent;
            if (m) {
                s.knob_latency_ms = m->knob_latency_ms;
                s.knob_slots = m->knob_slots;
            }
            s.requests += counts.requests;
            s.errors += counts.status_5xx + counts.failed;
        }
        sample.servers.push_back(std::move(ss));
    }
    // Requests of servers that have gone since count in the fleet's latency too.
    for (const auto& [name, counts] : taken.servers) {
        bool known = false;
        for (const auto& ss : sample.servers)
            if (ss.name == name) known = true;
        if (!known) {
            latency_sum += counts.latency_sum_ms;
            latency_n += counts.with_latency;
        }
    }
    if (latency_n) tick.latency_ms = latency_sum / static_cast<double>(latency_n);
    tick.rps = static_cast<double>(taken.total.requests) * 1000.0 / static_cast<double>(span.count());

    Decision decision;
    int desired;
    {
        std::lock_guard lock(mutex_);
        for (const auto& s : state_.servers) {
            if (s.state == ServerState::starting) ++tick.starting;
            if (s.state == ServerState::in_service && s.up()) ++tick.in_service;
            if (s.state == ServerState::draining || s.state == ServerState::stopping) ++tick.draining;
        }
        state_.samples.push_back(sample);
        while (!state_.samples.empty() && state_.samples.front().at < t - config_.dashboard.history) state_.samples.pop_front();
        desired = state_.desired;
        PolicyInput in{t, state_.samples, state_.actions, desired, tick.in_service, config_.servers.min, config_.servers.max};
        decision = decide(config_.policy, in);
        tick.policy_value = decision.value;
        tick.rule = decision.rule;
        state_.last_decision = decision;
        state_.totals.add(taken.total);
    }
    if (decision.changes(desired) && !stop_) {
        const bool out = decision.desired > desired;
        {
            std::lock_guard lock(mutex_);
            state_.actions.push_back(ScalingAction{t, desired, decision.desired});
            state_.desired = decision.desired;
        }
        event(out ? "scale-out" : "scale-in", fmt::format("{} ({} rule)", decision.reason, decision.rule));
        pending_why_ = fmt::format("{} to {}", out ? "scale-out" : "scale-in", decision.desired);
        reconcile();
        last_rule_.clear();
    } else if (decision.rule != last_rule_) {
        event("policy", fmt::format("{} ({} rule)", decision.reason, decision.rule));
        last_rule_ = decision.rule;
    } else {
        spdlog::debug("[policy] {}", decision.reason);
    }
    tick.desired = desired;
    {
        std::lock_guard lock(mutex_);
        tick.desired = state_.desired;
        state_.ticks.push_back(tick);
        while (!state_.ticks.empty() && state_.ticks.front().at < t - config_.dashboard.history) state_.ticks.pop_front();
    }
    write_history(tick, sample);
}

void Fleet::write_history(const FleetTick& tick, const Sample& sample) {
    if (!history_) return;
    boost::json::object servers;
    for (const auto& s : sample.servers) {
        boost::json::object o;
        o["in_service"] = s.in_service;
        o["latency_ms"] = opt(server_value(Metric::latency, s, sample.span));
        o["rps"] = opt(server_value(Metric::rps, s, sample.span));
        o["in_flight"] = opt(s.in_flight);
        o["cpu"] = opt(s.cpu_percent);
        servers[s.name] = o;
    }
    boost::json::object line{{"t", seconds(tick.at)},
                             {"desired", tick.desired},
                             {"in_service", tick.in_service},
                             {"starting", tick.starting},
                             {"draining", tick.draining},
                             {"latency_ms", opt(tick.latency_ms)},
                             {"rps", opt(tick.rps)},
                             {"requests", tick.requests.requests},
                             {"status_5xx", tick.requests.status_5xx},
                             {"status_4xx", tick.requests.status_4xx},
                             {"failed", tick.requests.failed},
                             {"rule", tick.rule},
                             {"value", opt(tick.policy_value)},
                             {"servers", servers}};
    append_record(history_, boost::json::serialize(line) + "\n", history_failed_, "history.jsonl");
}

void Fleet::shutdown_all() {
    {
        std::lock_guard lock(mutex_);
        state_.phase = "stopping";
    }
    event("fleet", fmt::format("stopping: HAProxy finishes the requests it has, then {} server(s) drain and exit", state_.servers.size()));
    if (haproxy_pid_ > 0) send_signal(haproxy_pid_, SIGUSR1);  // soft stop: stop listening, finish what is in flight
    for (auto& s : state_.servers)
        if (s.state != ServerState::stopping) send_signal(s.pid, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + config_.servers.stop_timeout;
    while (!state_.servers.empty()) {
        for (std::size_t i = state_.servers.size(); i-- > 0;) {
            if (auto st = try_reap(state_.servers[i].pid)) {
                event("stopped", fmt::format("{} (pid {}) stopped ({})", state_.servers[i].name, state_.servers[i].pid, st->describe()));
                std::lock_guard lock(mutex_);
                state_.servers.erase(state_.servers.begin() + static_cast<std::ptrdiff_t>(i));
            }
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            for (auto& s : state_.servers) {
                event("stop", fmt::format("{} (pid {}) still running: SIGKILL", s.name, s.pid));
                send_signal(s.pid, SIGKILL);
                wait_for_exit(s.pid, 2s);
            }
            std::lock_guard lock(mutex_);
            state_.servers.clear();
            break;
        }
        std::this_thread::sleep_for(50ms);
    }
    if (haproxy_pid_ > 0) {
        if (!wait_for_exit(haproxy_pid_, 10s)) {
            send_signal(haproxy_pid_, SIGKILL);
            wait_for_exit(haproxy_pid_, 2s);
        }
        haproxy_pid_ = -1;
    }
    std::filesystem::remove(config_.state_dir / "haproxy.sock");
    {
        std::lock_guard lock(mutex_);
        state_.phase = "stopped";
        state_.haproxy_running = false;
    }
    event("fleet", "stopped");
}

void Fleet::run() {
    try {
        start_haproxy();
    } catch (const std::exception& e) {
        event("error", e.what());
        std::lock_guard lock(mutex_);
        start_failed_ = true;
        state_.phase = "failed";
        cv_.notify_all();
        return;
    }
    {
        std::lock_guard lock(mutex_);
        state_.desired = config_.servers.initial;
    }
    event("fleet", fmt::format("{} initial server(s), min {}, max {}; policy: {}", config_.servers.initial, config_.servers.min, config_.servers.max,
                               describe_policy(config_.policy)));
    pending_why_ = "initial";
    reconcile();
    last_eval_ = now();
    while (!stop_) {
        try {
            housekeeping();
            if (now() - last_eval_ >= config_.policy.interval) evaluate();
        } catch (const std::exception& e) {
            event("error", fmt::format("controller: {}", e.what()));
        }
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, 100ms, [this] { return stop_.load(); });
    }
    shutdown_all();
    clean_ = true;
    std::lock_guard lock(mutex_);
    cv_.notify_all();
}

// ---------------------------------------------------------------------------------------
// Knobs

std::string Fleet::set_knobs(const Knobs& knobs, const std::string& server) {
    struct Target {
        std::string name, address;
    };
    std::vector<Target> targets;
    {
        std::lock_guard lock(mutex_);
        bool found = server.empty();
        for (const auto& s : state_.servers) {
            if (!server.empty() && s.name != server) continue;
            found = true;
            if (s.state == ServerState::in_service || s.state == ServerState::draining) targets.push_back({s.name, s.address});
        }
        if (!found) throw std::invalid_argument("no server named '" + server + "' in the fleet");
        if (server.empty()) {
            if (knobs.latency_ms) state_.knobs.latency_ms = knobs.latency_ms;
            if (knobs.cpu_ms) state_.knobs.cpu_ms = knobs.cpu_ms;
            if (knobs.slots) state_.knobs.slots = knobs.slots;
        }
    }
    boost::json::object body;
    if (knobs.latency_ms) body["latency_ms"] = *knobs.latency_ms;
    if (knobs.cpu_ms) body["cpu_ms"] = *knobs.cpu_ms;
    if (knobs.slots) body["slots"] = *knobs.slots;
    const auto text = boost::json::serialize(body);
    std::vector<std::future<std::pair<int, std::string>>> results;
    results.reserve(targets.size());
    for (const auto& target : targets)
        results.push_back(std::async(std::launch::async, [this, address = target.address, text]() -> std::pair<int, std::string> {
            try {
                auto res = http::fetch(address, "PUT", "/admin/knobs",
                                       {{"Authorization", "Bearer " + token_}, {"Content-Type", "application/json"}}, text, 3s);
                return {res.status, res.body};
            } catch (const std::exception& e) {
                return {0, e.what()};
            }
        }));
    boost::json::array applied;
    int ok = 0;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        auto [status, answer] = results[i].get();
        if (status == 200) ++ok;
        boost::json::object o{{"server", targets[i].name}, {"status", status}};
        boost::system::error_code ec;
        auto parsed = boost::json::parse(answer, ec);
        if (!ec) o["answer"] = parsed;
        else o["answer"] = answer;
        applied.push_back(o);
    }
    event("knobs", fmt::format("{} on {}: {} of {} answered 200{}", knobs.describe(), server.empty() ? "every server" : server, ok, targets.size(),
                               server.empty() ? "; new servers start with it" : ""));
    Knobs fleet_knobs;
    {
        std::lock_guard lock(mutex_);
        fleet_knobs = state_.knobs;
    }
    boost::json::object fleet;
    if (fleet_knobs.latency_ms) fleet["latency_ms"] = *fleet_knobs.latency_ms;
    if (fleet_knobs.cpu_ms) fleet["cpu_ms"] = *fleet_knobs.cpu_ms;
    if (fleet_knobs.slots) fleet["slots"] = *fleet_knobs.slots;
    return boost::json::serialize(boost::json::object{{"servers", applied}, {"fleet_knobs", fleet}});
}

}  // namespace photoshare::fleet
