// The image pipeline as a module the server loads when it first needs it.
//
// libvips brings some seventy shared libraries (librsvg, OpenEXR, ICU, poppler's friends...)
// whose pages make up half of an idle server's memory: about 15 MiB of its 31. The server
// binary therefore does not link libvips; src/image_loader/ loads libphotoshare-image.so,
// built from src/image/ and installed beside the binary, at the first upload. Tests, fuzz
// targets and benchmarks link src/image/ directly. Both sides are built together from one
// tree, so the interface is C++ (exceptions included), checked by a version number.
#pragma once

#include "image/image.hpp"

#include <cstdint>
#include <filesystem>
#include <string>

namespace photoshare::image {

inline constexpr const char* kModuleFile = "libphotoshare-image.so";
inline constexpr const char* kModuleEntry = "photoshare_image_module";
inline constexpr int kModuleVersion = 5;  // raise when ModuleApi or the types it uses change

struct ModuleApi {
    int version;
    void (*initialize)(std::uint64_t decode_memory);
    Processed (*process_file)(const std::filesystem::path& path, const Limits& limits);
    Processed (*process_buffer)(const std::string& bytes, const Limits& limits);
    std::vector<Encoded> (*encode_formats)(const std::string& display_jpeg, const std::vector<int>& widths,
                                           const std::vector<std::string>& formats, const FormatOptions& options);
    Variant (*full_size)(const std::string& bytes, const Limits& limits);
};

}  // namespace photoshare::image

// The module's one exported entry point (kModuleEntry).
extern "C" const photoshare::image::ModuleApi* photoshare_image_module();
