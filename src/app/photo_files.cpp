#include "app/photo_files.hpp"

#include "auth/tokens.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace photoshare::app {

namespace {

constexpr std::array<std::string_view, 2> kFurther{"avif", "webp"};  // in the order pages offer them

std::string key_of(const std::string& photo_id, std::string_view which, std::string_view ext) {
    return photo_id + "_" + std::string(which) + "." + std::string(ext);
}

bool known_ext(std::string_view ext) {
    return ext == kJpeg || std::find(kFurther.begin(), kFurther.end(), ext) != kFurther.end();
}

// What image::Processed::format names, and the extension of its original.
struct OriginalFormat {
    std::string_view format, ext;
};
constexpr std::array<OriginalFormat, 7> kOriginals{{
    {"jpeg", "jpg"}, {"png", "png"}, {"gif", "gif"}, {"webp", "webp"}, {"heic", "heic"}, {"avif", "avif"}, {"heif", "heif"},
}};
constexpr std::size_t kSecretDigits = 32;

bool hex_digits(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// "o-SECRET" or "f-SECRET" (the part of a private key after the photo id's '_').
bool private_part(std::string_view which, char kind) {
    return which.size() == 2 + kSecretDigits && which[0] == kind && which[1] == '-' && hex_digits(which.substr(2));
}

}  // namespace

std::string display_key(const std::string& photo_id, std::string_view ext) { return key_of(photo_id, "d", ext); }
std::string thumbnail_key(const std::string& photo_id, std::string_view ext) { return key_of(photo_id, "t", ext); }
std::string variant_key(const std::string& photo_id, int width, std::string_view ext) {
    return key_of(photo_id, std::to_string(width), ext);
}

std::vector<std::string> formats_of(std::string_view formats) {
    std::vector<std::string> out;
    for (const auto format : kFurther)
        for (std::size_t pos = 0; pos < formats.size();) {
            const auto end = std::min(formats.find(' ', pos), formats.size());
            if (formats.substr(pos, end - pos) == format) {
                out.emplace_back(format);
                break;
            }
            pos = end + 1;
        }
    return out;
}

std::string content_type_of(std::string_view ext) {
    if (ext == kJpeg) return "image/jpeg";
    return "image/" + std::string(ext);
}

std::string content_type_of_key(std::string_view key) {
    const auto dot = key.rfind('.');
    const auto ext = dot == std::string_view::npos ? std::string_view{} : key.substr(dot + 1);
    return known_ext(ext) ? content_type_of(ext) : content_type_of(kJpeg);
}

std::string original_key(const std::string& photo_id, std::string_view original_format) {
    const auto* known = std::find_if(kOriginals.begin(), kOriginals.end(), [&](const auto& o) { return o.format == original_format; });
    if (known == kOriginals.end()) throw std::invalid_argument("photo_files: no such original format: " + std::string(original_format));
    return key_of(photo_id, "o-" + auth::random_hex(kSecretDigits / 2), known->ext);
}

std::string full_size_key(std::string_view original) {
    const auto at = original.rfind("_o-");
    if (at == std::string_view::npos || original.size() < at + 3 + kSecretDigits) return {};
    return std::string(original.substr(0, at)) + "_f-" + std::string(original.substr(at + 3, kSecretDigits)) + "." + std::string(kJpeg);
}

bool private_key(std::string_view key) {
    const auto dot = key.rfind('.');
    const auto underscore = key.rfind('_', dot);
    if (dot == std::string_view::npos || underscore == std::string_view::npos) return false;
    const auto which = key.substr(underscore + 1, dot - underscore - 1);
    return private_part(which, 'o') || private_part(which, 'f');
}

std::string original_type(std::string_view original_format) { return "image/" + std::string(original_format); }

std::string media_cache_control(std::chrono::seconds max_age) {
    return fmt::format("public, max-age={}, immutable", max_age.count());
}

std::vector<std::string> private_keys(std::string_view original) {
    if (original.empty()) return {};
    return {std::string(original), full_size_key(original)};
}

std::vector<std::string> photo_keys(const std::string& photo_id, const std::vector<int>& variant_widths, std::string_view formats) {
    std::vector<std::string> exts{std::string(kJpeg)};
    for (auto& format : formats_of(formats)) exts.push_back(std::move(format));
    std::vector<std::string> keys;
    for (const auto& ext : exts) {
        keys.push_back(display_key(photo_id, ext));
        keys.push_back(thumbnail_key(photo_id, ext));
        for (const int width : variant_widths) keys.push_back(variant_key(photo_id, width, ext));
    }
    return keys;
}

std::optional<std::string> photo_of_key(std::string_view key) {
    const auto dot = key.rfind('.');
    if (dot == std::string_view::npos) return std::nullopt;
    const auto ext = key.substr(dot + 1);
    key = key.substr(0, dot);
    const auto underscore = key.rfind('_');
    if (underscore == std::string_view::npos || underscore == 0) return std::nullopt;
    const std::string_view which = key.substr(underscore + 1);
    if (private_part(which, 'o'))
        return std::any_of(kOriginals.begin(), kOriginals.end(), [&](const auto& o) { return o.ext == ext; })
                   ? std::optional<std::string>(key.substr(0, underscore))
                   : std::nullopt;
    if (private_part(which, 'f')) return ext == kJpeg ? std::optional<std::string>(key.substr(0, underscore)) : std::nullopt;
    if (!known_ext(ext)) return std::nullopt;
    const bool width = !which.empty() && which.size() <= 5 && which[0] != '0' &&
                       std::all_of(which.begin(), which.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (which != "d" && which != "t" && !width) return std::nullopt;
    return std::string(key.substr(0, underscore));
}

std::vector<VariantFile> all_files(const store::Photo& photo, std::string_view ext) {
    std::vector<VariantFile> files{{photo.width, display_key(photo.id, ext)}, {photo.thumb_width, thumbnail_key(photo.id, ext)}};
    for (const int width : photo.variant_widths) files.push_back({width, variant_key(photo.id, width, ext)});
    return files;
}

std::vector<VariantFile> variants(const store::Photo& photo, std::string_view ext) {
    auto files = all_files(photo, ext);
    // Stable: of a thumbnail as wide as the display variant (a small photo), the display stays.
    std::stable_sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.width < b.width; });
    files.erase(std::unique(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.width == b.width; }), files.end());
    return files;
}

std::string srcset(const store::Photo& photo, const MediaUrls& urls, int max_width, std::string_view ext) {
    std::string out;
    for (const auto& file : variants(photo, ext)) {
        if (file.width > max_width && !out.empty()) break;
        out += (out.empty() ? "" : ", ") + urls.url(file.key) + " " + std::to_string(file.width) + "w";
    }
    return out;
}

Data picture_sources(const store::Photo& photo, const MediaUrls& urls, int max_width) {
    Data sources{Data::type::list};
    for (const auto& format : formats_of(photo.formats)) {
        Data source;
        source.set("type", content_type_of(format));
        source.set("srcset", srcset(photo, urls, max_width, format));
        sources.push_back(source);
    }
    return sources;
}

}  // namespace photoshare::app
