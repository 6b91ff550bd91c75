#include "http/message.hpp"

#include <fmt/format.h>

namespace photoshare::http {

std::string human_size(std::uint64_t bytes) {
    static constexpr const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) return fmt::format("{} bytes", bytes);
    double value = static_cast<double>(bytes) / 1024;
    std::size_t unit = 0;
    while (value >= 1024 && unit + 1 < std::size(units)) {
        value /= 1024;
        ++unit;
    }
    const std::string number = fmt::format("{:.1f}", value);
    return (number.ends_with(".0") ? number.substr(0, number.size() - 2) : number) + " " + units[unit];
}

std::pair<std::string, std::string> human_sizes(std::uint64_t size, std::uint64_t limit) {
    auto a = human_size(size);
    auto b = human_size(limit);
    if (a == b) return {std::to_string(size) + " bytes", std::to_string(limit) + " bytes"};
    return {std::move(a), std::move(b)};
}

}  // namespace photoshare::http
