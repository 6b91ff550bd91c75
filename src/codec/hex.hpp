// Bytes as lower-case hex: digests, signatures, random identifiers. The one hex encoder of
// the project; it runs in constant time (libsodium), so it may be given secrets.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace photoshare::codec {

// Two lower-case hex digits per byte, most significant nibble first: "\x01\xab" -> "01ab".
std::string to_hex(std::span<const std::uint8_t> bytes);
std::string to_hex(std::string_view bytes);

}  // namespace photoshare::codec
