// Turns uploaded bytes into the variants the site serves. The input is trusted in nothing:
// it is accepted only when libvips decodes all of it, whatever its name or declared type.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace photoshare::image {

// Not an image we accept (unknown format, corrupt, truncated): HTTP 415.
// what() is written for the person who uploaded the file and may be shown as is.
class Unsupported : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};
// Decodable, but over the pixel limit (decompression bombs): HTTP 422.
// what() is written for the person who uploaded the file and may be shown as is.
class TooLarge : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Limits {
    // Checked against the header (for animations: the canvas) before any pixel is decoded.
    std::uint64_t max_pixels = 50'000'000;
    int display_size = 2048;   // longest edge of the display variant
    int thumbnail_size = 480;  // longest edge of the thumbnail
    // Longest edges of the further variants a page may pick from (srcset), besides the
    // display and thumbnail sizes; only those below the display's longest edge are made.
    std::vector<int> sizes = {320, 640, 1024, 1600};
    int jpeg_quality = 82;
};

struct Variant {
    std::string data;  // encoded JPEG (sRGB, 8-bit, 3 bands), no metadata at all
    int width = 0;
    int height = 0;
};

struct Processed {
    std::string format;  // detected input format: "jpeg", "png", "gif", "webp", "heic", "avif"
    // Size of the upload as it is displayed, i.e. after the EXIF rotation (an orientation
    // of 5-8 swaps the stored width and height). For animations: the canvas.
    int original_width = 0;
    int original_height = 0;
    // Frames of an animated GIF or WebP, images in a HEIF file: above 1, the variants show
    // only the first (the uploader must be told).
    int frames = 1;
    Variant display;    // longest edge min(display_size, original's), never upscaled
    Variant thumbnail;  // longest edge min(thumbnail_size, display's), made from display
    // One per Limits::sizes entry below the display's longest edge and other than the
    // thumbnail's, ascending, each made from the display variant; no two variants have the
    // same width (pages name them by it).
    std::vector<Variant> more;
};

// Further formats of a stored photo, made later than its JPEGs (they take longer: AVIF
// above all): each width of `widths`, from the photo's display variant (a JPEG made by
// process_*, whose width is the largest of them), in each format of `formats` ("webp",
// "avif"), without metadata.
struct Encoded {
    std::string format;
    Variant variant;
};
struct FormatOptions {
    int webp_quality = 80;
    int avif_quality = 55;
    int avif_effort = 2;  // libaom's speed, 0 (fastest) to 9
};
// Throws Unsupported when `display_jpeg` does not decode, std::invalid_argument for an
// unknown format or a width outside 1..the display's.
std::vector<Encoded> encode_formats(const std::string& display_jpeg, const std::vector<int>& widths,
                                    const std::vector<std::string>& formats, const FormatOptions& options);

// Memory that the images being processed at the same time may use together (decoders,
// pipeline strips, the in-memory display variant), estimated from each header before any
// pixel is decoded. process_* waits while the budget is taken; an image that could not
// fit even alone is TooLarge. 256 MiB lets four 12 MP baseline JPEGs (~40 MB each) run at
// once and still admits a 24 MP progressive JPEG (~200 MB) on its own.
inline constexpr std::uint64_t default_decode_memory = 256ull << 20;

// Starts libvips once per process (safe to call repeatedly, from any thread; the first
// call's decode_memory wins). Call it from main() before other threads start: it briefly
// sets an environment variable (see image/runtime.cpp for why). process_* call it too, as
// a safety net. Throws std::runtime_error when libvips cannot start.
void initialize(std::uint64_t decode_memory = default_decode_memory);

// Validates by decoding and makes the display and thumbnail variants, auto-rotated by the
// EXIF orientation, sRGB, alpha flattened onto white, without EXIF/XMP/IPTC/ICC metadata.
// Only JPEG, PNG, GIF, WebP, HEIC and AVIF are accepted, recognised by their bytes; an
// animation contributes its first frame (Processed::frames says how many there were). Thread-safe: call from several worker threads at once.
// Throws Unsupported or TooLarge for bad input; std::runtime_error when process_file
// cannot read the file (not the uploader's fault).
Processed process_file(const std::filesystem::path& path, const Limits& limits);
Processed process_buffer(const std::string& bytes, const Limits& limits);

// The whole image at its own size (after the EXIF rotation), treated as the display variant
// is (sRGB, flattened, no metadata) and encoded at limits.jpeg_quality: a full-size
// download made from the original upload. Limited by max_pixels and the decode budget like
// process_*; the other sizes of `limits` are not used.
Variant full_size(const std::string& bytes, const Limits& limits);

}  // namespace photoshare::image
