// A set of IP addresses and CIDR ranges ("127.0.0.1", "10.0.0.0/8", "fd00::/8"), for the
// proxies whose X-Forwarded-For the server believes. Load balancers and ingress controllers
// in a cluster change address, so single addresses are not enough.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace photoshare::http {

class AddressRanges {
public:
    AddressRanges() = default;
    // Throws std::invalid_argument naming the entry that is not an address or a range.
    explicit AddressRanges(const std::vector<std::string>& entries);

    bool contains(std::string_view address) const;  // false for anything that is not an address
    bool empty() const { return ranges_.empty(); }

private:
    struct Range {
        std::array<std::uint8_t, 16> bytes{};  // IPv4 as IPv4-mapped IPv6
        int prefix = 128;
    };
    std::vector<Range> ranges_;
};

}  // namespace photoshare::http
