#include "services.hpp"

#include "support/ports.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace photoshare::kv::testing {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string service_script() { return std::string(PHOTOSHARE_SOURCE_DIR) + "/scripts/service"; }

// Every service started by this program, so that what a failed test left running is
// stopped at exit.
std::mutex registry_mutex;
std::vector<Service*>& registry() {
    static auto* services = new std::vector<Service*>;  // never destroyed: used by destructors of statics
    return *services;
}

const fs::path& temp_root() {
    static const fs::path root = [] {
        const char* tmp = std::getenv("TMPDIR");
        std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/photoshare-kv-XXXXXX";
        if (!::mkdtemp(pattern.data())) throw std::runtime_error("cannot create a directory in " + pattern);
        return fs::path(pattern);
    }();
    return root;
}

class Cleanup : public ::testing::Environment {
public:
    void TearDown() override {
        std::vector<Service*> left;
        {
            std::lock_guard lock(registry_mutex);
            left = registry();
        }
        for (Service* s : left) s->stop();
        std::error_code ignored;
        fs::remove_all(temp_root(), ignored);
    }
};
[[maybe_unused]] const auto* const cleanup = ::testing::AddGlobalTestEnvironment(new Cleanup);

}  // namespace

Service::Service(std::string name, std::string password) : name_(std::move(name)), password_(std::move(password)) {
    static std::atomic<int> counter{0};
    dir_ = (temp_root() / (name_ + "-" + std::to_string(++counter))).string();
    std::lock_guard lock(registry_mutex);
    registry().push_back(this);
}

Service::~Service() {
    // Nothing may leave a destructor: a failure to stop is a test failure.
    try {
        stop();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "stopping " << name_ << " in " << dir_ << ": " << e.what();
    }
    std::lock_guard lock(registry_mutex);
    std::erase(registry(), this);
}

std::string Service::start() {
    const char* binary = name_ == "redis" ? "redis-server" : name_.c_str();
    if (!pstest::have_program(binary)) {
        throw std::runtime_error(std::string(binary) +
                                 " is not installed: the kv tests start real servers (scripts/setup --tests installs them)");
    }
    std::string output;
    // A port found free may be taken before the server binds it: try a few.
    for (int attempt = 0; attempt < 3; ++attempt) {
        const bool first = port_ == 0;
        if (first) port_ = pstest::free_port();
        pstest::Env env;
        if (!password_.empty()) env.emplace_back("REDIS_PASSWORD", password_);
        const pstest::CommandResult r = pstest::run({"bash", service_script(), "start", name_, dir_, std::to_string(port_)}, 180s, env);
        if (r.ok()) {
            url_ = r.output.substr(0, r.output.find('\n'));
            running_ = true;
            return url_;
        }
        output = r.output;
        if (!first) break;  // a restart must keep its port
        port_ = 0;
    }
    throw std::runtime_error("scripts/service start " + name_ + " failed:\n" + output);
}

void Service::stop() {
    if (!running_) return;
    thaw();  // a stopped process would not see SIGTERM until continued
    const pstest::CommandResult r = pstest::run({"bash", service_script(), "stop", name_, dir_}, 180s);
    running_ = false;
    if (!r.ok()) ADD_FAILURE() << "scripts/service stop " << name_ << " failed:\n" << r.output;
}

int Service::pid() const {
    std::ifstream in(dir_ + (name_ == "redis" ? "/redis.pid" : "/pid"));
    int pid = 0;
    in >> pid;
    if (pid <= 0) throw std::runtime_error(name_ + " has no pid file in " + dir_);
    return pid;
}

void Service::freeze() {
    const int p = pid();
    if (::kill(p, SIGSTOP) != 0) throw std::runtime_error("cannot stop " + name_);
    // SIGSTOP takes effect as each thread next enters the kernel: wait until all have.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (std::chrono::steady_clock::now() < until) {
        bool all_stopped = true;
        std::error_code ec;
        for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(p) + "/task", ec)) {
            std::ifstream stat(task.path() / "stat");
            std::string line;
            std::getline(stat, line);
            const auto close = line.rfind(')');
            if (close == std::string::npos || close + 2 >= line.size() || line[close + 2] != 'T') all_stopped = false;
        }
        if (all_stopped && !ec) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    throw std::runtime_error(name_ + " did not stop on SIGSTOP");
}

void Service::thaw() {
    if (!running_) return;
    try {
        ::kill(pid(), SIGCONT);
    } catch (const std::exception&) {
        // no pid file: nothing to continue (called from stop(), hence from destructors)
    }
}

namespace {

template <class Start>
const Shared& start_once(Start start) {
    static std::once_flag once;
    static Shared shared;
    static std::string error;
    std::call_once(once, [&] {
        try {
            start(shared);
        } catch (const std::exception& e) {
            error = e.what();
        }
    });
    if (!error.empty()) throw std::runtime_error(error);
    return shared;
}

}  // namespace

const Shared& shared_memcached() {
    static std::vector<std::unique_ptr<Service>> owned;
    return start_once([](Shared& s) {
        for (int i = 0; i < 3; ++i) {
            owned.push_back(std::make_unique<Service>("memcached"));
            owned.back()->start();
            s.memcached.push_back(owned.back().get());
        }
        s.memcached_url = memcached_url(s.memcached);
    });
}

std::string url_for(const std::string& backend) {
    if (backend == "memcached") return shared_memcached().memcached_url;
    if (backend == "redis") return shared_redis().redis_url;
    return "memory://";
}

const Shared& shared_redis() {
    static std::unique_ptr<Service> owned;
    return start_once([](Shared& s) {
        // Characters that must be percent-encoded in the URL, to prove they are decoded.
        s.redis_password = "p@ss:w/rd%" + std::to_string(std::random_device{}());
        owned = std::make_unique<Service>("redis", s.redis_password);
        s.redis_url = owned->start();
        s.redis = owned.get();
    });
}

std::string memcached_url(const std::vector<Service*>& nodes, const std::string& query) {
    std::string url = "memcached://";
    for (std::size_t i = 0; i < nodes.size(); ++i) url += (i ? "," : "") + nodes[i]->address();
    return query.empty() ? url : url + "?" + query;
}

std::string unique_prefix() {
    static const std::string run = [] {
        std::ostringstream s;
        s << std::hex << std::random_device{}() << std::random_device{}();
        return s.str();
    }();
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "none";
    for (char& c : name) {
        if (c == '/') c = '.';
    }
    return "t" + run + ":" + name + ":";
}

}  // namespace photoshare::kv::testing
