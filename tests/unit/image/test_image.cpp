// Behaviour of the upload pipeline against public conformance and edge-case images
// (PngSuite, Pillow's and image-rs's regression files, a real camera photo with GPS) and
// against inputs built here with libvips where a property needs a controlled picture.
#include "image/image.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <vips/vips8>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace photoshare::image {
namespace {

namespace fs = std::filesystem;
using vips::VImage;

const fs::path kImages = fs::path(PHOTOSHARE_TESTDATA) / "images";
const fs::path kEdge = kImages / "edge";

class StartLibvips : public ::testing::Environment {
public:
    void SetUp() override { initialize(); }
};
const auto* const start_libvips = ::testing::AddGlobalTestEnvironment(new StartLibvips);

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

class TempDir {
public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "photoshare-image-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    fs::path write(const std::string& name, const std::string& bytes) const {
        const fs::path path = path_ / name;
        std::ofstream(path, std::ios::binary) << bytes;
        return path;
    }

private:
    fs::path path_;
};

// Encodes a test picture with libvips; `suffix` picks the saver and its options.
std::string encode_as(const VImage& image, const char* suffix) {
    void* data = nullptr;
    size_t size = 0;
    image.write_to_buffer(suffix, &data, &size);
    std::string bytes(static_cast<const char*>(data), size);
    g_free(data);
    return bytes;
}

// A photo-like test picture: smooth gradients plus a little noise, 8-bit sRGB.
VImage photo(int width, int height) {
    VImage xy = VImage::xyz(width, height);
    VImage x = xy.extract_band(0) * (255.0 / width);
    VImage y = xy.extract_band(1) * (255.0 / height);
    VImage noise = VImage::gaussnoise(width, height,
                                      VImage::option()->set("mean", 0.0)->set("sigma", 8.0));
    VImage rgb = VImage::bandjoin({x + noise, y, (x + y) / 2 - noise});
    return rgb.cast(VIPS_FORMAT_UCHAR)
        .copy(VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB));
}

// Decodes an output variant for inspection, detached from the string it came from.
VImage decode(const std::string& jpeg) {
    return VImage::new_from_buffer(jpeg.data(), jpeg.size(), "").copy_memory();
}

std::vector<double> pixel(const VImage& image, int x, int y) {
    return image.getpoint(x, y);
}

bool contains(const std::string& haystack, std::string_view needle) {
    return haystack.find(needle) != std::string::npos;
}

// Every variant we produce: a plain 8-bit sRGB JPEG with nothing in it but pixels. Checked
// three ways: the JPEG segments present, the raw bytes, and what libvips reads back.
void expect_clean_jpeg(const Variant& variant) {
    const std::string& data = variant.data;
    ASSERT_GE(data.size(), 4u);
    ASSERT_EQ(static_cast<unsigned char>(data[0]), 0xFF);
    ASSERT_EQ(static_cast<unsigned char>(data[1]), 0xD8);
    EXPECT_EQ(static_cast<unsigned char>(data[data.size() - 2]), 0xFF);
    EXPECT_EQ(static_cast<unsigned char>(data[data.size() - 1]), 0xD9);

    // Segments before the scan: only JFIF (APP0), tables, frame header and restart
    // interval. No APP1 (EXIF, XMP), APP2 (ICC), APP13 (IPTC), APP14, COM.
    std::size_t at = 2;
    while (at + 4 <= data.size()) {
        ASSERT_EQ(static_cast<unsigned char>(data[at]), 0xFF) << "at " << at;
        const unsigned char marker = static_cast<unsigned char>(data[at + 1]);
        if (marker == 0xDA) break;  // start of scan: entropy-coded data follows
        EXPECT_TRUE(marker == 0xE0 || marker == 0xDB || marker == 0xC4 || marker == 0xC0 ||
                    marker == 0xC1 || marker == 0xC2 || marker == 0xDD)
            << "unexpected segment 0xFF" << std::hex << int{marker};
        const std::size_t length = (static_cast<unsigned char>(data[at + 2]) << 8) |
                                   static_cast<unsigned char>(data[at + 3]);
        at += 2 + length;
    }
    // One scan, then the end: in the entropy-coded data a 0xFF is followed by 0x00 (a
    // stuffed byte) or a restart marker; any other marker before the final EOI would be a
    // segment hiding after the scan.
    for (std::size_t i = at + 2; i + 2 < data.size(); ++i) {
        if (static_cast<unsigned char>(data[i]) != 0xFF) continue;
        const unsigned char next = static_cast<unsigned char>(data[i + 1]);
        ASSERT_TRUE(next == 0x00 || next == 0xFF || (next >= 0xD0 && next <= 0xD7))
            << "marker 0xFF" << std::hex << int{next} << " after the scan, at " << std::dec << i;
    }

    // The raw bytes of every segment (the scan's compressed pixels can hold any three
    // letters by chance, so they are not searched).
    const std::string segments = data.substr(0, at);
    EXPECT_FALSE(contains(segments, "Exif"));
    EXPECT_FALSE(contains(segments, "GPS"));
    EXPECT_FALSE(contains(segments, "http://ns.adobe.com/xap"));
    EXPECT_FALSE(contains(segments, "ICC_PROFILE"));
    EXPECT_FALSE(contains(segments, "Photoshop 3.0"));

    const VImage image = decode(data);
    EXPECT_EQ(image.width(), variant.width);
    EXPECT_EQ(image.height(), variant.height);
    EXPECT_EQ(image.bands(), 3);
    EXPECT_EQ(image.format(), VIPS_FORMAT_UCHAR);
    EXPECT_EQ(image.interpretation(), VIPS_INTERPRETATION_sRGB);
    for (const char* field : {VIPS_META_EXIF_NAME, VIPS_META_XMP_NAME, VIPS_META_IPTC_NAME,
                              VIPS_META_ICC_NAME, VIPS_META_ORIENTATION}) {
        EXPECT_EQ(image.get_typeof(field), 0u) << field;
    }
    gchar** fields = vips_image_get_fields(image.get_image());
    for (gchar** field = fields; *field != nullptr; ++field) {
        EXPECT_FALSE(std::string_view(*field).starts_with("exif-")) << *field;
    }
    g_strfreev(fields);
}

