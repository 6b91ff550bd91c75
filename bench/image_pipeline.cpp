// How long the upload pipeline takes for a 12 MP JPEG, as a ratio against the reference
// tool for the same job: `vipsthumbnail` run twice (display 2048 and thumbnail 480, Q=82,
// stripped), measured in the same run on the same file, and libvips's thumbnail operation
// making the same two variants in process (vipsthumbnail without its process start-ups). Also reports the peak RSS of
// processing one image, and optionally of a bounded worker pool chewing through many.
//
//   image_pipeline [--input FILE.jpg] [--runs N] [--sizes 320,640,...] [--pool THREADS --jobs N]
//   image_pipeline --make WIDTHxHEIGHT --output FILE.jpg [--quality Q] [--grain SIGMA]
//
// --make only writes a photo-like JPEG of that size (the generator below) and exits: bench/run
// makes its 0.3, 3 and 12 MP upload inputs with it, and a ~10 MB one with a heavy grain.
// --sizes sets image::Limits::sizes, the further widths (default: the server's 320,640,1024,1600;
// an empty value makes only the display variant and the thumbnail, as before them).
// --runs 0 skips the timing (to measure memory only, with any input format).
// Without --input a realistic 4000x3000 photo-like JPEG (Perlin texture plus sensor-like
// grain, Q=90) is generated under the temporary directory first.
#include "image/image.hpp"

#include <vips/vips8>

#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;
namespace image = photoshare::image;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// CPU time (user + system) used so far by this process or by its waited-for children:
// on a busy machine it is steadier than wall time, so both are reported.
double cpu_ms(int who) {
    rusage usage{};
    getrusage(who, &usage);
    auto ms = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_usec) / 1e3; };
    return ms(usage.ru_utime) + ms(usage.ru_stime);
}

long status_kb(const char* key) {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind(key, 0) != 0) continue;
        const char* const value = line.c_str() + std::strlen(key);
        char* end = nullptr;
        const long kb = std::strtol(value, &end, 10);
        return end == value ? -1 : kb;
    }
    return -1;
}

// Writing 5 to clear_refs resets VmHWM, so a peak can be measured for one phase only.
void reset_peak_rss() {
    std::ofstream("/proc/self/clear_refs") << "5";
}

// Photo-like content: smooth structures (Perlin) at a few scales plus fine grain, so the
// JPEG compresses like a camera picture rather than like flat colour or pure noise.
void make_photo(const fs::path& out, int width, int height, int quality, double grain_sigma = 6.0) {
    using vips::VImage;
    std::vector<VImage> bands;
    for (int seed = 1; seed <= 3; ++seed) {
        VImage coarse = VImage::perlin(width, height,
                                       VImage::option()->set("cell_size", 400)->set("seed", seed));
        VImage fine = VImage::perlin(width, height,
                                     VImage::option()->set("cell_size", 37)->set("seed", seed + 10));
        VImage grain = VImage::gaussnoise(width, height,
                                          VImage::option()->set("mean", 0.0)->set("sigma", grain_sigma)->set("seed", seed + 20));
        // Perlin noise spans about -0.5..0.5.
        bands.push_back(coarse * 200 + fine * 60 + grain + 128);
    }
    VImage photo = VImage::bandjoin(bands).cast(VIPS_FORMAT_UCHAR);
    photo = photo.copy(VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB));
    photo.jpegsave(out.c_str(), VImage::option()->set("Q", quality));
}

