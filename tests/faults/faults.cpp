#include "faults.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>

namespace faults {

void note(const std::string& line) { std::cerr << "[faults] " << line << "\n"; }

// ---- services ---------------------------------------------------------------------------

Service::Service(std::string name)
    : name_(std::move(name)), base_(cluster::make_registered_dir()), port_(cluster::pick_ports(1)) {
    auto res = service("url", true);
    if (!res.ok()) throw std::runtime_error("scripts/service url " + name_ + ":\n" + res.output);
    url_ = res.output;
    while (!url_.empty() && (url_.back() == '\n' || url_.back() == '\r')) url_.pop_back();
    url_ = url_.substr(url_.rfind('\n') == std::string::npos ? 0 : url_.rfind('\n') + 1);
    start();
}

Service::~Service() {
    stop();
    cluster::release_dir(base_);
}

fs::path Service::dir() const { return base_ / (name_ == "memcached" ? "memcached-1" : name_); }

cluster::CommandResult Service::service(const std::string& action, bool with_port) {
    std::vector<std::string> argv{"bash", cluster::source_dir() + "/scripts/service", action, name_, dir().string()};
    if (with_port) argv.push_back(std::to_string(port_));
    return cluster::run(argv, 180s);
}

void Service::start() {
    auto res = service("start", true);
    if (!res.ok()) throw std::runtime_error("scripts/service start " + name_ + " failed:\n" + res.output);
}

void Service::stop() {
    auto res = service("stop", false);
    if (!res.ok()) ADD_FAILURE() << "scripts/service stop " << name_ << ":\n" << res.output;
}

void Service::kill() {
    for (const char* file : {"pid", "redis.pid"}) {
        std::ifstream in(dir() / file);
        pid_t pid = 0;
        if (!(in >> pid) || pid <= 0) continue;
        ::kill(pid, SIGKILL);
        for (int i = 0; i < 200 && cluster::process_alive(pid); ++i) std::this_thread::sleep_for(10ms);
        if (cluster::process_alive(pid)) ADD_FAILURE() << name_ << " (pid " << pid << ") survived SIGKILL";
    }
    stop();  // removes the pid file of the dead process
}

// ---- loads ------------------------------------------------------------------------------

Login login_of(itest::User& user) { return Login{user.http().cookie("ps_session").value_or(""), user.csrf}; }

namespace {

std::string error_code_of(const itest::Response& res) {
    boost::system::error_code ec;
    auto v = boost::json::parse(res.body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("error") || !v.at("error").is_object()) return {};
    const auto& e = v.at("error").as_object();
    return e.contains("code") && e.at("code").is_string() ? std::string(e.at("code").as_string()) : std::string();
}

std::string first_photo_id(const itest::Response& res) {
    boost::system::error_code ec;
    auto v = boost::json::parse(res.body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("photos")) return {};
    const auto& photos = v.at("photos").as_array();
    if (photos.empty()) return {};
    return std::string(photos[0].at("id").as_string());
}

}  // namespace

Uploaders::Uploaders(std::string base_url, Login login, int threads, std::chrono::milliseconds timeout)
    : base_(std::move(base_url)), login_(std::move(login)), timeout_(timeout), start_(Clock::now()) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this, i] { run(i); });
}

Uploaders::~Uploaders() { stop(); }

void Uploaders::stop() {
    stop_ = true;
    for (auto& t : threads_)
        if (t.joinable()) t.join();
}

void Uploaders::run(int index) {
    itest::HttpClient client(base_);
    client.set_timeout(timeout_);
    client.set_cookie("ps_session", login_.session_cookie);
    for (std::size_t i = static_cast<std::size_t>(index) * 1000; !stop_; ++i) {
        auto res = client.upload("/api/v1/photos", {itest::Part::bytes(small_png(i), "p.png", "image/png")},
                                 {{"X-CSRF-Token", login_.csrf}});
        Answer a;
        a.at = std::chrono::duration<double>(Clock::now() - start_).count();
        a.seconds = res.seconds;
        a.status = res.status;
        if (res.status == 201) {
            a.id = first_photo_id(res);
            accepted_++;
        } else {
            a.what = res.status ? error_code_of(res) : res.error;
            if (!res.status) std::this_thread::sleep_for(20ms);  // nobody listening: do not spin
        }
        total_++;
        std::lock_guard lock(mutex_);
        answers_.push_back(std::move(a));
    }
}

