// The PNG text filter must remove exactly the text chunks and pass everything else, damage
// included, through byte for byte, however the decoder sizes its reads.
#include "image/png_text_filter.hpp"

#include "image/image.hpp"

#include <gtest/gtest.h>
#include <vips/vips8>

#include <cstdint>
#include <string>
#include <vector>

namespace photoshare::image {
namespace {

class StartLibvips : public ::testing::Environment {
public:
    void SetUp() override { initialize(); }
};
const auto* const start_libvips = ::testing::AddGlobalTestEnvironment(new StartLibvips);

std::uint32_t crc32_of(const std::string& data) {
    std::uint32_t crc = 0xFFFFFFFFu;
    for (const char c : data) {
        crc ^= static_cast<unsigned char>(c);
        for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc ^ 0xFFFFFFFFu;
}

std::string be32(std::uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>((v >> 16) & 0xFF),
            static_cast<char>((v >> 8) & 0xFF), static_cast<char>(v & 0xFF)};
}

std::string chunk(const std::string& type, const std::string& data) {
    return be32(static_cast<std::uint32_t>(data.size())) + type + data + be32(crc32_of(type + data));
}

const std::string kSignature = "\x89PNG\r\n\x1a\n";
// A 1x1 grey PNG: IHDR, one IDAT holding a zlib stream of the filter byte and the pixel.
const std::string kIhdr = chunk("IHDR", std::string("\0\0\0\1\0\0\0\1\x08\0\0\0\0", 13));
const std::string kIdat = chunk("IDAT", std::string("\x78\x01\x01\x02\x00\xfd\xff\x00\x80\x00\x82\x00\x81", 13));
const std::string kIend = chunk("IEND", "");

// Everything the filtered source yields, read `step` bytes at a time.
std::string drain(const std::string& png, std::size_t step) {
    vips::VSource source = vips::VSource::new_from_memory(png.data(), png.size());
    vips::VSource filtered = without_png_text(source);
    std::string out;
    std::vector<char> buffer(step);
    for (;;) {
        const gint64 n = vips_source_read(filtered.get_source(), buffer.data(), step);
        if (n < 0) throw vips::VError();
        if (n == 0) return out;
        out.append(buffer.data(), static_cast<std::size_t>(n));
    }
}

TEST(PngTextFilter, RemovesTextChunksAndNothingElse) {
    const std::string text = chunk("tEXt", std::string("Comment\0hello", 13));
    const std::string ztxt = chunk("zTXt", std::string("big\0\0\x78\x9c\x03\x00\x00\x00\x00\x01", 13));
    const std::string itxt = chunk("iTXt", std::string("XML:com.adobe.xmp\0\0\0\0\0<x/>", 26));
    const std::string gama = chunk("gAMA", be32(45455));
    const std::string input =
        kSignature + kIhdr + text + gama + ztxt + kIdat + itxt + kIend;
    const std::string expected = kSignature + kIhdr + gama + kIdat + kIend;
    for (std::size_t step : {1, 3, 7, 8, 13, 4096}) {
        EXPECT_EQ(drain(input, step), expected) << "reads of " << step;
    }
}

TEST(PngTextFilter, PassesAPngWithoutTextUnchanged) {
    const std::string input = kSignature + kIhdr + kIdat + kIend;
    EXPECT_EQ(drain(input, 5), input);
    EXPECT_EQ(drain(input, 4096), input);
}

TEST(PngTextFilter, PassesDamageThrough) {
    const std::string whole = kSignature + kIhdr + kIdat + kIend;
    // Cut inside a chunk header, inside chunk data, inside the signature.
    for (std::size_t cut : {kSignature.size() + 3, kSignature.size() + kIhdr.size() + 10,
                            std::size_t{5}}) {
        const std::string input = whole.substr(0, cut);
        EXPECT_EQ(drain(input, 1), input) << cut;
        EXPECT_EQ(drain(input, 4096), input) << cut;
    }
    // Not a PNG at all: passed through unchanged too (the decoder rejects it).
    EXPECT_EQ(drain("GIF89a and so on", 4), "GIF89a and so on");
}

TEST(PngTextFilter, TextChunkRunningPastTheEndSwallowsTheRest) {
    // A text chunk claiming 2 GB: skipped to the end of the input, which then ends.
    const std::string input = kSignature + kIhdr + be32(0x7FFFFFFF) + "zTXt" + "tail";
    EXPECT_EQ(drain(input, 16), kSignature + kIhdr);
}

TEST(PngTextFilter, DecodesTheSamePixels) {
    const std::string input = kSignature + kIhdr +
                              chunk("tEXt", std::string("Comment\0hello", 13)) + kIdat + kIend;
    const Processed p = process_buffer(input, Limits{});
    EXPECT_EQ(p.display.width, 1);
    const vips::VImage out =
        vips::VImage::new_from_buffer(p.display.data.data(), p.display.data.size(), "");
    EXPECT_NEAR(out.getpoint(0, 0)[0], 128, 3);
}

}  // namespace
}  // namespace photoshare::image
