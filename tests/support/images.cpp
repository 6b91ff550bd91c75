#include "images.hpp"

#include <zlib.h>

#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

namespace pstest {

namespace {

void put32(std::string& out, std::uint32_t v) {
    out += static_cast<char>(v >> 24);
    out += static_cast<char>(v >> 16);
    out += static_cast<char>(v >> 8);
    out += static_cast<char>(v);
}

void png_chunk(std::string& out, const char* type, const std::string& data) {
    put32(out, static_cast<std::uint32_t>(data.size()));
    std::string body = std::string(type, 4) + data;
    out += body;
    put32(out, static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
}

}  // namespace

std::string make_noise_png(int width, int height, unsigned seed) {
    std::string out = "\x89PNG\r\n\x1a\n";
    std::string ihdr;
    put32(ihdr, static_cast<std::uint32_t>(width));
    put32(ihdr, static_cast<std::uint32_t>(height));
    ihdr += std::string("\x08\x02\x00\x00\x00", 5);
    png_chunk(out, "IHDR", ihdr);
    std::mt19937 gen(seed);
    std::string raw;
    raw.reserve(static_cast<std::size_t>(height) * (1 + 3 * static_cast<std::size_t>(width)));
    for (int y = 0; y < height; ++y) {
        raw += '\0';
        for (int i = 0; i < 3 * width; ++i) raw += static_cast<char>(gen() & 0xff);
    }
    uLongf size = compressBound(static_cast<uLong>(raw.size()));
    std::string compressed(size, '\0');
    compress2(reinterpret_cast<Bytef*>(compressed.data()), &size, reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()),
              Z_BEST_SPEED);
    compressed.resize(size);
    png_chunk(out, "IDAT", compressed);
    png_chunk(out, "IEND", "");
    return out;
}

std::string make_png(int width, int height, bool rgb, int seed) {
    std::string out = "\x89PNG\r\n\x1a\n";
    std::string ihdr;
    put32(ihdr, static_cast<std::uint32_t>(width));
    put32(ihdr, static_cast<std::uint32_t>(height));
    ihdr += static_cast<char>(8);
    ihdr += static_cast<char>(rgb ? 2 : 0);
    ihdr += std::string(3, '\0');
    png_chunk(out, "IHDR", ihdr);

    const std::uint64_t pixels = static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(height);
    z_stream z{};
    deflateInit(&z, pixels > 4'000'000 ? Z_BEST_SPEED : Z_DEFAULT_COMPRESSION);
    std::string compressed;
    std::vector<unsigned char> row(1 + static_cast<std::size_t>(width) * (rgb ? 3 : 1));
    std::vector<unsigned char> buf(1 << 16);
    auto pump = [&](int flush) {
        do {
            z.next_out = buf.data();
            z.avail_out = static_cast<uInt>(buf.size());
            deflate(&z, flush);
            compressed.append(reinterpret_cast<char*>(buf.data()), buf.size() - z.avail_out);
        } while (z.avail_out == 0);
    };
    for (int y = 0; y < height; ++y) {
        row[0] = 0;
        for (int x = 0; x < width; ++x) {
            if (rgb) {
                row[1 + 3 * x] = static_cast<unsigned char>(x + seed);
                row[2 + 3 * x] = static_cast<unsigned char>(y * 2 + seed);
                row[3 + 3 * x] = static_cast<unsigned char>((x ^ y) + seed);
            } else {
                row[1 + x] = static_cast<unsigned char>(x + y + seed);
            }
        }
        z.next_in = row.data();
        z.avail_in = static_cast<uInt>(row.size());
        pump(Z_NO_FLUSH);
    }
    pump(Z_FINISH);
    deflateEnd(&z);
    png_chunk(out, "IDAT", compressed);
    png_chunk(out, "IEND", "");
    return out;
}

namespace {
unsigned be16(std::string_view d, std::size_t at) {
    return (static_cast<unsigned char>(d[at]) << 8) | static_cast<unsigned char>(d[at + 1]);
}
}  // namespace

std::optional<std::pair<int, int>> jpeg_size(std::string_view d) {
    if (d.size() < 4 || static_cast<unsigned char>(d[0]) != 0xFF || static_cast<unsigned char>(d[1]) != 0xD8) return std::nullopt;
    std::size_t pos = 2;
    while (pos + 4 <= d.size()) {
        if (static_cast<unsigned char>(d[pos]) != 0xFF) return std::nullopt;
        const unsigned marker = static_cast<unsigned char>(d[pos + 1]);
        if (marker == 0xFF) {
            ++pos;
            continue;
        }
        if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {
            pos += 2;
            continue;
        }
        const unsigned len = be16(d, pos + 2);
        if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
            if (pos + 9 > d.size()) return std::nullopt;
            return std::pair{static_cast<int>(be16(d, pos + 7)), static_cast<int>(be16(d, pos + 5))};
        }
        if (marker == 0xDA) return std::nullopt;
        pos += 2 + len;
    }
    return std::nullopt;
}

