// Escaping text for HTML and SVG (element content and quoted attribute values): the one
// escape that pages, error pages and the fleet dashboard share.
#pragma once

#include <string>
#include <string_view>

namespace photoshare::http {

inline std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 16);
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            case '`': out += "&#96;"; break;
            default: out += c;
        }
    }
    return out;
}

}  // namespace photoshare::http
