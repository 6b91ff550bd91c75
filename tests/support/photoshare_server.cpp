#include "photoshare_server.hpp"

#include "http_client.hpp"
#include "ports.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>

namespace pstest {

namespace {

// Live servers, so that a failing test shows their logs (also those shared by a suite).
std::mutex live_mutex;
std::set<ServerProcess*> live_servers;

class LogPrinter : public ::testing::EmptyTestEventListener {
    void OnTestEnd(const ::testing::TestInfo& info) override {
        if (!info.result()->Failed()) return;
        std::lock_guard lock(live_mutex);
        for (auto* s : live_servers)
            std::cerr << "---- log of server pid " << s->pid() << " (" << s->address() << ") ----\n" << tail_chars(s->log()) << "\n----\n";
    }
};

const bool log_printer_installed = [] {
    ::testing::UnitTest::GetInstance()->listeners().Append(new LogPrinter);
    return true;
}();

}  // namespace

std::string server_binary() {
    if (const char* e = std::getenv("PHOTOSHARE_BINARY"); e && *e) return e;
    return PHOTOSHARE_BINARY;
}

CommandResult run_photoshare(const std::vector<std::string>& args, const Env& env, std::chrono::milliseconds timeout) {
    std::vector<std::string> argv{server_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, timeout, env);
}

ServerProcess::ServerProcess(ServerOptions options) : options_(std::move(options)) {
    work_.emplace("ps-itest");
    data_dir_ = options_.data_dir.empty() ? work_->path() / "data" : options_.data_dir;
    log_path_ = work_->path() / "server.log";
    {
        std::lock_guard lock(live_mutex);
        live_servers.insert(this);
    }
    try {
        start();
    } catch (...) {
        if (pid_ > 0 && !exit_) {
            ::kill(pid_, SIGKILL);
            wait_for(pid_, 10s);
        }
        std::lock_guard lock(live_mutex);
        live_servers.erase(this);
        throw;
    }
}

ServerProcess::~ServerProcess() {
    {
        std::lock_guard lock(live_mutex);
        live_servers.erase(this);
    }
    if (pid_ > 0 && !exit_) {
        ::kill(pid_, SIGKILL);
        wait_for(pid_, 10s);
    }
    if (::testing::Test::HasFailure())
        std::cerr << "---- log of server pid " << pid_ << " (" << address() << ") ----\n" << tail_chars(log()) << "\n----\n";
}

void ServerProcess::start() {
    for (int attempt = 0;; ++attempt) {
        port_ = free_port();
        std::vector<std::string> argv{server_binary(), "serve", "--listen", address(), "--data-dir", data_dir_.string()};
        if (!options_.name.empty()) {
            argv.emplace_back("--name");
            argv.push_back(options_.name);
        }
        argv.insert(argv.end(), kTestDefaults.begin(), kTestDefaults.end());
        argv.insert(argv.end(), options_.args.begin(), options_.args.end());
        {
            std::ofstream log(log_path_, std::ios::app);
            log << "==== itest: starting on " << address() << " ====\n";
        }
        exit_.reset();
        pid_ = spawn(argv, options_.env, log_path_);
        if (!options_.wait_healthy) return;

        const auto deadline = Clock::now() + std::chrono::seconds(30);  // not 30s: cppcheck 2.10 cannot evaluate it
        bool retry = false;
        for (;;) {
            if (auto st = wait_exit(0ms)) {
                const auto text = log();
                if (attempt < 4 && contains(text, "in use")) {
                    retry = true;  // another process took the port in between
                    break;
                }
                throw std::runtime_error("the server exited during start-up (" + st->describe() + "):\n" + tail_chars(text));
            }
            try {
                RawConnection c(port_);
                c.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
                if (auto r = c.read_response(5s); r && r->status == 200) return;
            } catch (const std::exception&) {
            }
            if (Clock::now() >= deadline) throw std::runtime_error("the server did not become healthy within 30 s:\n" + tail_chars(log()));
            std::this_thread::sleep_for(20ms);
        }
        if (!retry) return;
    }
}

void ServerProcess::restart() {
    if (pid_ > 0 && !exit_) throw std::logic_error("restart() of a running server");
    start();
}

std::string ServerProcess::admin_token() const {
    std::ifstream in(data_dir_ / "admin.token");
    std::string token;
    std::getline(in, token);
    return token;
}

std::string ServerProcess::log() const {
    try {
        return read_file(log_path_);
    } catch (const std::exception&) {
        return {};
    }
}

bool ServerProcess::alive() { return !wait_exit(0ms).has_value(); }

std::optional<ExitStatus> ServerProcess::wait_exit(std::chrono::milliseconds timeout) {
    if (exit_) return exit_;
    if (pid_ <= 0) return ExitStatus{};
    exit_ = wait_for(pid_, timeout);
    return exit_;
}

void ServerProcess::signal(int sig) {
    if (pid_ > 0 && !exit_) ::kill(pid_, sig);
}

std::optional<ExitStatus> ServerProcess::stop(int sig, std::chrono::milliseconds timeout) {
    signal(sig);
    return wait_exit(timeout);
}

void expect_serving_at(const char* file, int line, const ServerProcess& server, std::chrono::milliseconds within) {
    ::testing::ScopedTrace trace(file, line, "a second client must still be served");
    HttpClient other(server.base_url());
    other.set_timeout(within + 3s);
    const auto start = Clock::now();
    auto res = other.get("/healthz");
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    EXPECT_EQ(res.status, 200) << res.describe();
    EXPECT_LE(took.count(), within.count()) << "GET /healthz took " << took.count() << " ms";
}

HealthProbe::HealthProbe(const ServerProcess& server, std::chrono::milliseconds interval) {
    thread_ = std::thread([this, port = server.port(), interval] {
        do {  // at least one request, however soon stop() comes
            const auto start = Clock::now();
            std::string failure;
            try {
                RawConnection c(port);
                c.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
                auto r = c.read_response(5s);
                if (!r) failure = "no response";
                else if (r->status != 200) failure = "HTTP " + std::to_string(r->status);
            } catch (const std::exception& e) {
                failure = e.what();
            }
            const double took = std::chrono::duration<double>(Clock::now() - start).count();
            ++requests_;
            slowest_ = std::max(slowest_, took);
            if (!failure.empty()) {
                ++failures_;
                last_failure_ = failure;
            }
            // not `auto slept = 0ms`: cppcheck 2.10 cannot evaluate it
            for (std::chrono::milliseconds slept{0}; slept < interval && !stop_.load(); slept += 10ms) std::this_thread::sleep_for(10ms);
        } while (!stop_.load());
    });
}

HealthProbe::~HealthProbe() { stop(); }

void HealthProbe::stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
}

std::string HealthProbe::describe() const {
    std::ostringstream s;
    s << "health probe: " << requests_ << " request(s), " << failures_ << " failed";
    if (!last_failure_.empty()) s << " (last: " << last_failure_ << ")";
    s << ", slowest " << slowest_ << " s";
    return s.str();
}

}  // namespace pstest
