#include <algorithm>

#include "blob/blob.hpp"

namespace photoshare::blob {

bool valid_key(std::string_view key) {
    constexpr std::size_t max_length = 128;
    if (key.empty() || key.size() > max_length || key.front() == '.' ||
        key.find("..") != std::string_view::npos) {
        return false;
    }
    // An explicit set rather than isalnum(): the locale must not widen what is accepted.
    return std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '.';
    });
}

}  // namespace photoshare::blob
