// Fault-test helpers beyond the shared harness (tests/support: services, stacks, loads, the
// server process): the "[faults]" notes and `photoshare fsck` run and read.
#pragma once

#include "support/process.hpp"

#include <string>
#include <vector>

namespace faults {

// "[faults] ..." lines: the figures docs/RELIABILITY.md quotes.
void note(const std::string& line);

struct Fsck {
    pstest::CommandResult result;
    int exit_code = -1;
    long rows = -1, objects = -1, broken_rows = -1, orphans = -1;
    std::string output() const { return result.output; }
};
// photoshare fsck ARGS... (e.g. --data-dir D --grace 0 [--repair] [--set ...]), read.
Fsck run_fsck(const std::vector<std::string>& args);

}  // namespace faults
