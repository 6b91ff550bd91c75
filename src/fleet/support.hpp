// Small helpers the controller's files share: files, ports, numbers for JSON.
#pragma once

#include "fleet/policy.hpp"

#include <boost/json/value.hpp>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

namespace photoshare::fleet {

// 48 hex digits from /dev/urandom (throws when it cannot be read).
std::string random_token();
std::string read_first_line(const std::filesystem::path& p);
// The last lines of a log file, each on a line of its own indented by four, for messages
// about a process that failed.
std::string tail(const std::filesystem::path& p, int lines);
// Whether something accepts TCP connections on host:port.
bool port_in_use(const std::string& host, int port);
// Seconds, for messages and records.
double seconds(TimePoint t);
// A value rounded to two decimals, or null.
boost::json::value json_number(const std::optional<double>& v);
// Appends one JSON line to a record file (history.jsonl, events.jsonl). A line that cannot
// be written (disk full) is reported, once per file, and the fleet goes on without it.
void append_record(std::FILE* file, const std::string& line, std::atomic<bool>& failed, const char* name);

}  // namespace photoshare::fleet
