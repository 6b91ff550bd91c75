#include "store/dialect.hpp"

namespace photoshare::store {

std::string with_placeholders(std::string_view sql, Placeholders style) {
    if (style == Placeholders::question) {
        return std::string(sql);
    }
    std::string out;
    out.reserve(sql.size() + 8);
    int next = 1;
    for (const char c : sql) {
        if (c == '?') {
            out += '$';
            out += std::to_string(next++);
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace photoshare::store
