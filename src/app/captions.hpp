// What a photo's caption may be: the owner's words, shown on its page and as its alt text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace photoshare::app {

// The caption as it is stored: valid UTF-8 of at most max_chars characters (code points),
// without control characters but line breaks (CR LF and CR become LF), trimmed of white
// space at both ends. Empty means none. Throws HttpError 422 bad_caption, saying what is
// wrong, for anything else.
std::string clean_caption(std::string_view text, std::size_t max_chars);

}  // namespace photoshare::app
