#include "codec/gzip.hpp"

#include <zlib.h>

#include <memory>
#include <stdexcept>

namespace photoshare::codec {

namespace {

// windowBits for deflateInit2: 15 + 16 writes a gzip header and trailer; -15, raw blocks.
constexpr int kGzipWindow = 15 + 16;
constexpr int kRawWindow = -15;
// Inputs up to this size use an 8 KiB window and a 4096-entry hash table: a reset clears
// 8 KiB instead of 64 KiB, and nothing farther back than the input could be matched anyway.
constexpr std::size_t kSmall = 8192;

// A deflate stream kept by each thread for each (level, window), reset between uses: making
// one allocates and clears about 270 KB, which cost a small page more than compressing it
// (bench/compression.sh: 600 us against 20 us).
class Deflater {
public:
    Deflater(int level, int window, bool small) {
        const int bits = small ? 13 : 15;
        if (deflateInit2(&z_, level, Z_DEFLATED, window < 0 ? -bits : bits + (window - 15), small ? 5 : 8, Z_DEFAULT_STRATEGY) != Z_OK)
            throw std::runtime_error("deflateInit2 failed");
    }
    ~Deflater() { deflateEnd(&z_); }
    Deflater(const Deflater&) = delete;
    Deflater& operator=(const Deflater&) = delete;

    // All of data, ending with `flush`.
    std::string run(std::string_view data, int flush) {
        if (deflateReset(&z_) != Z_OK) throw std::runtime_error("deflateReset failed");
        std::string out(deflateBound(&z_, data.size()) + 16, '\0');
        z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
        z_.avail_in = static_cast<uInt>(data.size());
        z_.next_out = reinterpret_cast<Bytef*>(out.data());
        z_.avail_out = static_cast<uInt>(out.size());
        const int rc = deflate(&z_, flush);
        if (rc != (flush == Z_FINISH ? Z_STREAM_END : Z_OK) || z_.avail_in != 0) throw std::runtime_error("deflate failed");
        out.resize(out.size() - z_.avail_out);
        return out;
    }

private:
    z_stream z_{};
};

std::string deflate_all(std::string_view data, int level, int window, int flush) {
    if (level < 1 || level > 9) throw std::invalid_argument("gzip level must be 1 to 9");
    const bool small = data.size() <= kSmall;
    thread_local std::unique_ptr<Deflater> streams[2][2][10];  // [gzip][small][level]
    auto& stream = streams[window == kGzipWindow][small][level];
    if (!stream) stream = std::make_unique<Deflater>(level, window, small);
    return stream->run(data, flush);
}

std::uint32_t crc_of(std::string_view data, std::uint32_t crc = 0) {
    return static_cast<std::uint32_t>(crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

void put_le(std::string& out, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

// The gzip header: no name, no time, "unknown" OS.
constexpr char kHeader[10] = {'\x1f', '\x8b', 8, 0, 0, 0, 0, 0, 0, '\xff'};

}  // namespace

std::string gzip(std::string_view data, int level) { return deflate_all(data, level, kGzipWindow, Z_FINISH); }

SplicedGzip::SplicedGzip(std::span<const std::string> pieces, int level) {
    for (const auto& text : pieces) {
        Piece p;
        p.size = text.size();
        p.crc = crc_of(text);
        // Each piece in a stream of its own, so that no back-reference reaches into the values
        // before it; a sync flush leaves the end byte-aligned, with no final block.
        if (!text.empty()) p.deflated = deflate_all(text, level, kRawWindow, Z_SYNC_FLUSH);
        deflated_size_ += p.deflated.size();
        pieces_.push_back(std::move(p));
    }
}

std::string SplicedGzip::fill(std::span<const std::string_view> values) const {
    if (pieces_.empty() || values.size() + 1 != pieces_.size()) throw std::invalid_argument("SplicedGzip::fill: wrong number of values");
    std::size_t size = sizeof kHeader + deflated_size_ + 5 + 8;
    for (auto v : values) size += v.size() + 5 * (v.size() / 65535 + 1);
    std::string out;
    out.reserve(size);
    out.append(kHeader, sizeof kHeader);
    std::uint32_t crc = 0;
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < pieces_.size(); ++i) {
        const auto& p = pieces_[i];
        out += p.deflated;
        crc = static_cast<std::uint32_t>(crc32_combine(crc, p.crc, static_cast<z_off_t>(p.size)));
        total += p.size;
        if (i == values.size()) break;
        // The value as stored blocks: a header byte (not final, type 0), LEN and its
        // complement, then the bytes; at most 65535 of them a block.
        auto v = values[i];
        crc = crc_of(v, crc);
        total += v.size();
        while (!v.empty()) {
            const auto n = std::min<std::size_t>(v.size(), 65535);
            out += '\0';
            put_le(out, n, 2);
            put_le(out, ~n & 0xffff, 2);
            out.append(v.substr(0, n));
            v.remove_prefix(n);
        }
    }
    out.append("\x01\x00\x00\xff\xff", 5);  // the final block: empty, stored
    put_le(out, crc, 4);
    put_le(out, total & 0xffffffff, 4);
    return out;
}

}  // namespace photoshare::codec