void expect_valid(const Processed& p, const Limits& limits = {}) {
    SCOPED_TRACE("format " + p.format);
    expect_clean_jpeg(p.display);
    expect_clean_jpeg(p.thumbnail);
    EXPECT_GT(p.original_width, 0);
    EXPECT_GT(p.original_height, 0);
    EXPECT_LE(std::max(p.display.width, p.display.height), limits.display_size);
    EXPECT_LE(std::max(p.thumbnail.width, p.thumbnail.height), limits.thumbnail_size);
    EXPECT_LE(p.display.width, p.original_width);  // never upscaled
    EXPECT_LE(p.display.height, p.original_height);
    EXPECT_LE(p.thumbnail.width, p.display.width);
    EXPECT_LE(p.thumbnail.height, p.display.height);
}

enum class Outcome { accepted, unsupported, too_large };

const char* name(Outcome outcome) {
    switch (outcome) {
    case Outcome::accepted: return "accepted";
    case Outcome::unsupported: return "Unsupported";
    case Outcome::too_large: return "TooLarge";
    }
    return "?";
}

template <typename Process>
Outcome outcome_of(Process process, Processed* result) {
    try {
        *result = process();
        return Outcome::accepted;
    } catch (const Unsupported& e) {
        EXPECT_NE(std::string(e.what()), "");
        return Outcome::unsupported;
    } catch (const TooLarge& e) {
        EXPECT_NE(std::string(e.what()), "");
        return Outcome::too_large;
    }
}

// Runs both entry points, which must agree on the outcome and produce identical bytes.
Outcome process_both(const fs::path& path, Processed* result = nullptr,
                     const Limits& limits = {}) {
    Processed from_file;
    Processed from_buffer;
    const std::string bytes = read_file(path);
    const Outcome file = outcome_of([&] { return process_file(path, limits); }, &from_file);
    const Outcome buffer = outcome_of([&] { return process_buffer(bytes, limits); }, &from_buffer);
    EXPECT_EQ(name(file), std::string(name(buffer))) << path;
    if (file == Outcome::accepted && buffer == Outcome::accepted) {
        EXPECT_EQ(from_file.format, from_buffer.format);
        EXPECT_EQ(from_file.display.data, from_buffer.display.data) << path;
        EXPECT_EQ(from_file.thumbnail.data, from_buffer.thumbnail.data) << path;
        expect_valid(from_file, limits);
        if (result != nullptr) *result = from_file;
    }
    return file;
}

Outcome process_bytes(const std::string& bytes, Processed* result = nullptr,
                      const Limits& limits = {}) {
    Processed processed;
    const Outcome outcome = outcome_of([&] { return process_buffer(bytes, limits); }, &processed);
    if (outcome == Outcome::accepted) {
        expect_valid(processed, limits);
        if (result != nullptr) *result = processed;
    }
    return outcome;
}

double mean_abs_difference(const VImage& a, const VImage& b) {
    return (a.cast(VIPS_FORMAT_FLOAT) - b.cast(VIPS_FORMAT_FLOAT)).abs().avg();
}

// ---------------------------------------------------------------------------------------
// PngSuite: 160 valid images (plus the suite's logo) and 14 files a decoder must reject.

