// brotli: what codec::brotli makes decodes, with the reference decoder, to exactly its
// input, and text comes out smaller than gzip's best.
#include "codec/brotli.hpp"
#include "codec/gzip.hpp"

#include <brotli/decode.h>
#include <gtest/gtest.h>

#include <random>
#include <stdexcept>

using photoshare::codec::brotli;

namespace {

std::string unbrotli(const std::string& in, std::size_t expected) {
    std::string out(expected + 16, '\0');  // room to notice a longer result
    std::size_t size = out.size();
    if (BrotliDecoderDecompress(in.size(), reinterpret_cast<const std::uint8_t*>(in.data()), &size,
                                reinterpret_cast<std::uint8_t*>(out.data())) != BROTLI_DECODER_RESULT_SUCCESS)
        throw std::runtime_error("not a complete brotli stream");
    out.resize(size);
    return out;
}

}  // namespace

TEST(Brotli, DecodesToItsInput) {
    std::string css;
    for (int i = 0; i < 400; ++i) css += ".card-" + std::to_string(i) + " { margin: 0 auto; color: #1a1a1a; }\n";
    std::mt19937 rng(7);
    std::string noise(50'000, '\0');
    for (auto& c : noise) c = static_cast<char>(rng());
    for (const std::string& text : {std::string(), std::string("a"), css, noise}) {
        for (const int quality : {0, 5, 11}) {
            const auto packed = brotli(text, quality);
            EXPECT_EQ(unbrotli(packed, text.size()), text) << text.size() << " bytes at quality " << quality;
        }
    }
    EXPECT_LT(brotli(css).size(), photoshare::codec::gzip(css, 9).size());
}
