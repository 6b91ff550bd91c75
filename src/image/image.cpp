// The upload pipeline: recognise the format from the bytes, check the declared size, then
// decode once into the display variant and derive the thumbnail from it in memory.
#include "image/image.hpp"

#include "image/memory_budget.hpp"
#include "image/png_text_filter.hpp"
#include "image/runtime.hpp"

#include <vips/vips8>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace photoshare::image {
namespace {

using vips::VError;
using vips::VImage;
using vips::VSource;

constexpr const char* kNotAccepted = "not a JPEG, PNG, GIF, WebP, HEIC or AVIF image";
constexpr const char* kDamaged =
    "the image is damaged or incomplete: it is not a valid JPEG, PNG, GIF, WebP, HEIC or AVIF image";

enum class Format { jpeg, png, gif, webp, heif };

// The only loaders we run, keyed by the class libvips picks from the content. Anything
// else libvips could open (TIFF, SVG, PDF, ICO via ImageMagick, PPM, FITS, CSV, matrix,
// vips, ...) is refused: each is one more parser exposed to the internet, and none is a
// format the site promises to take. HEIF is what phones write: HEIC (HEVC inside, iPhones)
// and AVIF (AV1), both read by libheif.
struct Accepted {
    std::string_view loader;
    Format format;
    const char* name;
};
constexpr Accepted kAccepted[] = {
    {"VipsForeignLoadJpegSource", Format::jpeg, "jpeg"},
    {"VipsForeignLoadPngSource", Format::png, "png"},
    {"VipsForeignLoadNsgifSource", Format::gif, "gif"},
    {"VipsForeignLoadWebpSource", Format::webp, "webp"},
    {"VipsForeignLoadHeifSource", Format::heif, "heif"},
};

const Accepted& detect(const VSource& source) {
    // Sniffs the first bytes only; the file name and declared type play no part.
    const char* loader = vips_foreign_find_load_source(source.get_source());
    if (loader == nullptr) {
        vips_error_clear();
        throw Unsupported(kNotAccepted);
    }
    for (const Accepted& accepted : kAccepted) {
        if (accepted.loader == loader) return accepted;
    }
    throw Unsupported(kNotAccepted);
}

// How the decoder may reduce the image while decoding, which is far cheaper than
// decoding everything and resizing.
struct ShrinkOnLoad {
    int jpeg_shrink = 1;       // 1, 2, 4 or 8: DCT scaling inside libjpeg
    double webp_scale = 1.0;   // libwebp's own rescaler, also spares its full-size frame
};

VImage open(Format format, const VSource& source, const ShrinkOnLoad& shrink) {
    // Sequential: pixels stream through in strips, so memory does not grow with the image.
    // fail_on=truncated: without it libvips fills a truncated file with grey and reports
    // success; recoverable oddities (junk before a marker, a short APP14) remain accepted.
    vips::VOption* options = VImage::option()
                                   ->set("access", VIPS_ACCESS_SEQUENTIAL)
                                   ->set("fail_on", VIPS_FAIL_ON_TRUNCATED);
    switch (format) {
    case Format::jpeg:
        if (shrink.jpeg_shrink > 1) options->set("shrink", shrink.jpeg_shrink);
        return VImage::jpegload_source(source, options);
    case Format::png:
        return VImage::pngload_source(without_png_text(source), options);
    case Format::gif:
        // n=1, page=0 are the defaults: the first frame, composed on the full canvas.
        return VImage::gifload_source(source, options);
    case Format::webp:
        if (shrink.webp_scale < 1.0) options->set("scale", shrink.webp_scale);
        return VImage::webpload_source(source, options);
    case Format::heif:
        // The primary image (not an embedded thumbnail, nor the other images of a burst),
        // with the rotation and mirroring its container declares already applied by libheif.
        return VImage::heifload_source(source, options);
    }
    throw Unsupported(kNotAccepted);  // unreachable: the switch covers every Format
}

struct Size {
    int width;
    int height;
};

// The largest size with the same aspect ratio whose longest edge is at most `longest`;
// never larger than the input.
Size fit(Size in, int longest) {
    const int in_longest = std::max(in.width, in.height);
    if (in_longest <= longest) return in;
    const double scale = static_cast<double>(longest) / in_longest;
    auto edge = [&](int v) { return std::max(1, static_cast<int>(std::lround(v * scale))); };
    return in.width >= in.height ? Size{longest, edge(in.height)} : Size{edge(in.width), longest};
}

ShrinkOnLoad choose_shrink(Format format, Size original, Size target) {
    ShrinkOnLoad shrink;
    const double factor = static_cast<double>(original.width) / target.width;
    if (format == Format::jpeg) {
        // Like vips_thumbnail: DCT scaling is a crude box filter, so leave at least a
        // factor of two for the real (Lanczos) resize that follows.
        shrink.jpeg_shrink = factor >= 16 ? 8 : factor >= 8 ? 4 : factor >= 4 ? 2 : 1;
        // Neither side may shrink below the target: a very thin image (11521x1) would get
        // a side of 0, and libvips 8.14 then aborts the process on an assertion (found by
        // fuzz_image) instead of reporting an error.
        while (shrink.jpeg_shrink > 1 && (original.width / shrink.jpeg_shrink < target.width ||
                                          original.height / shrink.jpeg_shrink < target.height))
            shrink.jpeg_shrink /= 2;
    } else if (format == Format::webp && factor > 1.0) {
        // libwebp averages while it scales, which is a good downscaler; aim just above
        // the target so the final resize only has to correct rounding.
        shrink.webp_scale = std::min(1.0, 1.0 / factor + 1.0 / original.width);
        // The same guard as for JPEG: no side below the target (or 0).
        if (std::floor(original.width * shrink.webp_scale) < target.width ||
            std::floor(original.height * shrink.webp_scale) < target.height)
            shrink.webp_scale = 1.0;
    }
    return shrink;
}

bool header_flag(const VImage& header, const char* name) {
    return header.get_typeof(name) != 0 && header.get_int(name) != 0;
}

// Peak memory to process one image, from its header alone, so it can be charged to the
// decode budget before any pixel is decoded. Calibrated on libvips 8.14 against the peak
// RSS of one image (bench/image_pipeline --runs 0 --input ...): 12 MP baseline JPEG
// +35 MB, 27 MP baseline +41 MB, 27 MP progressive 4:4:4 JPEG +198 MB, progressive 4:2:0
// +120 MB, 12 MP interlaced PNG (33 MB file) +95 MB, 12 MP GIF +90 MB, 12 MP lossless
// WebP (21 MB file) +82 MB. It errs high: too high only makes an upload wait (or, past
// the whole budget, be refused), too low would break the bound.
std::uint64_t estimate_memory(Format format, const VImage& header, Size display,
                              const ShrinkOnLoad& shrink, std::uint64_t input_size) {
    const std::uint64_t width = static_cast<std::uint64_t>(header.width());
    const std::uint64_t pixels = width * static_cast<std::uint64_t>(header.height());
    const std::uint64_t bands = static_cast<std::uint64_t>(header.bands());
    const std::uint64_t sample = header.format() == VIPS_FORMAT_USHORT ? 2 : 1;

    // Every image: the display variant held in memory, plus the strips of full-width lines
    // in flight between decoder, resize and colour conversion on every libvips thread.
    std::uint64_t bytes = static_cast<std::uint64_t>(display.width) * display.height * 3 +
                          width * bands * sample * 2048 + (8u << 20);
    switch (format) {
    case Format::jpeg:
        // Progressive JPEGs are decoded from a full set of DCT coefficients (2 bytes each)
        // kept for the whole image, shrink-on-load or not; chroma subsampling shrinks it.
        if (header_flag(header, "jpeg-multiscan")) {
            double components = static_cast<double>(bands);
            if (bands == 3 && header.get_typeof("jpeg-chroma-subsample") != 0) {
                const std::string_view subsample = header.get_string("jpeg-chroma-subsample");
                if (subsample == "4:2:0") components = 1.5;
                else if (subsample == "4:2:2" || subsample == "4:4:0") components = 2;
            }
            bytes += static_cast<std::uint64_t>(static_cast<double>(pixels) * 2 * components);
        }
        break;
    case Format::png:
        // Adam7 interlacing cannot be streamed: libvips decodes the whole image first,
        // and reads the whole file into memory when it comes through the (unseekable)
        // text filter.
        if (header_flag(header, "interlaced")) bytes += pixels * bands * sample + input_size;
        break;
    case Format::gif:
        // libnsgif works on the whole file in memory and composes frames on a full RGBA
        // canvas, keeping a second one for "restore to previous" disposal.
        bytes += input_size + pixels * 8;
        break;
    case Format::webp: {
        // libwebp works on the whole file in memory; libvips composes the (scaled) frame
        // into an RGBA canvas of the same size; a lossless bitstream is first decoded at
        // full size, 4 bytes a pixel, whatever the scale. Lossy or lossless is not in the
        // header, so lossless is assumed.
        const double scaled = static_cast<double>(pixels) * shrink.webp_scale * shrink.webp_scale;
        bytes += input_size + pixels * 4 + static_cast<std::uint64_t>(scaled * 8);
        break;
    }
    case Format::heif:
        // libheif decodes the whole image at once: the file in memory, the decoder's YUV
        // planes (and for a grid of tiles, each tile's), then the interleaved RGB(A)
        // image libvips reads its lines from, 16 bits a sample for a 10-bit image.
        bytes += input_size + pixels * 3 * sample + pixels * (bands + 1) * sample;
        break;
    }
    return bytes;
}

// 8-bit sRGB whatever the input: CMYK (Adobe inverted or not), grey, 16-bit, or pixels
// tagged with another profile (Display P3 from phones, Adobe RGB from cameras).
VImage to_srgb(const VImage& in) {
    if (in.get_typeof(VIPS_META_ICC_NAME) != 0) {
        try {
            return in.icc_transform("srgb", VImage::option()
                                                ->set("embedded", true)
                                                ->set("intent", VIPS_INTENT_RELATIVE)
                                                ->set("depth", 8));
        } catch (const VError&) {
            // A profile lcms cannot use (icc-after-SOF.jpg carries the 7 bytes "profile"):
            // the pixels are still good, so fall back to converting by interpretation.
            vips_error_clear();
        }
    }
    VImage out = in.colourspace(VIPS_INTERPRETATION_sRGB);
    return out.format() == VIPS_FORMAT_UCHAR ? out : out.cast(VIPS_FORMAT_UCHAR);
}

VImage flatten_on_white(const VImage& srgb) {
    VImage flat = srgb.flatten(VImage::option()->set("background", std::vector<double>{255, 255, 255}));
    return flat.format() == VIPS_FORMAT_UCHAR ? flat : flat.cast(VIPS_FORMAT_UCHAR);
}

VImage resize_to(const VImage& in, Size target) {
    if (in.width() == target.width && in.height() == target.height) return in;
    // Separate scales so rounding lands on exactly the target size in both directions.
    return in.resize(static_cast<double>(target.width) / in.width(),
                     VImage::option()->set("vscale",
                                           static_cast<double>(target.height) / in.height()));
}

// Strip by construction rather than trusting the saver's flag alone: every metadata item
// (EXIF and its GPS block, XMP, IPTC, ICC, orientation, comments, PNG text, GIF palette...)
// is removed from the image before it is encoded, and the encoder is also told to strip.
// libvips' own "vips-" bookkeeping stays: no saver writes it, and dropping "vips-sequential"
// makes the thumbnail's resize of the display variant six times slower (measured).
VImage without_metadata(const VImage& in) {
    VImage out = in.copy();
    gchar** fields = vips_image_get_fields(out.get_image());
    for (gchar** field = fields; *field != nullptr; ++field) {
        if (std::string_view(*field).starts_with("vips-")) continue;
        vips_image_remove(out.get_image(), *field);  // no-op for width, height, bands...
    }
    g_strfreev(fields);
    return out;
}

// Computes `in` into a new memory image in the calling thread, top to bottom, a strip at a
// time, and throws VError if any part of it fails.
//
// Not copy_memory(): libvips 8.14 computes that with a pool of threads, and when a
// sequential decoder fails part-way (a truncated file, a bad IDAT checksum) the shared line
// cache blacks out the strip and stops the pool; whether the error then reaches the caller
// depends on which thread computed the strip. With 4 or more libvips threads a truncated
// PNG was accepted about half the time, its missing rows black (PngSuite.* and Damage.* with
// VIPS_CONCURRENCY=8). In one thread every error is returned to us. It costs little: the
// decoder, which dominates, runs in one thread either way (12 MP JPEG: 164 ms wall and
// 186 ms CPU with the pool, 185 ms for both in one thread).
VImage compute_in_memory(const VImage& in) {
    VImage out(vips_image_new_memory());
    if (vips_image_pipelinev(out.get_image(), VIPS_DEMAND_STYLE_THINSTRIP, in.get_image(),
                             nullptr) != 0 ||
        vips_image_write_prepare(out.get_image()) != 0) {
        throw VError();
    }
    const std::unique_ptr<VipsRegion, void (*)(VipsRegion*)> region(
        vips_region_new(in.get_image()), [](VipsRegion* r) { g_object_unref(r); });
    // Lines a call. Each strip boundary recomputes the resize kernel's overlap, so short
    // strips cost CPU: a 12 MP JPEG took 220 ms with 64 lines, 185 ms with 512 (bench/
    // image_pipeline), and the region holds 512 lines of at most the display width (3 MB).
    constexpr int kStrip = 512;
    for (int top = 0; top < in.height(); top += kStrip) {
        VipsRect strip{0, top, in.width(), std::min(kStrip, in.height() - top)};
        if (vips_region_prepare(region.get(), &strip) != 0) throw VError();
        for (int y = strip.top; y < strip.top + strip.height; ++y) {
            if (vips_image_write_line(out.get_image(), y,
                                      VIPS_REGION_ADDR(region.get(), 0, y)) != 0) {
                throw VError();
            }
        }
    }
    return out;
}

Variant encode(const VImage& image, const Limits& limits) {
    VipsBlob* blob = image.jpegsave_buffer(VImage::option()
                                               ->set("Q", limits.jpeg_quality)
                                               ->set("strip", true)
                                               ->set("optimize_coding", true));
    const std::unique_ptr<VipsBlob, void (*)(VipsBlob*)> owner(
        blob, [](VipsBlob* b) { vips_area_unref(VIPS_AREA(b)); });
    Variant variant;
    variant.data.assign(static_cast<const char*>(VIPS_AREA(blob)->data), VIPS_AREA(blob)->length);
    variant.width = image.width();
    variant.height = image.height();
    return variant;
}

// What process() makes: every variant, or (for a full-size download) the display variant
// only, at the image's own size.
enum class Make { variants, full_size };

Processed process(const VSource& source, const Limits& limits, Make make = Make::variants) {
    const Accepted& accepted = detect(source);

    // Declared before every image so that it is released after them, when the decoder's
    // buffers are really gone.
    std::optional<MemoryBudget::Reservation> reservation;

    // Opening reads the header only; no pixel has been decoded yet.
    VImage header;
    try {
        header = open(accepted.format, source, ShrinkOnLoad{});
    } catch (const VError&) {
        throw Unsupported(kDamaged);
    }
    // For GIF and WebP animations this is the canvas (the first frame is composed on it),
    // which is what the decoder allocates, whatever the frames declare.
    const Size original{header.width(), header.height()};
    const std::uint64_t pixels =
        static_cast<std::uint64_t>(original.width) * static_cast<std::uint64_t>(original.height);
    if (pixels > limits.max_pixels) {
        throw TooLarge("the image is too large: " + std::to_string(original.width) + "x" +
                       std::to_string(original.height) + " pixels is more than the limit of " +
                       std::to_string(limits.max_pixels) + " pixels");
    }
    // HEIF's rotation is in its container and applied while decoding; an EXIF orientation
    // inside it is descriptive only (ISO/IEC 23008-12), so it must not turn the image again.
    if (accepted.format == Format::heif) vips_image_remove(header.get_image(), VIPS_META_ORIENTATION);
    const bool swaps_sides = vips_image_get_orientation_swap(header.get_image()) != 0;

    // Sizes are fixed from the stored (unrotated) frame; rotation happens last.
    const Size display_size = make == Make::full_size ? original : fit(original, limits.display_size);
    const ShrinkOnLoad shrink = choose_shrink(accepted.format, original, display_size);

    MemoryBudget& budget = decode_budget();
    const gint64 input_size = vips_source_length(source.get_source());
    const std::uint64_t memory =
        estimate_memory(accepted.format, header, display_size, shrink,
                        input_size > 0 ? static_cast<std::uint64_t>(input_size) : 0);
    if (memory > budget.capacity()) {
        throw TooLarge("the image is too large to process: decoding it would need about " +
                       std::to_string(memory >> 20) + " MB, more than the " +
                       std::to_string(budget.capacity() >> 20) + " MB allowed");
    }
    // Waits while other uploads hold the memory.
    reservation.emplace(budget.acquire(memory));

    Processed result;
    result.format = accepted.name;
    if (accepted.format == Format::heif && header.get_typeof("heif-compression") != 0)
        result.format = std::string_view(header.get_string("heif-compression")) == "av1" ? "avif" : "heic";
    result.original_width = swaps_sides ? original.height : original.width;
    result.original_height = swaps_sides ? original.width : original.height;
    if (header.get_typeof(VIPS_META_N_PAGES) != 0) result.frames = std::max(1, header.get_int(VIPS_META_N_PAGES));

    // libvips evaluates lazily: decoding, and so every decode error, happens inside
    // compute_in_memory() and the encoders. All of it must be inside this try.
    try {
        VImage image = (shrink.jpeg_shrink > 1 || shrink.webp_scale < 1.0)
                           ? open(accepted.format, source, shrink)
                           : header;
        bool converted = false;
        if (image.has_alpha()) {
            // Flatten before resizing: resizing the flattened pixels equals resizing
            // premultiplied ones and then flattening, and avoids dark fringes from the
            // colour of fully transparent pixels.
            image = flatten_on_white(to_srgb(image));
            converted = true;
        }
        image = resize_to(image, display_size);
        // Colour conversion after the resize touches 4x fewer pixels for a 12 MP photo.
        if (!converted) image = to_srgb(image);

        // The one full decode. The display variant stays in memory (~9 MB at 2048x1536)
        // so the thumbnail is made from it without reading the upload again, and so the
        // rotation below can read it in any order (a sequential decoder cannot).
        const VImage display = without_metadata(compute_in_memory(image).autorot());
        result.display = encode(display, limits);
        if (make == Make::full_size) return result;

        const Size shown{display.width(), display.height()};
        const int longest = std::max(shown.width, shown.height);
        const int thumbnail_edge = std::min(limits.thumbnail_size, longest);
        result.thumbnail = encode(resize_to(display, fit(shown, thumbnail_edge)), limits);
        std::vector<int> edges;
        for (const int edge : limits.sizes)
            if (edge > 0 && edge < longest && edge != thumbnail_edge) edges.push_back(edge);
        std::sort(edges.begin(), edges.end());
        edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
        // Pages name a variant by its width, so a width is made once (a very narrow image
        // can round two sizes to the same width).
        std::vector<int> widths{result.thumbnail.width, shown.width};
        for (const int edge : edges) {
            const Size size = fit(shown, edge);
            if (std::find(widths.begin(), widths.end(), size.width) != widths.end()) continue;
            widths.push_back(size.width);
            result.more.push_back(encode(resize_to(display, size), limits));
        }
    } catch (const VError&) {
        vips_error_clear();
        throw Unsupported(kDamaged);
    }
    return result;
}

}  // namespace