int run(const std::vector<std::string>& argv) {
    pid_t pid = 0;
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    if (posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0) {
        throw std::runtime_error("cannot start " + argv[0]);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct Options {
    fs::path input;
    int runs = 11;
    int pool = 0;
    int jobs = 32;
    std::string make;  // WIDTHxHEIGHT
    fs::path output;
    int quality = 90;
    double grain = 6.0;
    image::Limits limits;  // --sizes replaces limits.sizes
};

Options parse(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::runtime_error(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--input") options.input = value();
        else if (arg == "--runs") options.runs = std::stoi(value());
        else if (arg == "--pool") options.pool = std::stoi(value());
        else if (arg == "--jobs") options.jobs = std::stoi(value());
        else if (arg == "--make") options.make = value();
        else if (arg == "--output") options.output = value();
        else if (arg == "--quality") options.quality = std::stoi(value());
        else if (arg == "--grain") options.grain = std::stod(value());
        else if (arg == "--sizes") {
            options.limits.sizes.clear();
            std::string list = value();
            for (std::size_t pos = 0; pos < list.size();) {
                const auto comma = std::min(list.find(',', pos), list.size());
                options.limits.sizes.push_back(std::stoi(list.substr(pos, comma - pos)));
                pos = comma + 1;
            }
        }
        else throw std::runtime_error("unknown argument " + arg);
    }
    return options;
}

// Peak RSS while `threads` workers process `jobs` uploads (the same file, each read from
// disk like a spooled upload), as the server's bounded pool would.
void pool_peak(const fs::path& input, const image::Limits& limits, int threads, int jobs) {
    reset_peak_rss();
    const long before = status_kb("VmRSS:");
    std::atomic<int> next{0};
    std::atomic<int> failures{0};
    const auto start = Clock::now();
    std::vector<std::thread> workers;
    workers.reserve(static_cast<std::size_t>(threads));
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&] {
            while (next.fetch_add(1) < jobs) {
                try {
                    (void)image::process_file(input, limits);
                } catch (const std::exception&) {
                    ++failures;
                }
            }
        });
    }
    for (std::thread& w : workers) w.join();
    std::printf("pool: %d workers, %d jobs of %s (%.1f MB): %.0f ms, %d failures, "
                "RSS before %ld kB, peak %ld kB\n",
                threads, jobs, input.filename().c_str(),
                static_cast<double>(fs::file_size(input)) / 1e6, ms_since(start),
                failures.load(), before, status_kb("VmHWM:"));
}

}  // namespace

