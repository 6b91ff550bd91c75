#include "app/access_log.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <ctime>
#include <unistd.h>

namespace photoshare::app {

namespace {

constexpr std::size_t kFlushBytes = 256 * 1024;          // write early when this much waits
constexpr auto kFlushInterval = std::chrono::milliseconds(50);

// Paths are already validated, but a log line must never be split or forged by one.
void append_printable(std::string& out, std::string_view s) {
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f || c == ' ' || c == '"') fmt::format_to(std::back_inserter(out), "%{:02X}", c);
        else out += static_cast<char>(c);
    }
}

// The wall-clock time, formatted once per millisecond at most per thread.
std::string_view timestamp() {
    thread_local std::int64_t cached_ms = -1;
    thread_local char buf[32];
    thread_local std::size_t len = 0;
    auto now = std::chrono::system_clock::now();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    if (ms != cached_ms) {
        cached_ms = ms;
        std::time_t secs = static_cast<std::time_t>(ms / 1000);
        std::tm tm{};
        gmtime_r(&secs, &tm);
        len = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
        len += static_cast<std::size_t>(std::snprintf(buf + len, sizeof buf - len, ".%03dZ", static_cast<int>(ms % 1000)));
    }
    return {buf, len};
}

}  // namespace

AccessLog::AccessLog(bool json, int fd) : json_(json), fd_(fd), writer_([this] { run(); }) {}

AccessLog::~AccessLog() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    writer_.join();
}

void AccessLog::write(const http::Completed& c, const std::string& server) {
    const auto& r = c.request;
    const double ms = std::chrono::duration<double, std::milli>(c.duration).count();
    const std::string_view method = r.method_name.empty() ? std::string_view("-") : r.method_name;
    std::string line;
    line.reserve(160);
    if (json_) {
        boost::json::object o{{"time", timestamp()},     {"method", method},         {"path", r.path},
                              {"status", c.status},      {"bytes", c.bytes},         {"duration_ms", std::round(ms * 1000) / 1000},
                              {"request_id", r.request_id}, {"server", server},      {"client", r.client_address}};
        line = boost::json::serialize(o);
    } else {
        line += timestamp();
        line += ' ';
        append_printable(line, method);
        line += ' ';
        if (r.path.empty()) line += '-';
        else append_printable(line, r.path);
        fmt::format_to(std::back_inserter(line), " {} {}B {:.3f}ms id={} server={} client={}", c.status, c.bytes, ms, r.request_id,
                       server, r.client_address);
    }
    line += '\n';
    bool urgent = false;
    {
        std::lock_guard lock(mutex_);
        buffer_ += line;
        urgent = buffer_.size() >= kFlushBytes;
    }
    if (urgent) wake_.notify_one();
}

void AccessLog::flush(std::string& out) {
    std::size_t done = 0;
    while (done < out.size()) {
        auto n = ::write(fd_, out.data() + done, out.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            break;  // stdout closed: nothing sensible to do with a log line
        }
        done += static_cast<std::size_t>(n);
    }
    out.clear();
}

void AccessLog::run() {
    std::string out;
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait_for(lock, kFlushInterval, [this] { return stopping_ || buffer_.size() >= kFlushBytes; });
        out.swap(buffer_);
        const bool stop = stopping_;
        lock.unlock();
        if (!out.empty()) flush(out);
        if (stop) return;
        lock.lock();
    }
}

std::unique_ptr<AccessLog> make_access_log(const config::Config::Log& log) {
    if (!log.access) return nullptr;
    return std::make_unique<AccessLog>(log.format == "json", STDOUT_FILENO);
}

}  // namespace photoshare::app