std::vector<Encoded> encode_formats(const std::string& display_jpeg, const std::vector<int>& widths,
                                    const std::vector<std::string>& formats, const FormatOptions& options) {
    initialize();
    for (const auto& format : formats)
        if (format != "webp" && format != "avif") throw std::invalid_argument("image: no such output format: " + format);
    std::vector<Encoded> out;
    try {
        const VImage display = VImage::new_from_buffer(display_jpeg.data(), display_jpeg.size(), "",
                                                       VImage::option()->set("access", VIPS_ACCESS_RANDOM))
                                   .copy_memory();
        for (const int width : widths) {
            if (width < 1 || width > display.width())
                throw std::invalid_argument("image: width " + std::to_string(width) + " is outside the display variant's");
            const int height = std::max(1, static_cast<int>(std::lround(static_cast<double>(display.height()) * width / display.width())));
            const VImage sized = without_metadata(resize_to(display, Size{width, height}));
            for (const auto& format : formats) {
                VipsBlob* blob = format == "webp"
                                     ? sized.webpsave_buffer(VImage::option()->set("Q", options.webp_quality)->set("strip", true))
                                     : sized.heifsave_buffer(VImage::option()
                                                                 ->set("compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1)
                                                                 ->set("Q", options.avif_quality)
                                                                 ->set("effort", options.avif_effort)
                                                                 ->set("strip", true));
                const std::unique_ptr<VipsBlob, void (*)(VipsBlob*)> owner(blob, [](VipsBlob* b) { vips_area_unref(VIPS_AREA(b)); });
                Encoded e{format, {}};
                e.variant.data.assign(static_cast<const char*>(VIPS_AREA(blob)->data), VIPS_AREA(blob)->length);
                e.variant.width = width;
                e.variant.height = height;
                out.push_back(std::move(e));
            }
        }
    } catch (const VError& e) {
        vips_error_clear();
        throw Unsupported(std::string("the stored display variant cannot be re-encoded: ") + e.what());
    }
    return out;
}

Processed process_file(const std::filesystem::path& path, const Limits& limits) {
    initialize();
    // A source opens the path as given: unlike vips_image_new_from_file, no "[options]"
    // suffix in the name is parsed, so a stored name cannot smuggle loader options.
    VipsSource* source = vips_source_new_from_file(path.c_str());
    if (source == nullptr) {
        vips_error_clear();
        throw std::runtime_error("cannot read uploaded file " + path.string());
    }
    return process(VSource(source), limits);
}

namespace {

// Wraps the caller's bytes without copying them; they outlive every image made from them.
VSource memory_source(const std::string& bytes) {
    initialize();
    VipsSource* source = vips_source_new_from_memory(bytes.data(), bytes.size());
    if (source == nullptr) {
        vips_error_clear();
        throw Unsupported(kNotAccepted);
    }
    return VSource(source);
}

}  // namespace

Variant full_size(const std::string& bytes, const Limits& limits) {
    return process(memory_source(bytes), limits, Make::full_size).display;
}

Processed process_buffer(const std::string& bytes, const Limits& limits) { return process(memory_source(bytes), limits); }

}  // namespace photoshare::image
