// The upload validation entry point, image::process_buffer, on arbitrary bytes: it must never
// crash, leak, hang or hit UB; it either throws Unsupported or TooLarge (nothing else: a
// std::runtime_error or VError escaping would be a 500 instead of a 415/422), or returns what
// it promises (a known format, the original size within the pixel limit, display and
// thumbnail JPEGs no larger than asked, never upscaled). The decode budget must be whole
// again after every call, or the next upload would wait for memory that is never released.
//
// Only our code (image/, including the PNG text-chunk filter) is instrumented; libvips and
// its decoders are the system's, so coverage guides the fuzzer through our code and ASan
// checks every heap block (malloc is replaced process-wide). Limits are small so that each
// run is fast; libvips runs one thread.
#include "image/image.hpp"
#include "image/runtime.hpp"

#include <vips/vips.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

using namespace photoshare::image;

[[noreturn]] void fail(const char* what) {
    (void)std::fprintf(stderr, "fuzz_image: %s\n", what);
    std::abort();
}

const Limits limits{.max_pixels = 1'000'000, .display_size = 512, .thumbnail_size = 128, .sizes = {64, 256}, .jpeg_quality = 75};

void check_variant(const Variant& v, int longest) {
    if (v.width < 1 || v.height < 1 || std::max(v.width, v.height) > longest) fail("variant has a bad size");
    if (v.data.size() < 4 || static_cast<unsigned char>(v.data[0]) != 0xFF || static_cast<unsigned char>(v.data[1]) != 0xD8)
        fail("variant is not a JPEG");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // 64 MiB: enough for 1 MP in any format (estimate_memory), small enough that the
    // "too large to process" path is reached too.
    initialize(64ull << 20);
    vips_concurrency_set(1);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    try {
        const Processed p = process_buffer(bytes, limits);
        if (p.format != "jpeg" && p.format != "png" && p.format != "gif" && p.format != "webp") fail("unknown format");
        if (p.original_width < 1 || p.original_height < 1 ||
            static_cast<std::uint64_t>(p.original_width) * static_cast<std::uint64_t>(p.original_height) > limits.max_pixels)
            fail("original size out of bounds");
        const int original_longest = std::max(p.original_width, p.original_height);
        check_variant(p.display, std::min(limits.display_size, original_longest));
        check_variant(p.thumbnail, std::min(limits.thumbnail_size, std::max(p.display.width, p.display.height)));
        for (const auto& v : p.more) check_variant(v, std::max(p.display.width, p.display.height) - 1);
    } catch (const Unsupported& e) {
        if (*e.what() == '\0') fail("Unsupported without a message");
    } catch (const TooLarge& e) {
        if (*e.what() == '\0') fail("TooLarge without a message");
    }
    // Anything else propagates: libFuzzer reports an uncaught exception as a crash.
    if (decode_budget().in_use() != 0) fail("decode budget not released");
    return 0;
}
