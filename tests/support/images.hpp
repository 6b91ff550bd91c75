// Images made here for the tests: PNGs of any size, JPEG markers read and rewritten.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace pstest {

// A PNG made here: 8-bit grey (or RGB) with a gradient so that encoders have work to do.
std::string make_png(int width, int height, bool rgb = false, int seed = 0);
// An RGB PNG of random pixels: as large as its pixels (it does not compress).
std::string make_noise_png(int width, int height, unsigned seed = 1);
// Width and height from a JPEG's SOF marker.
std::optional<std::pair<int, int>> jpeg_size(std::string_view jpeg);
// Starts with SOI and ends with EOI.
bool looks_like_jpeg(std::string_view data);
// The JPEG with the EXIF IFD0 Orientation tag set to value (nullopt if it has none).
std::optional<std::string> with_exif_orientation(std::string jpeg, int value);
// The JPEG with a COM (comment) segment holding `text` right after its SOI marker: still a
// valid JPEG, carrying whatever bytes one wants to smuggle (at most 65533 of them).
std::string with_jpeg_comment(const std::string& jpeg, std::string_view text);
// Small distinct RGB PNGs (96x72, 16 of them, index modulo 16), to upload with little work.
const std::string& small_png(std::size_t index);

}  // namespace pstest