int main(int argc, char** argv) try {
    const Options options = parse(argc, argv);
    image::initialize();
    if (!options.make.empty()) {
        const auto x = options.make.find('x');
        if (x == std::string::npos || options.output.empty()) throw std::runtime_error("--make WIDTHxHEIGHT needs --output FILE");
        make_photo(options.output, std::stoi(options.make.substr(0, x)), std::stoi(options.make.substr(x + 1)), options.quality,
                   options.grain);
        std::printf("%s: %s, %.2f MB\n", options.output.c_str(), options.make.c_str(),
                    static_cast<double>(fs::file_size(options.output)) / 1e6);
        return 0;
    }
    std::printf("idle after initialize(): RSS %ld kB\n", status_kb("VmRSS:"));

    const fs::path work = fs::temp_directory_path() / ("photoshare-bench-" + std::to_string(getpid()));
    fs::create_directories(work);
    fs::path input = options.input;
    if (input.empty()) {
        input = fs::temp_directory_path() / "photoshare-bench-12mp.jpg";
        if (!fs::exists(input)) make_photo(input, 4000, 3000, 90);
    }
    std::printf("input: %s (%.2f MB)\n", input.c_str(),
                static_cast<double>(fs::file_size(input)) / 1e6);

    // One image, cold, on its own: the memory figure for one upload.
    reset_peak_rss();
    const long rss_before = status_kb("VmRSS:");
    const image::Limits& limits = options.limits;
    const image::Processed first = image::process_file(input, limits);
    std::printf("one image: RSS before %ld kB, peak %ld kB (+%ld kB); display %dx%d %zu B, "
                "thumbnail %dx%d %zu B\n",
                rss_before, status_kb("VmHWM:"), status_kb("VmHWM:") - rss_before,
                first.display.width, first.display.height, first.display.data.size(),
                first.thumbnail.width, first.thumbnail.height, first.thumbnail.data.size());
    std::size_t all_bytes = first.display.data.size() + first.thumbnail.data.size();
    std::printf("further widths:");
    for (const auto& v : first.more) {
        std::printf(" %dx%d %zu B", v.width, v.height, v.data.size());
        all_bytes += v.data.size();
    }
    std::printf("%s\nall variants: %zu files, %zu B\n", first.more.empty() ? " none" : "", 2 + first.more.size(), all_bytes);

    if (options.runs > 0) {
        const std::string display_out = (work / "d.jpg").string() + "[Q=82,strip]";
        const std::string thumb_out = (work / "t.jpg").string() + "[Q=82,strip]";
        auto reference_run = [&] {
            // "N>": shrink only, as the server never enlarges a small photo.
            if (run({"vipsthumbnail", input.string(), "-s", "2048>", "-o", display_out}) != 0 ||
                run({"vipsthumbnail", input.string(), "-s", "480>", "-o", thumb_out}) != 0) {
                throw std::runtime_error("vipsthumbnail failed");
            }
        };
        // The same two variants by libvips's own thumbnail operation in this process (what
        // vipsthumbnail runs, without starting a process twice): the pure image work.
        auto in_process_run = [&] {
            for (int size : {2048, 480}) {
                const vips::VImage v = vips::VImage::thumbnail(
                    input.c_str(), size, vips::VImage::option()->set("height", size)->set("size", VIPS_SIZE_DOWN));
                void* buf = nullptr;
                std::size_t len = 0;
                v.write_to_buffer(".jpg", &buf, &len, vips::VImage::option()->set("Q", 82)->set("strip", true));
                g_free(buf);
            }
        };
        reference_run();  // warms the page cache and the dynamic loader's files
        in_process_run();
        // Interleaved, so a burst of load from elsewhere on the machine hits both sides.
        std::vector<double> ours;
        std::vector<double> reference;
        std::vector<double> in_process;
        double ours_cpu = 0;
        double reference_cpu = 0;
        for (int i = 0; i < options.runs; ++i) {
            auto start = Clock::now();
            double cpu = cpu_ms(RUSAGE_SELF);
            (void)image::process_file(input, limits);
            ours.push_back(ms_since(start));
            ours_cpu += cpu_ms(RUSAGE_SELF) - cpu;
            start = Clock::now();
            cpu = cpu_ms(RUSAGE_CHILDREN);
            reference_run();
            reference.push_back(ms_since(start));
            reference_cpu += cpu_ms(RUSAGE_CHILDREN) - cpu;
            start = Clock::now();
            in_process_run();
            in_process.push_back(ms_since(start));
        }
        const double ours_ms = median(ours);
        const double reference_ms = median(reference);
        std::printf("process_file (display 2048 + thumbnail 480 + %zu further widths): median %.1f ms wall, "
                    "mean %.1f ms CPU, over %d runs\n",
                    first.more.size(), ours_ms, ours_cpu / options.runs, options.runs);
        std::printf("vipsthumbnail -s 2048 + -s 480 (two processes): median %.1f ms wall, "
                    "mean %.1f ms CPU, over %d runs\n",
                    reference_ms, reference_cpu / options.runs, options.runs);
        std::printf("vips_thumbnail 2048 + 480 in process: median %.1f ms wall, over %d runs\n", median(in_process), options.runs);
        std::printf("ratio process_file / vipsthumbnail: %.2f wall (target <= 1.30), %.2f CPU\n",
                    ours_ms / reference_ms, ours_cpu / reference_cpu);
    }

    if (options.pool > 0) pool_peak(input, options.limits, options.pool, options.jobs);
    fs::remove_all(work);
    return 0;
} catch (const std::exception& e) {
    (void)std::fprintf(stderr, "image_pipeline: %s\n", e.what());
    return 1;
}
