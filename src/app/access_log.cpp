#include "app/access_log.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace photoshare::app {

namespace {

// Paths are already validated, but a log line must never be split or forged by one.
std::string printable(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f || c == ' ' || c == '"') out += fmt::format("%{:02X}", c);
        else out += static_cast<char>(c);
    }
    return out;
}

}  // namespace

AccessLog::AccessLog(bool json) : json_(json) {
    static std::once_flag pool_once;
    std::call_once(pool_once, [] { spdlog::init_thread_pool(16384, 1); });
    auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    logger_ = std::make_shared<spdlog::async_logger>("access", sink, spdlog::thread_pool(), spdlog::async_overflow_policy::block);
    logger_->set_pattern(json ? "%v" : "%Y-%m-%dT%H:%M:%S.%eZ %v", spdlog::pattern_time_type::utc);
    logger_->flush_on(spdlog::level::info);
}

AccessLog::~AccessLog() {
    if (logger_) logger_->flush();
}

void AccessLog::write(const http::Completed& c, const std::string& server) {
    const auto& r = c.request;
    const double ms = std::chrono::duration<double, std::milli>(c.duration).count();
    const std::string_view method = r.method_name.empty() ? std::string_view("-") : r.method_name;
    if (json_) {
        boost::json::object o{{"ts_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count()},
                              {"method", method},
                              {"path", r.path},
                              {"status", c.status},
                              {"bytes", c.bytes},
                              {"duration_ms", std::round(ms * 1000) / 1000},
                              {"request_id", r.request_id},
                              {"server", server},
                              {"client", r.client_address}};
        logger_->info(boost::json::serialize(o));
    } else {
        logger_->info("{} {} {} {}B {:.3f}ms id={} server={} client={}", printable(method), r.path.empty() ? "-" : printable(r.path),
                      c.status, c.bytes, ms, r.request_id, server, r.client_address);
    }
}

std::unique_ptr<AccessLog> make_access_log(const config::Config::Log& log) {
    if (!log.access) return nullptr;
    return std::make_unique<AccessLog>(log.format == "json");
}

}  // namespace photoshare::app
