#include "image/png_text_filter.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace photoshare::image {
namespace {

constexpr std::size_t kSignatureSize = 8;
constexpr std::size_t kChunkHeaderSize = 8;  // length (big-endian), type
constexpr std::uint64_t kCrcSize = 4;

// Walks the chunk structure as bytes go by; holds no more than one chunk header.
class TextFilter {
public:
    explicit TextFilter(VipsSource* inner) : inner_(inner) { g_object_ref(inner_); }
    ~TextFilter() { g_object_unref(inner_); }
    TextFilter(const TextFilter&) = delete;
    TextFilter& operator=(const TextFilter&) = delete;

    // Fills `out` with up to `size` filtered bytes. Returns 0 only at the end of the input
    // and -1 on a read error, as a VipsSourceCustom "read" handler must.
    gint64 read(unsigned char* out, std::size_t size) {
        std::size_t written = 0;
        while (written == 0 && size > 0) {
            if (pending_ < pending_end_) {
                // A header we decided to keep, not yet handed out.
                const std::size_t n = std::min(size, pending_end_ - pending_);
                std::memcpy(out, header_.data() + pending_, n);
                pending_ += n;
                written = n;
                continue;
            }
            if (state_ == State::ended) return 0;
            if (state_ == State::signature || state_ == State::pass) {
                const std::size_t want = static_cast<std::size_t>(
                    std::min<std::uint64_t>(size, remaining_));
                const gint64 n = vips_source_read(inner_, out, want);
                if (n <= 0) return n;  // end of input or error: the decoder judges
                remaining_ -= static_cast<std::uint64_t>(n);
                written = static_cast<std::size_t>(n);
                if (remaining_ == 0) start_header();
                continue;
            }
            if (state_ == State::skip) {
                unsigned char discard[4096];
                const std::size_t want = static_cast<std::size_t>(
                    std::min<std::uint64_t>(sizeof discard, remaining_));
                const gint64 n = vips_source_read(inner_, discard, want);
                if (n <= 0) return n;
                remaining_ -= static_cast<std::uint64_t>(n);
                if (remaining_ == 0) start_header();
                continue;
            }
            // State::header: collect the 8 bytes, which may arrive in pieces.
            const gint64 n = vips_source_read(inner_, header_.data() + header_size_,
                                              kChunkHeaderSize - header_size_);
            if (n < 0) return n;
            if (n == 0) {
                // Input ends inside a header: pass the fragment on, the decoder reports
                // the truncation exactly as it would have without this filter.
                pending_ = 0;
                pending_end_ = header_size_;
                header_size_ = 0;
                if (pending_end_ == 0) return 0;
                state_ = State::ended;
                continue;
            }
            header_size_ += static_cast<std::size_t>(n);
            if (header_size_ == kChunkHeaderSize) decide();
        }
        return static_cast<gint64>(written);
    }

private:
    enum class State { signature, header, pass, skip, ended };

    void start_header() {
        state_ = State::header;
        header_size_ = 0;
    }

    void decide() {
        const std::uint64_t length = (std::uint64_t{header_[0]} << 24) |
                                     (std::uint64_t{header_[1]} << 16) |
                                     (std::uint64_t{header_[2]} << 8) | std::uint64_t{header_[3]};
        const bool text = std::memcmp(&header_[4], "tEXt", 4) == 0 ||
                          std::memcmp(&header_[4], "zTXt", 4) == 0 ||
                          std::memcmp(&header_[4], "iTXt", 4) == 0;
        remaining_ = length + kCrcSize;
        header_size_ = 0;
        if (text) {
            state_ = State::skip;
        } else {
            pending_ = 0;
            pending_end_ = kChunkHeaderSize;
            state_ = State::pass;
        }
    }

    VipsSource* inner_;
    State state_ = State::signature;
    std::uint64_t remaining_ = kSignatureSize;  // bytes left in the current pass/skip span
    std::array<unsigned char, kChunkHeaderSize> header_{};
    std::size_t header_size_ = 0;  // header bytes collected
    std::size_t pending_ = 0;      // header bytes handed out so far
    std::size_t pending_end_ = 0;  // header bytes to hand out
};

gint64 on_read(VipsSourceCustom*, void* buffer, gint64 length, gpointer user) {
    if (length <= 0) return 0;
    return static_cast<TextFilter*>(user)->read(static_cast<unsigned char*>(buffer),
                                                static_cast<std::size_t>(length));
}

}  // namespace

vips::VSource without_png_text(const vips::VSource& png) {
    if (vips_source_rewind(png.get_source()) != 0) {
        throw vips::VError();
    }
    VipsSourceCustom* custom = vips_source_custom_new();
    auto* filter = new TextFilter(png.get_source());
    // The filter lives exactly as long as the source that calls it.
    g_object_set_data_full(G_OBJECT(custom), "photoshare-png-text-filter", filter,
                           [](gpointer p) { delete static_cast<TextFilter*>(p); });
    g_signal_connect(custom, "read", G_CALLBACK(on_read), filter);
    return vips::VSource(VIPS_SOURCE(custom));
}

}  // namespace photoshare::image