std::vector<fs::path> pngsuite(bool corrupt) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(kImages / "pngsuite")) {
        const std::string file = entry.path().filename().string();
        if (entry.path().extension() != ".png") continue;  // README, LICENSE
        if ((file[0] == 'x') == corrupt) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

TEST(PngSuite, EveryValidImageIsAccepted) {
    const std::vector<fs::path> files = pngsuite(false);
    ASSERT_EQ(files.size(), 161u);  // 160 test images + PngSuite.png
    for (const fs::path& path : files) {
        SCOPED_TRACE(path.filename().string());
        Processed p;
        ASSERT_EQ(name(process_both(path, &p)), std::string("accepted"));
        EXPECT_EQ(p.format, "png");
        const VImage original = VImage::new_from_file(path.c_str());
        EXPECT_EQ(p.original_width, original.width());
        EXPECT_EQ(p.original_height, original.height());
        // All are small: the display variant keeps the original size.
        EXPECT_EQ(p.display.width, original.width());
        EXPECT_EQ(p.display.height, original.height());
    }
}

TEST(PngSuite, EveryCorruptImageIsUnsupported) {
    const std::vector<fs::path> files = pngsuite(true);
    ASSERT_EQ(files.size(), 14u);
    for (const fs::path& path : files) {
        EXPECT_EQ(name(process_both(path)), std::string("Unsupported")) << path.filename();
    }
}

// ---------------------------------------------------------------------------------------
// images/edge: every file has a decided outcome (SOURCES.txt section 3 says what each is).

const std::map<std::string, Outcome>& edge_decisions() {
    static const std::map<std::string, Outcome> decisions = {
        {"exif-samples/DSCN0010.jpg", Outcome::accepted},  // real photo, GPS stripped below
        {"image-png/x_ihdr_missing.png", Outcome::unsupported},
        // Width 0xFFFFFFFF is not a size but an invalid header: libpng refuses it, so it
        // never reaches the pixel check.
        {"image-png/x_issue#230.1.png", Outcome::unsupported},
        {"image-png/x_unexpected_eof.png", Outcome::unsupported},
        // A frame partly outside the logical screen: libnsgif grows the canvas to 40x40
        // (small) and decodes it; clipping is a rendering question, not damage.
        {"image-rs/tests/images/gif/anim/oob.gif", Outcome::accepted},
        {"image-rs/tests/images/gif/simple/issue_1455_oversized.gif", Outcome::accepted},
        {"image-rs/tests/images/jpg/progressive/test.jpg", Outcome::accepted},
        {"image-rs/tests/images/webp/extended_images/anim.webp", Outcome::accepted},
        {"image-rs/tests/images/webp/extended_images/lossy_alpha.webp", Outcome::accepted},
        // A 70x70 screen header and nothing else: no image data at all.
        {"image-rs/tests/regression/gif/zero-loop-count.gif", Outcome::unsupported},
        // libjpeg fails with "Invalid component ID 93 in SOS": a hard error, not a warning.
        {"image-rs/tests/regression/jpg/oss-fuzz-36829.jpeg", Outcome::unsupported},
        // Crashed image-rs's own WebP decoder; libwebp decodes it fully, and we only care
        // whether the bytes are a complete picture.
        {"image-rs/tests/regression/webp/panic.webp", Outcome::accepted},
        {"pillow/broken.png", Outcome::unsupported},
        // Declares a 65535x65535 frame but the 44-byte file ends inside it: libnsgif
        // refuses the header as truncated, so no size is ever trusted (Unsupported, not
        // TooLarge). Crafted bombs with readable headers are TooLarge, see below.
        {"pillow/decompression_bomb.gif", Outcome::unsupported},
        // ICO is not a format we accept (libvips would need ImageMagick, never loaded).
        {"pillow/decompression_bomb.ico", Outcome::unsupported},
        // The second frame sits at +65535+65535; Pillow grows the canvas to the extents
        // and explodes. libnsgif keeps the 100x100 logical screen, so the canvas libvips
        // allocates and decodes is 100x100 and only the first frame is used: harmless.
        {"pillow/decompression_bomb_extents.gif", Outcome::accepted},
        {"pillow/dispose_prev.gif", Outcome::accepted},  // animated: first frame
        {"pillow/empty_gps_ifd.jpg", Outcome::accepted},
        {"pillow/exif_gps.jpg", Outcome::accepted},
        {"pillow/hopper_orientation_6.jpg", Outcome::accepted},
        {"pillow/hopper_orientation_6.webp", Outcome::accepted},
        // Its ICC "profile" is the 7 bytes "profile": unusable, so it is ignored and the
        // pixels (which are fine) are converted by their interpretation instead.
        {"pillow/icc-after-SOF.jpg", Outcome::accepted},
        // Junk before a marker is a libjpeg warning; the whole image decodes.
        {"pillow/junk_jpeg_header.jpg", Outcome::accepted},
        {"pillow/multiple_exif.jpg", Outcome::accepted},
        {"pillow/pil_sample_cmyk.jpg", Outcome::accepted},
        // The pixels are 1x1; the bomb is in zTXt text chunks, which are dropped before
        // libvips sees them (png_text_filter), so nothing is inflated.
        {"pillow/png_decompression_dos.png", Outcome::accepted},
        // APP14 too short to be read: libjpeg ignores it and the image decodes fully.
        {"pillow/truncated_app14.jpg", Outcome::accepted},
        {"pillow/truncated_jpeg.jpg", Outcome::unsupported},  // premature end of data
    };
    return decisions;
}

TEST(EdgeImages, EveryFileHasTheDecidedOutcome) {
    std::size_t seen = 0;
    for (const auto& entry : fs::recursive_directory_iterator(kEdge)) {
        if (!entry.is_regular_file()) continue;
        const std::string relative = fs::relative(entry.path(), kEdge).generic_string();
        SCOPED_TRACE(relative);
        const auto decision = edge_decisions().find(relative);
        ASSERT_NE(decision, edge_decisions().end()) << "no decision for " << relative;
        EXPECT_EQ(name(process_both(entry.path())), std::string(name(decision->second)));
        ++seen;
    }
    EXPECT_EQ(seen, edge_decisions().size());
}

TEST(EdgeImages, GpsAndExifAreStripped) {
    for (const char* file : {"pillow/exif_gps.jpg", "exif-samples/DSCN0010.jpg",
                             "pillow/multiple_exif.jpg", "pillow/empty_gps_ifd.jpg"}) {
        SCOPED_TRACE(file);
        const std::string input = read_file(kEdge / file);
        ASSERT_TRUE(contains(input, "Exif"));  // the inputs do carry EXIF
        Processed p;
        ASSERT_EQ(process_both(kEdge / file, &p), Outcome::accepted);
        // expect_valid (run by process_both) checked segments, bytes and fields.
        EXPECT_FALSE(contains(p.display.data, "GPS"));
        EXPECT_FALSE(contains(p.thumbnail.data, "Exif"));
    }
}

TEST(EdgeImages, CameraPhotoKeepsItsSize) {
    Processed p;
    ASSERT_EQ(process_both(kEdge / "exif-samples/DSCN0010.jpg", &p), Outcome::accepted);
    EXPECT_EQ(p.format, "jpeg");
    EXPECT_EQ(p.original_width, 640);
    EXPECT_EQ(p.original_height, 480);
    EXPECT_EQ(p.display.width, 640);
    EXPECT_EQ(p.display.height, 480);
    EXPECT_EQ(p.thumbnail.width, 480);
    EXPECT_EQ(p.thumbnail.height, 360);
}

TEST(EdgeImages, OrientationSixIsRotatedUpright) {
    for (const char* file : {"pillow/hopper_orientation_6.jpg", "pillow/hopper_orientation_6.webp"}) {
        SCOPED_TRACE(file);
        Processed p;
        ASSERT_EQ(process_both(kEdge / file, &p), Outcome::accepted);
        // Square, so the size cannot show the rotation; the pixels do.
        const VImage stored = VImage::new_from_file((kEdge / file).c_str()).colourspace(
            VIPS_INTERPRETATION_sRGB);
        const VImage output = decode(p.display.data);
        ASSERT_EQ(output.width(), stored.height());
        const double rotated = mean_abs_difference(output, stored.rot90());
        const double unrotated = mean_abs_difference(output, stored);
        EXPECT_LT(rotated, 6.0);
        EXPECT_GT(unrotated, 4 * rotated);
    }
}

// The full-size download: the whole image, upright, without metadata, whatever the display
// size says; refused past max_pixels like an upload.
TEST(FullSize, TheWholeImageUprightWithoutMetadata) {
    Limits limits;
    limits.display_size = 100;  // not used: the full size is the image's own
    const auto camera = photoshare::image::full_size(read_file(kEdge / "exif-samples/DSCN0010.jpg"), limits);
    EXPECT_EQ(camera.width, 640);
    EXPECT_EQ(camera.height, 480);
    EXPECT_FALSE(contains(camera.data, "Exif"));
    EXPECT_FALSE(contains(camera.data, "GPS"));
    const auto file = kEdge / "pillow/hopper_orientation_6.jpg";
    const auto turned = photoshare::image::full_size(read_file(file), limits);
    const VImage stored = VImage::new_from_file(file.c_str()).colourspace(VIPS_INTERPRETATION_sRGB);
    const VImage output = decode(turned.data);
    EXPECT_LT(mean_abs_difference(output, stored.rot90()), 6.0) << "not turned upright";
    limits.max_pixels = 640 * 480 - 1;
    EXPECT_THROW(photoshare::image::full_size(read_file(kEdge / "exif-samples/DSCN0010.jpg"), limits), photoshare::image::TooLarge);
    EXPECT_THROW(photoshare::image::full_size("not an image", limits), photoshare::image::Unsupported);
}

TEST(EdgeImages, CmykJpegComesOutInCorrectColours) {
    Processed p;
    ASSERT_EQ(process_both(kEdge / "pillow/pil_sample_cmyk.jpg", &p), Outcome::accepted);
    const std::vector<double> top_left = pixel(decode(p.display.data), 2, 2);
    EXPECT_GT(top_left[0], 180) << "red";
    EXPECT_LT(top_left[1], 90) << "green";
    EXPECT_LT(top_left[2], 90) << "blue";
}

TEST(EdgeImages, AnimationsContributeTheirFirstFrame) {
    struct Case {
        const char* file;
        const char* format;
        int width;
        int height;
    };
    for (const Case& c : {Case{"pillow/dispose_prev.gif", "gif", 100, 100},
                          Case{"image-rs/tests/images/webp/extended_images/anim.webp", "webp",
                               200, 200}}) {
        SCOPED_TRACE(c.file);
        Processed p;
        ASSERT_EQ(process_both(kEdge / c.file, &p), Outcome::accepted);
        EXPECT_EQ(p.format, c.format);
        EXPECT_EQ(p.display.width, c.width);
        EXPECT_EQ(p.display.height, c.height);
        // Same picture as libvips' own first page, flattened onto white.
        VImage first = VImage::new_from_file((kEdge / c.file).c_str());
        if (first.has_alpha()) {
            first = first.flatten(
                VImage::option()->set("background", std::vector<double>{255, 255, 255}));
        }
        EXPECT_LT(mean_abs_difference(decode(p.display.data), first), 8.0);
    }
}

// ---------------------------------------------------------------------------------------
// The content decides, never the name.

TEST(Formats, PngNamedJpgIsAcceptedAsPng) {
    TempDir dir;
    const fs::path path =
        dir.write("holiday.jpg", read_file(kImages / "pngsuite" / "basn2c08.png"));
    Processed p;
    ASSERT_EQ(process_both(path, &p), Outcome::accepted);
    EXPECT_EQ(p.format, "png");
}

TEST(Formats, FileNamesAreNotParsedForOptions) {
    // libvips' own file API would read "[...]" as loader options; the upload's name must
    // not be able to do that.
    TempDir dir;
    const fs::path path = dir.write("photo.jpg[shrink=8]",
                                    read_file(kEdge / "exif-samples" / "DSCN0010.jpg"));
    Processed p;
    ASSERT_EQ(process_both(path, &p), Outcome::accepted);
    EXPECT_EQ(p.display.width, 640);
}

TEST(Formats, EachAcceptedFormatIsRecognised) {
    const VImage picture = photo(64, 48);
    const std::map<std::string, std::string> inputs = {
        {"jpeg", encode_as(picture, ".jpg[Q=90]")},
        {"png", encode_as(picture, ".png")},
        {"gif", encode_as(picture, ".gif")},
        {"webp", encode_as(picture, ".webp")},
        {"heic", encode_as(picture, ".heic[compression=hevc]")},
        {"avif", encode_as(picture, ".heif[compression=av1]")},
    };
    for (const auto& [format, bytes] : inputs) {
        SCOPED_TRACE(format);
        Processed p;
        ASSERT_EQ(process_bytes(bytes, &p), Outcome::accepted);
        EXPECT_EQ(p.format, format);
        EXPECT_EQ(p.display.width, 64);
        EXPECT_EQ(p.display.height, 48);
    }
}

TEST(Formats, OtherFormatsAndNonImagesAreUnsupported) {
    const VImage picture = photo(16, 16);
    const std::map<std::string, std::string> inputs = {
        {"svg", "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\">"
                "<rect width=\"10\" height=\"10\" fill=\"red\"/></svg>"},
        {"svg with prolog", "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
                            "width=\"10\" height=\"10\"/>"},
        {"html", "<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>"},
        {"pdf", "%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"},
        {"tiff", encode_as(picture, ".tif")},
        {"ppm", std::string("P6\n1 1\n255\n\xff\x00\x00", 14)},
        {"pgm text", "P2\n2 1\n255\n0 255\n"},
        {"csv", "1,2,3\n4,5,6\n"},
        {"matrix", "2 2\n1 2\n3 4\n"},
        {"bmp", std::string("BM\x3a\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0\x01\0\0\0\x01\0\0\0"
                            "\x01\0\x18\0\0\0\0\0\x04\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
                            "\0\0\xff\0",
                            58)},
        {"text", "just some words\n"},
        {"empty", ""},
        {"one byte", "\xff"},
        {"jpeg signature only", "\xff\xd8\xff"},
        {"png signature only", "\x89PNG\r\n\x1a\n"},
    };
    for (const auto& [what, bytes] : inputs) {
        EXPECT_EQ(name(process_bytes(bytes)), std::string("Unsupported")) << what;
    }
    // The name does not help either.
    TempDir dir;
    const fs::path svg = dir.write("picture.png", inputs.at("svg"));
    EXPECT_EQ(name(process_both(svg)), std::string("Unsupported"));
    const fs::path tiff = dir.write("picture.jpg", inputs.at("tiff"));
    EXPECT_EQ(name(process_both(tiff)), std::string("Unsupported"));
}

TEST(Formats, UnsupportedSaysWhatIsAccepted) {
    try {
        (void)process_buffer("<svg xmlns=\"http://www.w3.org/2000/svg\"/>", Limits{});
        FAIL() << "accepted an SVG";
    } catch (const Unsupported& e) {
        EXPECT_EQ(std::string(e.what()), "not a JPEG, PNG, GIF, WebP, HEIC or AVIF image");
    }
}

// Decision: a JPEG with HTML appended after its end marker is accepted. libjpeg stops at
// EOI, so the picture is complete, and the site never serves the uploaded bytes: both
// variants are re-encoded from pixels, so the HTML cannot reach a browser.
TEST(Formats, JpegWithHtmlAppendedIsAcceptedAndTheHtmlDropped) {
    const std::string html = "<html><body><script>alert(document.cookie)</script></body></html>";
    const std::string polyglot = encode_as(photo(64, 64), ".jpg") + html;
    Processed p;
    ASSERT_EQ(process_bytes(polyglot, &p), Outcome::accepted);
    EXPECT_FALSE(contains(p.display.data, "<script"));
    EXPECT_FALSE(contains(p.thumbnail.data, "<script"));
}

TEST(Formats, MissingFileIsNotTheUploadersFault) {
    try {
        (void)process_file("/nonexistent/photoshare/upload.jpg", Limits{});
        FAIL() << "no exception";
    } catch (const Unsupported&) {
        FAIL() << "a server-side problem reported as a bad upload";
    } catch (const std::runtime_error&) {
    }
}

// ---------------------------------------------------------------------------------------
// Damage: whatever the format, a file that ends early is refused, not padded with grey.

std::string truncated(const std::string& bytes, double keep) {
    return bytes.substr(0, static_cast<std::size_t>(static_cast<double>(bytes.size()) * keep));
}

TEST(Damage, TruncatedFilesAreUnsupported) {
    const VImage picture = photo(300, 200);
    const std::map<std::string, std::string> inputs = {
        {"baseline jpeg", encode_as(picture, ".jpg[Q=90]")},
        {"progressive jpeg", encode_as(picture, ".jpg[Q=90,interlace]")},
        {"camera jpeg", read_file(kEdge / "exif-samples" / "DSCN0010.jpg")},
        {"png", encode_as(picture, ".png")},
        {"interlaced png", encode_as(picture, ".png[interlace]")},
        {"gif", encode_as(picture, ".gif")},
        {"lossy webp", encode_as(picture, ".webp[Q=90]")},
        {"lossless webp", encode_as(picture, ".webp[lossless]")},
    };
    for (const auto& [what, bytes] : inputs) {
        ASSERT_EQ(process_bytes(bytes), Outcome::accepted) << what << " (complete)";
        for (double keep : {0.3, 0.6, 0.9}) {
            EXPECT_EQ(name(process_bytes(truncated(bytes, keep))), std::string("Unsupported"))
                << what << " cut to " << keep;
        }
    }
}

// Decision: a GIF cut off after its first frame is accepted. libnsgif (like browsers) drops
// incomplete trailing frames, and the first frame, the only one we keep, is whole: the
// output is identical to the complete file's. Cut inside the first frame, it is refused.
TEST(Damage, GifCutInALaterFrameKeepsItsCompleteFirstFrame) {
    const std::string gif = read_file(kEdge / "pillow" / "dispose_prev.gif");
    Processed complete;
    ASSERT_EQ(process_bytes(gif, &complete), Outcome::accepted);
    Processed cut;
    ASSERT_EQ(process_bytes(gif.substr(0, 400), &cut), Outcome::accepted);
    EXPECT_EQ(cut.display.data, complete.display.data);
    EXPECT_EQ(name(process_bytes(gif.substr(0, 200))), std::string("Unsupported"));
}

// Decision: a PNG whose only missing part is the empty IEND trailer is accepted: every
// pixel was decoded. A cut into the compressed data of IDAT is refused. (A cut inside only
// the IDAT's CRC is left out: libpng's verdict on a partial CRC varies with the bytes.)
TEST(Damage, PngMissingOnlyItsEndChunkIsAccepted) {
    const std::string png = encode_as(photo(40, 30), ".png");
    ASSERT_EQ(png.substr(png.size() - 8, 4), "IEND");
    Processed p;
    EXPECT_EQ(process_bytes(png.substr(0, png.size() - 12), &p), Outcome::accepted);
    EXPECT_EQ(name(process_bytes(png.substr(0, png.size() - 24))), std::string("Unsupported"));
}

// libvips 8.14 computes with a pool of threads, and when a decoder failed part-way the error
// reached the caller or not depending on which thread had computed the strip: with 8
// threads a truncated PNG was accepted about half the time, its missing rows black. The
// pipeline now decodes in one thread; this holds it to that whatever the pool size.
TEST(Damage, DecodeErrorsAreSeenWhateverTheThreadCount) {
    const int threads = vips_concurrency_get();
    vips_concurrency_set(8);
    const std::string png = encode_as(photo(300, 200), ".png");
    const std::string jpeg = encode_as(photo(300, 200), ".jpg[Q=90]");
    const std::string bad_crc = read_file(kImages / "pngsuite" / "xcsn0g01.png");
    for (int i = 0; i < 20; ++i) {
        EXPECT_EQ(name(process_bytes(truncated(png, 0.9))), std::string("Unsupported")) << i;
        EXPECT_EQ(name(process_bytes(truncated(jpeg, 0.9))), std::string("Unsupported")) << i;
        EXPECT_EQ(name(process_bytes(bad_crc)), std::string("Unsupported")) << i;
    }
    vips_concurrency_set(threads);
}

// ---------------------------------------------------------------------------------------
// Size limits: checked on the header, before a single pixel is decoded.

// Overwrite 16-bit size fields in crafted headers (JPEG is big-endian, GIF little).
void put_be16(std::string& s, std::size_t at, unsigned v) {
    s[at] = static_cast<char>(v >> 8);
    s[at + 1] = static_cast<char>(v & 0xFF);
}
void put_le16(std::string& s, std::size_t at, unsigned v) {
    s[at] = static_cast<char>(v & 0xFF);
    s[at + 1] = static_cast<char>(v >> 8);
}

std::string jpeg_declaring(unsigned width, unsigned height) {
    std::string jpeg = encode_as(photo(16, 16), ".jpg");
    const std::size_t sof = jpeg.find("\xff\xc0");
    if (sof == std::string::npos) throw std::runtime_error("no SOF0");
    put_be16(jpeg, sof + 5, height);
    put_be16(jpeg, sof + 7, width);
    return jpeg;  // the scan data is for 16x16: decoding would fail as truncated
}

// libnsgif sizes the canvas from the frames (the logical screen only when frames fit in
// it), so both the screen and the first frame's descriptor are enlarged. The LZW data
// still holds 2x2 pixels.
std::string gif_declaring(unsigned width, unsigned height) {
    std::string gif = encode_as(photo(2, 2), ".gif");
    put_le16(gif, 6, width);  // logical screen descriptor
    put_le16(gif, 8, height);
    const auto flags = static_cast<unsigned char>(gif[10]);
    std::size_t at = 13 + ((flags & 0x80) ? 3u * (2u << (flags & 7)) : 0u);
    while (at < gif.size() && gif[at] == 0x21) {  // extensions: label, then sub-blocks
        at += 2;
        while (at < gif.size() && gif[at] != 0) at += 1 + static_cast<unsigned char>(gif[at]);
        ++at;
    }
    if (at + 9 > gif.size() || gif[at] != 0x2C) throw std::runtime_error("no image descriptor");
    put_le16(gif, at + 5, width);
    put_le16(gif, at + 7, height);
    return gif;
}

// PNG's chunk checksum (ISO 3309 CRC-32), so a crafted header passes the CRC check and
// is judged on the size it declares.
std::uint32_t crc32_of(const char* data, std::size_t size) {
    std::uint32_t crc = 0xFFFFFFFFu;
    for (std::size_t i = 0; i < size; ++i) {
        crc ^= static_cast<unsigned char>(data[i]);
        for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc ^ 0xFFFFFFFFu;
}

TEST(Limits, DeclaredSizeOverTheLimitIsTooLargeBeforeDecoding) {
    // Each header declares more than 50 MP over bytes that hold far less: had the pixels
    // been decoded first, the verdict would have been Unsupported (truncated).
    const std::map<std::string, std::string> bombs = {
        {"jpeg 10000x10000", jpeg_declaring(10000, 10000)},
        {"jpeg 65500x800", jpeg_declaring(65500, 800)},
        {"gif 10000x10000", gif_declaring(10000, 10000)},
    };
    for (const auto& [what, bytes] : bombs) {
        EXPECT_EQ(name(process_bytes(bytes)), std::string("TooLarge")) << what;
    }
}

TEST(Limits, PngAndWebpHeadersOverTheLimitAreTooLarge) {
    // A PNG whose IHDR says 60000x60000, with a valid CRC, then a scrap of IDAT.
    const VImage tiny = photo(8, 8);
    std::string png = encode_as(tiny, ".png");
    // IHDR starts at 8 (signature) + 8 (length, type): width at 16, height at 20, CRC at 29.
    auto put_be32 = [](std::string& s, std::size_t at, std::uint32_t v) {
        for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xFF);
    };
    put_be32(png, 16, 60000);
    put_be32(png, 20, 60000);
    put_be32(png, 29, crc32_of(png.data() + 12, 17));
    EXPECT_EQ(name(process_bytes(png)), std::string("TooLarge")) << "png";

    // A lossless WebP whose headers say 16000x16000 (256 MP; WebP stops at 16383): the
    // VP8X canvas (24-bit fields holding size - 1) and the VP8L header (14-bit) agree.
    std::string webp = encode_as(tiny, ".webp[lossless,strip]");
    ASSERT_EQ(webp.substr(12, 4), "VP8X");
    for (std::size_t at : {std::size_t{24}, std::size_t{27}}) {
        webp[at] = static_cast<char>(15999 & 0xFF);
        webp[at + 1] = static_cast<char>(15999 >> 8);
        webp[at + 2] = 0;
    }
    const std::size_t vp8l = webp.find("VP8L");
    ASSERT_NE(vp8l, std::string::npos);
    const std::size_t dims = vp8l + 9;  // after fourcc, chunk size and the 0x2f signature
    std::uint32_t bits = 0;
    for (int i = 0; i < 4; ++i) {
        bits |= static_cast<std::uint32_t>(static_cast<unsigned char>(webp[dims + i])) << (8 * i);
    }
    const std::uint32_t patched = (bits & 0xF0000000u) | 15999u | (15999u << 14);
    for (int i = 0; i < 4; ++i) webp[dims + i] = static_cast<char>((patched >> (8 * i)) & 0xFF);
    EXPECT_EQ(name(process_bytes(webp)), std::string("TooLarge")) << "webp";
}

TEST(Limits, PixelLimitIsInclusive) {
    const std::string jpeg = encode_as(photo(100, 80), ".jpg");
    Limits limits;
    limits.max_pixels = 8000;
    EXPECT_EQ(process_bytes(jpeg, nullptr, limits), Outcome::accepted);
    limits.max_pixels = 7999;
    EXPECT_EQ(name(process_bytes(jpeg, nullptr, limits)), std::string("TooLarge"));
}

TEST(Limits, TooLargeExplainsItself) {
    try {
        (void)process_buffer(jpeg_declaring(10000, 10000), Limits{});
        FAIL() << "accepted";
    } catch (const TooLarge& e) {
        EXPECT_TRUE(contains(e.what(), "10000x10000")) << e.what();
    }
}

TEST(Limits, ImageNeedingMoreThanTheDecodeBudgetIsTooLarge) {
    // 36 MP is under the pixel limit, but a GIF canvas costs 8 bytes a pixel to decode
    // (288 MB) and the default budget is 256 MB.
    try {
        (void)process_buffer(gif_declaring(6000, 6000), Limits{});
        FAIL() << "accepted";
    } catch (const TooLarge& e) {
        EXPECT_TRUE(contains(e.what(), "MB")) << e.what();
    }
}

// ---------------------------------------------------------------------------------------
// Output geometry.

TEST(Variants, SizesFollowTheLongestEdgeAndNeverUpscale) {
    struct Case {
        int width, height;
        int display_width, display_height;
        int thumbnail_width, thumbnail_height;
    };
    for (const Case& c : {Case{3000, 2000, 2048, 1365, 480, 320},
                          Case{1000, 3000, 683, 2048, 160, 480},
                          Case{2048, 2048, 2048, 2048, 480, 480},
                          Case{300, 200, 300, 200, 300, 200},
                          Case{600, 100, 600, 100, 480, 80},
                          Case{5000, 1, 2048, 1, 480, 1}}) {
        SCOPED_TRACE(std::to_string(c.width) + "x" + std::to_string(c.height));
        Processed p;
        ASSERT_EQ(process_bytes(encode_as(photo(c.width, c.height), ".jpg"), &p),
                  Outcome::accepted);
        EXPECT_EQ(p.original_width, c.width);
        EXPECT_EQ(p.original_height, c.height);
        EXPECT_EQ(p.display.width, c.display_width);
        EXPECT_EQ(p.display.height, c.display_height);
        EXPECT_EQ(p.thumbnail.width, c.thumbnail_width);
        EXPECT_EQ(p.thumbnail.height, c.thumbnail_height);
    }
}

TEST(Variants, LimitsChooseSizesAndQuality) {
    const std::string jpeg = encode_as(photo(800, 600), ".jpg[Q=95]");
    Limits small;
    small.display_size = 400;
    small.thumbnail_size = 100;
    small.jpeg_quality = 40;
    Processed low;
    ASSERT_EQ(process_bytes(jpeg, &low, small), Outcome::accepted);
    EXPECT_EQ(low.display.width, 400);
    EXPECT_EQ(low.display.height, 300);
    EXPECT_EQ(low.thumbnail.width, 100);
    EXPECT_EQ(low.thumbnail.height, 75);
    small.jpeg_quality = 95;
    Processed high;
    ASSERT_EQ(process_bytes(jpeg, &high, small), Outcome::accepted);
    EXPECT_LT(low.display.data.size(), high.display.data.size());
}

TEST(Variants, ShrinkOnLoadStillLandsOnTheExactSize) {
    // 8400 wide: JPEG shrink-on-load by 2 then a resize; WebP scales inside libwebp.
    const VImage big = VImage::black(8400, 4000, VImage::option()->set("bands", 3))
                           .copy(VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB)) +
                       100;
    for (const char* suffix : {".jpg", ".webp[Q=50]"}) {
        SCOPED_TRACE(suffix);
        Processed p;
        ASSERT_EQ(process_bytes(encode_as(big.cast(VIPS_FORMAT_UCHAR), suffix), &p),
                  Outcome::accepted);
        EXPECT_EQ(p.display.width, 2048);
        EXPECT_EQ(p.display.height, 975);
        EXPECT_EQ(p.thumbnail.width, 480);
        EXPECT_EQ(p.thumbnail.height, 229);
        EXPECT_NEAR(pixel(decode(p.display.data), 1000, 500)[0], 100, 3);
    }
}

