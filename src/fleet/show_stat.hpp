// HAProxy's `show stat`: each server's state, sessions and queue, as the fleet reads them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace photoshare::fleet {

// One server row of `show stat`.
struct ServerStat {
    std::string name;
    std::string status;  // UP, DOWN, MAINT, DRAIN, NOLB, "UP 1/2", "DOWN 1/2" (going up/down)...
    std::uint64_t scur = 0;  // current sessions (requests being served)
    std::uint64_t qcur = 0;  // queued
    std::uint64_t stot = 0;
    std::uint64_t hrsp_5xx = 0;
    // Averages over the last 1024 requests (HAProxy's own, not windowed), ms.
    std::uint64_t qtime = 0, ctime = 0, rtime = 0, ttime = 0;
    std::string check_status;  // L7OK, L4CON, L7STS...
    std::string addr;
};
// The rows of `backend`'s servers in `show stat` CSV output.
std::vector<ServerStat> parse_show_stat(std::string_view csv, std::string_view backend);
// "UP", "UP 1/2" (a failed check, not yet down): serving. DOWN, MAINT, DRAIN, NOLB: not.
bool stat_is_up(const std::string& status);

}  // namespace photoshare::fleet
