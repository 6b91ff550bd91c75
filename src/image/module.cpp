#include "image/module.hpp"

extern "C" __attribute__((visibility("default"))) const photoshare::image::ModuleApi* photoshare_image_module() {
    // Taking the addresses picks the overloads with default arguments spelled out.
    static const photoshare::image::ModuleApi api{
        photoshare::image::kModuleVersion,
        &photoshare::image::initialize,
        &photoshare::image::process_file,
        &photoshare::image::process_buffer,
        &photoshare::image::encode_formats,
        &photoshare::image::full_size,
    };
    return &api;
}
