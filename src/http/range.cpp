#include "http/range.hpp"

#include "http/token.hpp"

#include <cctype>
#include <charconv>
#include <optional>

namespace photoshare::http {

namespace {

// Digits only (no sign, no space), and no overflow.
std::optional<std::uint64_t> number(std::string_view s) {
    if (s.empty()) return std::nullopt;
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

}  // namespace

RangeRequest requested_range(std::string_view range, std::string_view if_range, std::string_view etag, std::uint64_t size) {
    const RangeRequest whole;
    range = trim_ows(range);
    if (range.empty()) return whole;
    if (!trim_ows(if_range).empty() && trim_ows(if_range) != etag) return whole;
    constexpr std::string_view unit = "bytes=";
    if (range.size() < unit.size()) return whole;
    for (std::size_t i = 0; i < unit.size(); ++i)  // the unit is case-insensitive
        if (std::tolower(static_cast<unsigned char>(range[i])) != unit[i]) return whole;
    const auto spec = trim_ows(range.substr(unit.size()));
    if (spec.find(',') != std::string_view::npos) return whole;  // several ranges: all of it
    const auto dash = spec.find('-');
    if (dash == std::string_view::npos) return whole;
    const auto from = trim_ows(spec.substr(0, dash)), to = trim_ows(spec.substr(dash + 1));
    RangeRequest r;
    if (from.empty()) {  // the last N bytes
        auto n = number(to);
        if (!n) return whole;
        if (*n == 0 || size == 0) return {RangeRequest::Kind::unsatisfiable};
        r.kind = RangeRequest::Kind::part;
        r.first = *n >= size ? 0 : size - *n;
        r.last = size - 1;
        return r;
    }
    auto first = number(from);
    if (!first) return whole;
    std::optional<std::uint64_t> last;
    if (!to.empty()) {
        last = number(to);
        if (!last || *last < *first) return whole;  // not a valid range: ignored
    }
    if (*first >= size) return {RangeRequest::Kind::unsatisfiable};
    r.kind = RangeRequest::Kind::part;
    r.first = *first;
    r.last = last && *last < size ? *last : size - 1;
    return r;
}

}  // namespace photoshare::http