bool looks_like_jpeg(std::string_view d) {
    return d.size() > 4 && static_cast<unsigned char>(d[0]) == 0xFF && static_cast<unsigned char>(d[1]) == 0xD8 &&
           static_cast<unsigned char>(d[d.size() - 2]) == 0xFF && static_cast<unsigned char>(d[d.size() - 1]) == 0xD9 &&
           jpeg_size(d).has_value();
}

std::optional<std::string> with_exif_orientation(std::string jpeg, int value) {
    std::string_view d = jpeg;
    std::size_t pos = 2;
    while (pos + 4 <= d.size()) {
        if (static_cast<unsigned char>(d[pos]) != 0xFF) return std::nullopt;
        const unsigned marker = static_cast<unsigned char>(d[pos + 1]);
        const unsigned len = be16(d, pos + 2);
        if (marker == 0xDA) return std::nullopt;
        if (marker == 0xE1 && d.substr(pos + 4, 6) == std::string_view("Exif\0\0", 6)) {
            const std::size_t tiff = pos + 10;
            const bool little = d.substr(tiff, 2) == "II";
            auto r16 = [&](std::size_t at) -> unsigned {
                auto a = static_cast<unsigned char>(d[at]), b = static_cast<unsigned char>(d[at + 1]);
                return little ? (a | (b << 8)) : ((a << 8) | b);
            };
            auto r32 = [&](std::size_t at) -> std::size_t {
                return little ? (r16(at) | (static_cast<std::size_t>(r16(at + 2)) << 16))
                              : ((static_cast<std::size_t>(r16(at)) << 16) | r16(at + 2));
            };
            const std::size_t ifd0 = tiff + r32(tiff + 4);
            const unsigned n = r16(ifd0);
            for (unsigned i = 0; i < n; ++i) {
                const std::size_t e = ifd0 + 2 + 12 * i;
                if (r16(e) == 0x0112) {
                    const auto v = static_cast<unsigned>(value);
                    jpeg[e + 8] = static_cast<char>(little ? (v & 0xff) : (v >> 8));
                    jpeg[e + 9] = static_cast<char>(little ? (v >> 8) : (v & 0xff));
                    return jpeg;
                }
            }
            return std::nullopt;
        }
        pos += 2 + len;
    }
    return std::nullopt;
}

std::string with_jpeg_comment(const std::string& jpeg, std::string_view text) {
    if (text.size() > 65533) throw std::invalid_argument("a JPEG comment holds at most 65533 bytes");
    const std::size_t len = text.size() + 2;
    std::string segment = "\xFF\xFE";
    segment += static_cast<char>(len >> 8);
    segment += static_cast<char>(len & 0xff);
    segment.append(text);
    return jpeg.substr(0, 2) + segment + jpeg.substr(2);
}

const std::string& small_png(std::size_t index) {
    static const std::vector<std::string> images = [] {
        std::vector<std::string> v;
        for (int i = 0; i < 16; ++i) v.push_back(make_png(96, 72, true, i + 1));
        return v;
    }();
    return images[index % images.size()];
}

}  // namespace pstest
