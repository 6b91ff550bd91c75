#include "app/captions.hpp"

#include "http/message.hpp"

#include <cstdint>
#include <fmt/format.h>

namespace photoshare::app {

namespace {

[[noreturn]] void refuse(const std::string& why) { throw http::HttpError(422, "bad_caption", why); }

// The code point starting at text[i] (advancing i), or -1 for bytes that are not UTF-8 as
// RFC 3629 defines it: no overlong forms, no surrogates, nothing above U+10FFFF.
std::int32_t next_code_point(std::string_view text, std::size_t& i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char lead = byte(i);
    int extra = 0;
    std::int32_t cp = 0;
    std::int32_t min = 0;
    if (lead < 0x80) {
        ++i;
        return lead;
    } else if (lead >= 0xc2 && lead <= 0xdf) {
        extra = 1, cp = lead & 0x1f, min = 0x80;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        extra = 2, cp = lead & 0x0f, min = 0x800;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        extra = 3, cp = lead & 0x07, min = 0x10000;
    } else {
        return -1;
    }
    if (i + static_cast<std::size_t>(extra) >= text.size()) return -1;  // cut short
    for (int k = 1; k <= extra; ++k) {
        const unsigned char c = byte(i + static_cast<std::size_t>(k));
        if ((c & 0xc0) != 0x80) return -1;
        cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
    i += static_cast<std::size_t>(extra) + 1;
    return cp;
}

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t'; }

}  // namespace

std::string clean_caption(std::string_view text, std::size_t max_chars) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t start = i;
        const std::int32_t cp = next_code_point(text, i);
        if (cp < 0) refuse("The caption is not valid UTF-8 text.");
        if (cp == '\r') {
            if (i < text.size() && text[i] == '\n') ++i;
            out += '\n';
        } else if (cp == '\t' || cp == '\n') {
            out += static_cast<char>(cp);
        } else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
            refuse("The caption holds a control character; use words, spaces and line breaks.");
        } else {
            out.append(text.substr(start, i - start));
        }
    }
    std::size_t first = 0;
    while (first < out.size() && is_space(out[first])) ++first;
    std::size_t last = out.size();
    while (last > first && is_space(out[last - 1])) --last;
    out = out.substr(first, last - first);
    std::size_t kept = 0;  // code points: every byte but continuation bytes
    for (const char c : out) kept += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
    if (kept > max_chars) refuse(fmt::format("The caption has {} characters; the limit is {}.", kept, max_chars));
    return out;
}

}  // namespace photoshare::app