TEST(Variants, VeryThinImagesAreNotShrunkToNothingOnLoad) {
    // 11521x1 (and 1x11521): shrink-on-load by 2 or more would make a side 0, on which
    // libvips 8.14 aborts the whole process (an assertion in vips_image_generate, found by
    // fuzz_image with a 392-byte JPEG). Both must simply be processed.
    for (const auto& [w, h] : {std::pair{11521, 1}, std::pair{1, 11521}, std::pair{9000, 3}}) {
        const VImage thin = VImage::black(w, h, VImage::option()->set("bands", 3))
                                .copy(VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB)) +
                            100;
        for (const char* suffix : {".jpg", ".webp[Q=50]"}) {
            SCOPED_TRACE(std::to_string(w) + "x" + std::to_string(h) + suffix);
            Processed p;
            ASSERT_EQ(process_bytes(encode_as(thin.cast(VIPS_FORMAT_UCHAR), suffix), &p), Outcome::accepted);
            EXPECT_EQ(std::max(p.display.width, p.display.height), 2048);
            EXPECT_EQ(std::min(p.display.width, p.display.height), 1);
            EXPECT_EQ(std::max(p.thumbnail.width, p.thumbnail.height), 480);
        }
    }
}

TEST(Variants, ExifOrientationSwapsTheSides) {
    // Stored 200x100: left half white, right half black. Orientation 6 means "rotate 90
    // degrees clockwise to display", so upright it is 100x200 with white on top.
    VImage stored = VImage::black(100, 100, VImage::option()->set("bands", 3)) + 255;
    stored = stored.join(VImage::black(100, 100, VImage::option()->set("bands", 3)),
                         VIPS_DIRECTION_HORIZONTAL)
                 .cast(VIPS_FORMAT_UCHAR)
                 .copy(VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB));
    stored.set(VIPS_META_ORIENTATION, 6);
    const std::string jpeg = encode_as(stored, ".jpg[Q=95]");
    ASSERT_EQ(VImage::new_from_buffer(jpeg.data(), jpeg.size(), "").get_int("orientation"), 6);

    Processed p;
    ASSERT_EQ(process_bytes(jpeg, &p), Outcome::accepted);
    EXPECT_EQ(p.original_width, 100);
    EXPECT_EQ(p.original_height, 200);
    EXPECT_EQ(p.display.width, 100);
    EXPECT_EQ(p.display.height, 200);
    EXPECT_EQ(p.thumbnail.width, 100);
    EXPECT_EQ(p.thumbnail.height, 200);
    const VImage display = decode(p.display.data);
    EXPECT_GT(pixel(display, 50, 20)[0], 240);
    EXPECT_LT(pixel(display, 50, 180)[0], 15);
}

