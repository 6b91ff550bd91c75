// Turns uploaded bytes into the variants the site serves. The input is trusted in nothing:
// it is accepted only when libvips decodes all of it, whatever its name or declared type.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace photoshare::image {

// Not an image we accept (unknown format, corrupt, truncated): HTTP 415.
class Unsupported : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};
// Decodable, but over the pixel limit (decompression bombs): HTTP 422.
class TooLarge : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Limits {
    std::uint64_t max_pixels = 50'000'000;
    int display_size = 2048;   // longest edge of the display variant
    int thumbnail_size = 480;  // longest edge of the thumbnail
    int jpeg_quality = 82;
};

struct Variant {
    std::string data;  // encoded JPEG, no metadata
    int width = 0;
    int height = 0;
};

struct Processed {
    std::string format;  // detected input format: "jpeg", "png", "gif", "webp"
    int original_width = 0;
    int original_height = 0;
    Variant display;
    Variant thumbnail;
};

// Starts libvips once per process (safe to call repeatedly).
void initialize();

// Validates by decoding and makes the display and thumbnail variants, auto-rotated by the
// EXIF orientation, sRGB, without EXIF/XMP/IPTC/ICC metadata. Throws Unsupported or TooLarge.
Processed process_file(const std::filesystem::path& path, const Limits& limits);
Processed process_buffer(const std::string& bytes, const Limits& limits);

}  // namespace photoshare::image
