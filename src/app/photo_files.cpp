#include "app/photo_files.hpp"

#include <algorithm>

namespace photoshare::app {

namespace {
constexpr std::string_view kDisplay = "_d";
constexpr std::string_view kThumbnail = "_t";
constexpr std::string_view kJpeg = ".jpg";
}  // namespace

std::string display_key(const std::string& photo_id) { return photo_id + std::string(kDisplay) + std::string(kJpeg); }
std::string thumbnail_key(const std::string& photo_id) { return photo_id + std::string(kThumbnail) + std::string(kJpeg); }
std::string variant_key(const std::string& photo_id, int width) {
    return photo_id + "_" + std::to_string(width) + std::string(kJpeg);
}

std::vector<std::string> photo_keys(const std::string& photo_id, const std::vector<int>& variant_widths) {
    std::vector<std::string> keys{display_key(photo_id), thumbnail_key(photo_id)};
    for (const int width : variant_widths) keys.push_back(variant_key(photo_id, width));
    return keys;
}

std::optional<std::string> photo_of_key(std::string_view key) {
    if (!key.ends_with(kJpeg)) return std::nullopt;
    key.remove_suffix(kJpeg.size());
    const auto underscore = key.rfind('_');
    if (underscore == std::string_view::npos || underscore == 0) return std::nullopt;
    const std::string_view which = key.substr(underscore);
    const bool width = which.size() > 1 && which.size() <= 6 && which[1] != '0' &&
                       std::all_of(which.begin() + 1, which.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (which != kDisplay && which != kThumbnail && !width) return std::nullopt;
    return std::string(key.substr(0, underscore));
}

std::vector<VariantFile> variants(const store::Photo& photo) {
    std::vector<VariantFile> files{{photo.width, display_key(photo.id)}, {photo.thumb_width, thumbnail_key(photo.id)}};
    for (const int width : photo.variant_widths) files.push_back({width, variant_key(photo.id, width)});
    // Stable: of a thumbnail as wide as the display variant (a small photo), the display stays.
    std::stable_sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.width < b.width; });
    files.erase(std::unique(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.width == b.width; }), files.end());
    return files;
}

std::string srcset(const store::Photo& photo, const MediaUrls& urls, int max_width) {
    std::string out;
    for (const auto& file : variants(photo)) {
        if (file.width > max_width && !out.empty()) break;
        out += (out.empty() ? "" : ", ") + urls.url(file.key) + " " + std::to_string(file.width) + "w";
    }
    return out;
}

}  // namespace photoshare::app
