// gzip: a whole body, and a page spliced from pieces compressed once and values stored as
// they are. Both must decompress, with zlib's own checks of the CRC-32 and length in the
// trailer, to exactly the text they stand for.
#include "codec/gzip.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>
#include <stdexcept>

using photoshare::codec::gzip;
using photoshare::codec::SplicedGzip;

namespace {

// Inflates one gzip member; throws if the stream, its CRC or its length is wrong, or if
// anything follows it.
std::string gunzip(const std::string& in) {
    z_stream z{};
    if (inflateInit2(&z, 15 + 16) != Z_OK) throw std::runtime_error("inflateInit2");
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    std::string out;
    char buf[16384];
    int rc = Z_OK;
    while (rc == Z_OK) {
        z.next_out = reinterpret_cast<Bytef*>(buf);
        z.avail_out = sizeof buf;
        rc = inflate(&z, Z_NO_FLUSH);
        out.append(buf, sizeof buf - z.avail_out);
    }
    const auto left = z.avail_in;
    inflateEnd(&z);
    if (rc != Z_STREAM_END) throw std::runtime_error("inflate: " + std::to_string(rc));
    if (left != 0) throw std::runtime_error("bytes after the gzip member");
    return out;
}

std::string html(int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += "<li class=\"card\"><a href=\"/photos/" + std::to_string(i * 7919) + "\">photo</a></li>\n";
    return s;
}

std::string random_text(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, ' ');
    for (auto& c : s) c = static_cast<char>(rng() & 0xff);
    return s;
}

}  // namespace

TEST(Gzip, RoundTripsAndShrinksText) {
    for (const std::string& text : {std::string(), std::string("a"), html(300), random_text(100000, 1)}) {
        const auto z = gzip(text);
        EXPECT_EQ(gunzip(z), text);
    }
    const auto page = html(300);
    EXPECT_LT(gzip(page, 1).size(), page.size() / 4);
}

TEST(SplicedGzip, DecompressesToThePiecesAndValuesInOrder) {
    const std::vector<std::string> pieces{"<html><head>" + html(50), "</head><body>" + html(200), "", "<footer>" + html(3), "</html>"};
    const SplicedGzip spliced(pieces);
    const std::vector<std::string_view> values{"token-abc", "", "request 42", "user <b>"};
    std::string expected;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        expected += pieces[i];
        if (i < values.size()) expected += values[i];
    }
    const auto z = spliced.fill(values);
    EXPECT_EQ(gunzip(z), expected);
    EXPECT_LT(z.size(), expected.size() / 3) << "the pieces are compressed";
}

TEST(SplicedGzip, ValuesLongerThanAStoredBlockAndEmptyPiecesWork) {
    const std::vector<std::string> pieces{"", "middle", ""};
    const SplicedGzip spliced(pieces, 1);
    const std::string big = random_text(200000, 7);  // four stored blocks
    const std::vector<std::string_view> values{big, "x"};
    EXPECT_EQ(gunzip(spliced.fill(values)), big + "middle" + "x");
    const std::vector<std::string_view> empty{"", ""};
    EXPECT_EQ(gunzip(spliced.fill(empty)), "middle");
}

TEST(SplicedGzip, OnePieceIsAPlainGzipOfIt) {
    const std::vector<std::string> one{html(10)};
    EXPECT_EQ(gunzip(SplicedGzip(one).fill({})), html(10));
}

TEST(SplicedGzip, TheWrongNumberOfValuesIsRefused) {
    const std::vector<std::string> pieces{"a", "b"};
    const SplicedGzip spliced(pieces);
    const std::vector<std::string_view> none, two{"x", "y"};
    EXPECT_THROW(spliced.fill(none), std::invalid_argument);
    EXPECT_THROW(spliced.fill(two), std::invalid_argument);
    EXPECT_THROW(SplicedGzip().fill(none), std::invalid_argument);
}