// Phones write HEIC (iPhones) and AVIF: their EXIF, with its GPS position, must not reach
// the variants, and a file cut short must not become a photo with a grey half.
TEST(Formats, HeicAndAvifAreStrippedAndDamageIsRefused) {
    VImage picture = photo(320, 240);
    picture.set("exif-ifd0-Make", "photoshare-test-camera");
    for (const char* suffix : {".heic[compression=hevc]", ".heif[compression=av1]"}) {
        SCOPED_TRACE(suffix);
        const std::string bytes = encode_as(picture, suffix);
        Processed p;
        ASSERT_EQ(process_bytes(bytes, &p), Outcome::accepted);
        expect_clean_jpeg(p.display);
        expect_clean_jpeg(p.thumbnail);
        EXPECT_FALSE(contains(p.display.data, "photoshare-test-camera"));
        EXPECT_EQ(name(process_bytes(bytes.substr(0, bytes.size() / 2))), std::string("Unsupported"));
    }
}

// Decision: in HEIF the rotation is the container's (irot/imir, applied by libheif while
// decoding); an EXIF orientation inside it is descriptive only (ISO/IEC 23008-12), so it
// does not turn the picture a second time.
TEST(Variants, ExifOrientationInsideHeifIsNotAppliedAgain) {
    VImage stored = photo(200, 100);
    stored.set(VIPS_META_ORIENTATION, 6);
    const std::string heic = encode_as(stored, ".heic[compression=hevc]");
    Processed p;
    ASSERT_EQ(process_bytes(heic, &p), Outcome::accepted);
    EXPECT_EQ(p.original_width, 200);
    EXPECT_EQ(p.original_height, 100);
    EXPECT_EQ(p.display.width, 200);
    EXPECT_EQ(p.display.height, 100);
}

