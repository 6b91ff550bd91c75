#include "faults.hpp"

#include "support/photoshare_server.hpp"

#include <iostream>
#include <regex>

namespace faults {

using namespace std::chrono_literals;

void note(const std::string& line) { std::cerr << "[faults] " << line << "\n"; }

Fsck run_fsck(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"fsck"};
    argv.insert(argv.end(), args.begin(), args.end());
    Fsck f;
    f.result = pstest::run_photoshare(argv, {}, 120s);
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
