// The files under web/ (templates and static assets), compiled into the binary.
#pragma once

#include <span>
#include <string_view>

namespace photoshare::app {

struct EmbeddedFile {
    std::string_view path;  // relative to web/, e.g. "static/style.css"
    std::string_view data;
};

std::span<const EmbeddedFile> embedded_files();

}  // namespace photoshare::app