TEST(Variants, AlphaIsFlattenedOntoWhite) {
    // Black, fully transparent, with one opaque red square in the middle.
    const VImage red_square = VImage::black(32, 32, VImage::option()->set("bands", 3)) +
                              std::vector<double>{255, 0, 0};
    const VImage opaque_square = VImage::black(32, 32) + 255;
    const VImage rgb = red_square.embed(16, 16, 64, 64);
    const VImage alpha = opaque_square.embed(16, 16, 64, 64);
    const VImage rgba = rgb.bandjoin(alpha).cast(VIPS_FORMAT_UCHAR).copy(
        VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB));
    for (const char* suffix : {".png", ".webp[lossless]", ".gif"}) {
        SCOPED_TRACE(suffix);
        Processed p;
        ASSERT_EQ(process_bytes(encode_as(rgba, suffix), &p), Outcome::accepted);
        const VImage display = decode(p.display.data);
        const std::vector<double> corner = pixel(display, 2, 2);
        EXPECT_GT(corner[0], 245);
        EXPECT_GT(corner[1], 245);
        EXPECT_GT(corner[2], 245);
        const std::vector<double> centre = pixel(display, 32, 32);
        EXPECT_GT(centre[0], 230);
        EXPECT_LT(centre[1], 30);
    }
}

