// Splitting and reading the fields of HAProxy's text output (`show stat` CSV, log lines).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace photoshare::fleet {

// Every field between separators, empty ones included ("a,,b" -> "a", "", "b").
std::vector<std::string_view> split(std::string_view s, char sep);
// The number at the start of the field; 0 when there is none.
std::uint64_t to_u64(std::string_view s);
// The whole field as a number; -1 when it is not one ("-1" is -1 too: HAProxy's "did not happen").
int to_int(std::string_view s);

}  // namespace photoshare::fleet
