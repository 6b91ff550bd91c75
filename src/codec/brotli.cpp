#include "codec/brotli.hpp"

#include <brotli/encode.h>

#include <stdexcept>

namespace photoshare::codec {

std::string brotli(std::string_view text, int quality) {
    std::string out(BrotliEncoderMaxCompressedSize(text.size()), '\0');
    std::size_t size = out.size();
    if (BrotliEncoderCompress(quality, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, text.size(), reinterpret_cast<const std::uint8_t*>(text.data()),
                              &size, reinterpret_cast<std::uint8_t*>(out.data())) == BROTLI_FALSE)
        throw std::runtime_error("brotli: the encoder failed");
    out.resize(size);
    return out;
}

}  // namespace photoshare::codec