TEST(Variants, SixteenBitAndGreyBecomeEightBitSrgb) {
    for (const char* file : {"basn0g16.png", "basn2c16.png", "basn4a16.png", "basn6a16.png",
                             "basn0g01.png", "basn3p04.png"}) {
        SCOPED_TRACE(file);
        Processed p;
        ASSERT_EQ(process_both(kImages / "pngsuite" / file, &p), Outcome::accepted);
        // expect_valid already checked 3 bands, uchar, sRGB. A transparent corner of the
        // alpha images is white, not black.
    }
    Processed p;
    ASSERT_EQ(process_both(kImages / "pngsuite" / "basn6a16.png", &p), Outcome::accepted);
    EXPECT_GT(pixel(decode(p.display.data), 0, 31)[0], 200);
}

TEST(Variants, EmbeddedProfileIsConvertedToSrgb) {
    const fs::path adobe_rgb = "/usr/share/color/icc/ghostscript/a98.icc";
    if (!fs::exists(adobe_rgb)) GTEST_SKIP() << "no Adobe RGB profile on this machine";
    // Pure sRGB green, re-expressed in Adobe RGB and tagged as such: the numbers change
    // (about 144,255,60) and the colour does not. The output must be sRGB green again.
    const VImage green = (VImage::black(32, 32, VImage::option()->set("bands", 3)) +
                          std::vector<double>{0, 255, 0})
                             .cast(VIPS_FORMAT_UCHAR)
                             .copy(VImage::option()->set("interpretation",
                                                         VIPS_INTERPRETATION_sRGB));
    const VImage tagged = green.icc_transform(
        adobe_rgb.c_str(),
        VImage::option()->set("input_profile", "srgb")->set("embedded", false));
    ASSERT_NE(tagged.get_typeof(VIPS_META_ICC_NAME), 0u);
    const std::string jpeg = encode_as(tagged, ".jpg[Q=95]");
    const std::vector<double> stored = pixel(decode(jpeg), 16, 16);
    ASSERT_GT(stored[0], 100) << "the stored numbers are Adobe RGB ones";

    Processed p;
    ASSERT_EQ(process_bytes(jpeg, &p), Outcome::accepted);
    const std::vector<double> out = pixel(decode(p.display.data), 16, 16);
    EXPECT_LT(out[0], 40);
    EXPECT_GT(out[1], 230);
    EXPECT_LT(out[2], 40);
}

