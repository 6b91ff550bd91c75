// Process-wide libvips start-up: the settings that make libvips fit a server that decodes
// untrusted uploads on a small, bounded pool of worker threads.
#include "image/runtime.hpp"

#include "image/image.hpp"

#include <malloc.h>
#include <vips/vips8>

#include <gmodule.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace photoshare::image {
namespace {

std::once_flag once;
// Written once inside call_once, read only after it.
bool started = false;
std::string start_failure;
std::unique_ptr<MemoryBudget> budget;

// libvips reports recoverable decoder complaints ("extraneous bytes before marker", bad
// chunk CRCs in ancillary chunks...) as GLib warnings on stderr. They are caused by
// whoever uploads, so printing them would let any visitor fill the server log; the
// decision that matters is already made by fail_on=truncated and surfaces as an exception.
void drop_log_message(const gchar*, GLogLevelFlags, const gchar*, gpointer) {}

// libvips' module for HEIF (libheif: HEIC from iPhones, AVIF), part of the libvips package
// itself. Opening it registers its loader and saver classes; it stays loaded for good.
// Returns what went wrong, or nothing.
std::string load_heif_module() {
    const std::string path = std::string(PHOTOSHARE_VIPS_LIBDIR) + "/vips-modules-" + std::to_string(VIPS_MAJOR_VERSION) + "." +
                             std::to_string(VIPS_MINOR_VERSION) + "/vips-heif.so";
    GModule* module = g_module_open(path.c_str(), static_cast<GModuleFlags>(G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL));
    if (module == nullptr) return "cannot load libvips' HEIF module " + path + ": " + g_module_error();
    g_module_make_resident(module);
    return {};
}

void start_libvips(std::uint64_t decode_memory) {
    // libvips loads its optional modules (ImageMagick, poppler, libheif, OpenSlide, JPEG XL)
    // from <prefix>/lib/vips-modules-8.14, and takes <prefix> from VIPSHOME when set. All of
    // them cost ~6 MB of RSS and would put ImageMagick's and poppler's parsers in the
    // process; only libheif's is wanted (HEIC and AVIF), and load_heif_module() loads it
    // alone. A prefix under /dev/null cannot contain a directory, so no module is found. The
    // variable is restored at once; it is read only during vips_init. setenv is not
    // thread-safe, hence "call initialize() from main before starting threads".
    // The server's module loader (src/image_loader/) sets VIPSHOME for good before its
    // threads start, since this then runs on a worker thread: the environment is left alone.
    const char* previous = std::getenv("VIPSHOME");  // NOLINT(concurrency-mt-unsafe): nothing sets it concurrently
    int rc = 0;
    if (previous != nullptr && std::string_view(previous) == "/dev/null") {
        rc = vips_init("photoshare");
    } else {
        const std::optional<std::string> saved = previous ? std::optional<std::string>(previous) : std::nullopt;
        ::setenv("VIPSHOME", "/dev/null", 1);  // NOLINT(concurrency-mt-unsafe): start-up, before other threads
        rc = vips_init("photoshare");
        if (saved) {
            ::setenv("VIPSHOME", saved->c_str(), 1);  // NOLINT(concurrency-mt-unsafe): start-up, before other threads
        } else {
            ::unsetenv("VIPSHOME");  // NOLINT(concurrency-mt-unsafe): start-up, before other threads
        }
    }
    if (rc != 0) {
        start_failure = vips_error_buffer();
        vips_error_clear();
        return;
    }
    if (auto problem = load_heif_module(); !problem.empty()) {
        start_failure = problem;
        return;
    }
    started = true;
    budget = std::make_unique<MemoryBudget>(decode_memory);

    g_log_set_handler("VIPS",
                      static_cast<GLogLevelFlags>(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE),
                      drop_log_message, nullptr);

    // Defence in depth behind the allow-list in image.cpp: loaders libvips itself marks as
    // unsafe for untrusted input (svg, pdf, magick, matrix, csv, fits, ...) cannot run at all.
    vips_block_untrusted_set(TRUE);

    // The operation cache exists to reuse results when the same operation runs again on the
    // same input; every upload is new, so a cache would only pin decoded images and open
    // files in memory after the request is over. Off: memory follows the work in flight.
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_cache_set_max_files(0);

    // Concurrency is left at libvips' default (VIPS_CONCURRENCY or the number of cores):
    // the encoders of one upload then use every core (the decode runs in the calling thread,
    // see compute_in_memory in image.cpp), and the worker pool (not libvips) bounds how many
    // images are in flight. The extra threads cost
    // little memory because every pipeline here is sequential (strips of lines, not whole
    // images); the per-image memory is dominated by the in-memory display variant (~9 MB
    // for 2048x1536) and by the decoders that must hold a whole frame, which the decode
    // budget accounts for (see estimate_memory in image.cpp).

    // glibc raises its mmap threshold each time a large block is freed, after which the
    // multi-megabyte buffers of a pipeline (decoded strips, the display variant, encoded
    // JPEGs) come from per-thread heaps that fragment and are not given back: measured
    // with 4 workers on 12 MP JPEGs, peak RSS 284 MB instead of 182 MB. A fixed threshold
    // keeps blocks over 1 MiB in their own mappings, returned to the system on free. This
    // is process-wide; it is set here because these buffers are what it is for (mallopt
    // takes glibc's arena lock, so this may run while other threads allocate).
    mallopt(M_MMAP_THRESHOLD, 1 << 20);  // NOLINT(concurrency-mt-unsafe): glibc locks the arena
}

}  // namespace

MemoryBudget& decode_budget() {
    return *budget;
}

void initialize(std::uint64_t decode_memory) {
    std::call_once(once, start_libvips, decode_memory);
    if (!started) {
        throw std::runtime_error("libvips failed to start: " + start_failure);
    }
}

}  // namespace photoshare::image
