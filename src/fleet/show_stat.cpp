#include "fleet/show_stat.hpp"

#include "fleet/fields.hpp"

namespace photoshare::fleet {

namespace {

// The field of the column named `name`, empty when the header has no such column.
std::string_view column(const std::vector<std::string_view>& columns, const std::vector<std::string_view>& row, std::string_view name) {
    for (std::size_t i = 0; i < columns.size() && i < row.size(); ++i)
        if (columns[i] == name) return row[i];
    return {};
}

ServerStat server_stat(const std::vector<std::string_view>& columns, const std::vector<std::string_view>& row) {
    auto col = [&](std::string_view name) { return column(columns, row, name); };
    ServerStat s;
    s.name = std::string(row[1]);
    s.status = std::string(col("status"));
    s.scur = to_u64(col("scur"));
    s.qcur = to_u64(col("qcur"));
    s.stot = to_u64(col("stot"));
    s.hrsp_5xx = to_u64(col("hrsp_5xx"));
    s.qtime = to_u64(col("qtime"));
    s.ctime = to_u64(col("ctime"));
    s.rtime = to_u64(col("rtime"));
    s.ttime = to_u64(col("ttime"));
    s.check_status = std::string(col("check_status"));
    s.addr = std::string(col("addr"));
    return s;
}

}  // namespace

std::vector<ServerStat> parse_show_stat(std::string_view csv, std::string_view backend) {
    std::vector<ServerStat> out;
    std::vector<std::string_view> columns;
    for (auto line : split(csv, '\n')) {
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) continue;
        if (line.starts_with("# ")) {
            columns = split(line.substr(2), ',');
            continue;
        }
        if (columns.empty()) continue;
        auto row = split(line, ',');
        if (row.size() < 2 || row[0] != backend || row[1] == "BACKEND" || row[1] == "FRONTEND") continue;
        out.push_back(server_stat(columns, row));
    }
    return out;
}

bool stat_is_up(const std::string& status) { return status == "UP" || status.starts_with("UP "); }

}  // namespace photoshare::fleet
