#include "http/address_ranges.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <optional>
#include <stdexcept>

namespace photoshare::http {

namespace {

// IPv4 addresses become IPv4-mapped IPv6 (::ffff:a.b.c.d), so one comparison serves both.
std::optional<std::array<std::uint8_t, 16>> parse_address(std::string_view text, bool* is_v4 = nullptr) {
    std::string s(text);
    std::array<std::uint8_t, 16> out{};
    in_addr v4{};
    if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
        out[10] = out[11] = 0xff;
        std::memcpy(out.data() + 12, &v4, 4);
        if (is_v4) *is_v4 = true;
        return out;
    }
    in6_addr v6{};
    if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
        std::memcpy(out.data(), &v6, 16);
        if (is_v4) *is_v4 = false;
        return out;
    }
    return std::nullopt;
}

}  // namespace

AddressRanges::AddressRanges(const std::vector<std::string>& entries) {
    for (const auto& entry : entries) {
        std::string_view e = entry;
        auto slash = e.find('/');
        bool v4 = false;
        auto address = parse_address(e.substr(0, slash), &v4);
        if (!address) throw std::invalid_argument("server.trusted_proxies: '" + entry + "' is not an IP address or a CIDR range");
        Range r;
        r.bytes = *address;
        r.prefix = 128;
        if (slash != std::string_view::npos) {
            auto bits = e.substr(slash + 1);
            int n = -1;
            auto [p, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), n);
            const int max = v4 ? 32 : 128;
            if (ec != std::errc{} || p != bits.data() + bits.size() || n < 0 || n > max)
                throw std::invalid_argument("server.trusted_proxies: '" + entry + "' has a bad prefix length");
            r.prefix = v4 ? n + 96 : n;
        }
        ranges_.push_back(r);
    }
}

bool AddressRanges::contains(std::string_view address) const {
    auto a = parse_address(address);
    if (!a) return false;
    for (const auto& r : ranges_) {
        int bits = r.prefix;
        bool match = true;
        for (int i = 0; i < 16 && bits > 0 && match; ++i, bits -= 8) {
            const std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
            match = ((*a)[i] & mask) == (r.bytes[i] & mask);
        }
        if (match) return true;
    }
    return false;
}

}  // namespace photoshare::http
