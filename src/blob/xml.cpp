#include "blob/xml.hpp"

#include <cstdlib>

namespace photoshare::blob::xml {

namespace {

void append_utf8(std::string& out, unsigned long cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x110000) {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

}  // namespace

std::string unescape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        if (text[i] != '&') {
            out += text[i++];
            continue;
        }
        const auto end = text.find(';', i);
        if (end == std::string_view::npos || end - i > 12) {
            out += text[i++];
            continue;
        }
        const std::string_view entity = text.substr(i + 1, end - i - 1);
        if (entity == "amp") out += '&';
        else if (entity == "lt") out += '<';
        else if (entity == "gt") out += '>';
        else if (entity == "quot") out += '"';
        else if (entity == "apos") out += '\'';
        else if (entity.size() > 1 && entity[0] == '#') {
            const bool hex = entity[1] == 'x' || entity[1] == 'X';
            const std::string digits(entity.substr(hex ? 2 : 1));
            char* stop = nullptr;
            const unsigned long cp = std::strtoul(digits.c_str(), &stop, hex ? 16 : 10);
            if (digits.empty() || *stop != '\0') {
                out += text[i++];
                continue;
            }
            append_utf8(out, cp);
        } else {
            out += text[i++];
            continue;
        }
        i = end + 1;
    }
    return out;
}

std::string escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            default: out += c;
        }
    }
    return out;
}

std::vector<std::string> all(std::string_view doc, std::string_view tag) {
    std::vector<std::string> out;
    const std::string open = "<" + std::string(tag);
    const std::string close = "</" + std::string(tag) + ">";
    std::size_t pos = 0;
    while ((pos = doc.find(open, pos)) != std::string_view::npos) {
        const std::size_t after = pos + open.size();
        if (after >= doc.size()) break;
        const char next = doc[after];
        if (next != '>' && next != ' ' && next != '/' && next != '\t' && next != '\n' && next != '\r') {
            pos = after;  // a longer name that starts the same (<Key> vs <KeyCount>)
            continue;
        }
        const auto gt = doc.find('>', after);
        if (gt == std::string_view::npos) break;
        if (doc[gt - 1] == '/') {
            out.emplace_back();
            pos = gt + 1;
            continue;
        }
        const auto end = doc.find(close, gt + 1);
        if (end == std::string_view::npos) break;
        out.push_back(unescape(doc.substr(gt + 1, end - gt - 1)));
        pos = end + close.size();
    }
    return out;
}

std::optional<std::string> first(std::string_view doc, std::string_view tag) {
    auto values = all(doc, tag);
    if (values.empty()) return std::nullopt;
    return std::move(values.front());
}

}  // namespace photoshare::blob::xml
