// A PNG stream without its text chunks, so that libvips never inflates them.
//
// libvips 8.14 (with libpng) decompresses every zTXt/iTXt chunk while it reads the header and
// keeps the text as metadata; only single chunks are capped. Measured: a 100 KB PNG made
// of fifty 2 MB zTXt chunks took 415 MB of RSS before a pixel was decoded. Text is
// metadata, which the site throws away anyway, so it is dropped before the decoder runs.
#pragma once

#include <vips/vips8>

namespace photoshare::image {

// Reads `png` from its start and yields the same chunks minus tEXt, zTXt and iTXt (which
// PNG allows to be removed anywhere). Everything else, damage included, passes through
// unchanged, so a truncated or corrupt file stays as truncated or corrupt for the decoder.
// The result streams (it is not seekable) and keeps `png` alive.
vips::VSource without_png_text(const vips::VSource& png);

}  // namespace photoshare::image
