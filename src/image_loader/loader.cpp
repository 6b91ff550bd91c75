// image::initialize, process_file, process_buffer, encode_formats and full_size for the
// server binary: the same functions as src/image/, found in libphotoshare-image.so beside
// the binary and loaded on the first call that needs pixels (see image/module.hpp for why).
#include "image/module.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>

namespace photoshare::image {
namespace {

std::filesystem::path module_path;
std::uint64_t decode_memory_ = default_decode_memory;

std::once_flag located;
std::once_flag loaded;
const ModuleApi* api = nullptr;
std::string load_failure;

std::filesystem::path beside_binary() {
    std::error_code ec;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) throw std::runtime_error("cannot find the photoshare binary (/proc/self/exe): " + ec.message());
    return self.parent_path() / kModuleFile;
}

void load() {
    // RTLD_LOCAL: its symbols (and libvips') stay its own; RTLD_NOW: a missing library
    // fails here, once, rather than at some later call. A module in use is never closed.
    void* handle = ::dlopen(module_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        load_failure = "cannot load the image module: " + std::string(::dlerror());
        return;
    }
    auto* entry = reinterpret_cast<const ModuleApi* (*)()>(::dlsym(handle, kModuleEntry));
    if (entry == nullptr) {
        load_failure = module_path.string() + " is not photoshare's image module (no " + kModuleEntry + ")";
        ::dlclose(handle);
        return;
    }
    const ModuleApi* candidate = entry();
    if (candidate == nullptr || candidate->version != kModuleVersion) {
        load_failure = module_path.string() + " is from another build of photoshare (module version " +
                       std::to_string(candidate == nullptr ? 0 : candidate->version) + ", this binary needs " +
                       std::to_string(kModuleVersion) + ")";
        ::dlclose(handle);
        return;
    }
    try {
        candidate->initialize(decode_memory_);
    } catch (const std::exception& e) {
        load_failure = e.what();
        return;
    }
    api = candidate;
}

const ModuleApi& module() {
    std::call_once(loaded, load);
    if (api == nullptr) throw std::runtime_error(load_failure);
    return *api;
}

void locate(std::uint64_t decode_memory) {
    decode_memory_ = decode_memory;
    module_path = beside_binary();
    if (::access(module_path.c_str(), R_OK) != 0) {
        throw std::runtime_error("the image module " + module_path.string() +
                                 " is missing: it is built with the binary and must be installed beside it");
    }
    // libvips reads VIPSHOME once, in vips_init, to find its optional modules; photoshare
    // loads none (see src/image/runtime.cpp). vips_init will run on a worker thread, where
    // changing the environment is unsafe, so it is set now, for the life of the process.
    ::setenv("VIPSHOME", "/dev/null", 1);  // NOLINT(concurrency-mt-unsafe): start-up, before other threads
}

}  // namespace

// Call from main before any other thread starts. The module is only located here (a server
// without it fails at start-up, not at its first upload); later calls do nothing.
void initialize(std::uint64_t decode_memory) {
    std::call_once(located, locate, decode_memory);
}

Processed process_file(const std::filesystem::path& path, const Limits& limits) {
    return module().process_file(path, limits);
}

Processed process_buffer(const std::string& bytes, const Limits& limits) {
    return module().process_buffer(bytes, limits);
}

std::vector<Encoded> encode_formats(const std::string& display_jpeg, const std::vector<int>& widths,
                                    const std::vector<std::string>& formats, const FormatOptions& options) {
    return module().encode_formats(display_jpeg, widths, formats, options);
}

Variant full_size(const std::string& bytes, const Limits& limits) { return module().full_size(bytes, limits); }

}  // namespace photoshare::image