std::vector<Answer> Uploaders::answers() const {
    std::lock_guard lock(mutex_);
    return answers_;
}

Viewers::Viewers(std::string base_url, std::vector<std::string> paths, int threads, std::chrono::milliseconds timeout,
                 std::string session_cookie)
    : base_(std::move(base_url)), paths_(std::move(paths)), timeout_(timeout), session_cookie_(std::move(session_cookie)), start_(Clock::now()) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this, i] { run(i); });
}

Viewers::~Viewers() { stop(); }

void Viewers::stop() {
    stop_ = true;
    for (auto& t : threads_)
        if (t.joinable()) t.join();
}

void Viewers::run(int index) {
    itest::HttpClient client(base_);
    client.set_timeout(timeout_);
    for (std::size_t i = static_cast<std::size_t>(index); !stop_; ++i) {
        const auto& path = paths_[i % paths_.size()];
        // Sent again every time: a page answered while the session store was down clears nothing,
        // but a browser would keep sending what it has.
        if (!session_cookie_.empty()) client.set_cookie("ps_session", session_cookie_);
        auto res = client.get(path);
        Answer a;
        a.at = std::chrono::duration<double>(Clock::now() - start_).count();
        a.seconds = res.seconds;
        a.status = res.status;
        a.signed_in = itest::contains(res.body, "action=\"/logout\"");
        a.signin_notice = itest::contains(res.body, "Signing in is unavailable");
        a.what = path + (res.status == 0 ? " (" + res.error + ")" : res.status >= 400 ? " " + error_code_of(res) : "");
        total_++;
        std::lock_guard lock(mutex_);
        answers_.push_back(std::move(a));
    }
}

std::vector<Answer> Viewers::answers() const {
    std::lock_guard lock(mutex_);
    return answers_;
}

std::map<long, int> by_status(const std::vector<Answer>& answers) {
    std::map<long, int> out;
    for (const auto& a : answers) out[a.status]++;
    return out;
}

std::string summary(const std::vector<Answer>& answers) {
    std::ostringstream s;
    s << answers.size() << " requests:";
    for (const auto& [status, n] : by_status(answers)) s << " " << (status ? std::to_string(status) : std::string("no answer")) << "×" << n;
    double slowest = 0;
    for (const auto& a : answers) slowest = std::max(slowest, a.seconds);
    s << "; slowest " << slowest << " s";
    return s.str();
}

std::string unexpected(const std::vector<Answer>& answers, const std::vector<long>& allowed) {
    std::ostringstream s;
    int n = 0;
    for (const auto& a : answers) {
        if (std::find(allowed.begin(), allowed.end(), a.status) != allowed.end()) continue;
        if (n++ < 10) s << "\n  at " << a.at << " s: " << a.status << " " << a.what;
    }
    if (n > 10) s << "\n  ... " << (n - 10) << " more";
    return s.str();
}

std::vector<std::string> accepted_ids(const std::vector<Answer>& answers) {
    std::vector<std::string> ids;
    for (const auto& a : answers)
        if (a.status == 201 && !a.id.empty()) ids.push_back(a.id);
    return ids;
}

const std::string& small_png(std::size_t index) {
    static const std::vector<std::string> images = [] {
        std::vector<std::string> v;
        for (int i = 0; i < 16; ++i) v.push_back(itest::make_png(96, 72, true, i + 1));
        return v;
    }();
    return images[index % images.size()];
}

// ---- fsck -------------------------------------------------------------------------------

Fsck run_fsck(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"fsck"};
    argv.insert(argv.end(), args.begin(), args.end());
    Fsck f;
    f.result = itest::run_photoshare(argv, {}, 120s);
    f.exit_code = f.result.status.exited ? f.result.status.code : -1;
    const auto& out = f.result.output;
    std::smatch m;
    if (std::regex_search(out, m, std::regex(R"((\d+) photo rows, (\d+) objects)"))) {
        f.rows = std::stol(m[1]);
        f.objects = std::stol(m[2]);
    }
    if (std::regex_search(out, m, std::regex(R"(rows missing a file: (\d+))"))) f.broken_rows = std::stol(m[1]);
    if (std::regex_search(out, m, std::regex(R"(objects without a row: (\d+))"))) f.orphans = std::stol(m[1]);
    return f;
}

}  // namespace faults
