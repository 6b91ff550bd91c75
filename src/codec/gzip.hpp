// gzip (RFC 1952) for HTTP responses: a whole body at once, and a page made of fixed pieces
// and per-request values whose fixed pieces are compressed only once. A Spliced page joins
// the pieces' compressed bytes with the values as stored (uncompressed) deflate blocks and
// combines the pieces' precomputed CRC-32s with the values' own: a request pays for copying
// and for checksumming its few values, not for compressing the page.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace photoshare::codec {

// level: 1 (fastest) to 9 (smallest).
std::string gzip(std::string_view data, int level = 6);

class SplicedGzip {
public:
    SplicedGzip() = default;
    // The page is pieces[0] values[0] pieces[1] ... values[n-2] pieces[n-1].
    SplicedGzip(std::span<const std::string> pieces, int level = 6);

    // The gzip stream of the page with these values (values.size() == pieces - 1). The
    // result decompresses to exactly the concatenation, as one gzip member.
    std::string fill(std::span<const std::string_view> values) const;

private:
    struct Piece {
        std::string deflated;  // raw deflate blocks, ending byte-aligned and not final
        std::uint32_t crc = 0;
        std::uint64_t size = 0;
    };
    std::vector<Piece> pieces_;
    std::size_t deflated_size_ = 0;
};

}  // namespace photoshare::codec