// ---------------------------------------------------------------------------------------
// Worker threads call in parallel.

TEST(Concurrency, ParallelCallsGiveTheSameResultsAsSerialOnes) {
    const std::vector<fs::path> files = {
        kEdge / "exif-samples/DSCN0010.jpg", kEdge / "pillow/pil_sample_cmyk.jpg",
        kEdge / "pillow/hopper_orientation_6.webp", kEdge / "pillow/dispose_prev.gif",
        kImages / "pngsuite/basi6a16.png", kEdge / "pillow/truncated_jpeg.jpg",
        kEdge / "pillow/junk_jpeg_header.jpg", kEdge / "pillow/png_decompression_dos.png"};
    std::vector<std::string> expected;
    for (const fs::path& file : files) {
        try {
            expected.push_back(process_file(file, Limits{}).display.data);
        } catch (const Unsupported&) {
            expected.emplace_back("Unsupported");
        }
    }
    constexpr int kThreads = 8;
    constexpr int kRounds = 3;
    std::vector<std::vector<std::string>> got(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int round = 0; round < kRounds; ++round) {
                for (std::size_t i = 0; i < files.size(); ++i) {
                    const fs::path& file = files[(i + static_cast<std::size_t>(t)) % files.size()];
                    std::string result;
                    try {
                        result = (t % 2 == 0 ? process_file(file, Limits{})
                                             : process_buffer(read_file(file), Limits{}))
                                     .display.data;
                    } catch (const Unsupported&) {
                        result = "Unsupported";
                    }
                    got[static_cast<std::size_t>(t)].push_back(result);
                }
            }
        });
    }
    for (std::thread& thread : threads) thread.join();
    for (int t = 0; t < kThreads; ++t) {
        ASSERT_EQ(got[static_cast<std::size_t>(t)].size(), files.size() * kRounds);
        for (std::size_t n = 0; n < got[static_cast<std::size_t>(t)].size(); ++n) {
            const std::size_t i = (n % files.size() + static_cast<std::size_t>(t)) % files.size();
            EXPECT_EQ(got[static_cast<std::size_t>(t)][n], expected[i]) << files[i];
        }
    }
}

}  // namespace
}  // namespace photoshare::image
