// The files of a photo and their names in the media store: the display variant (ID_d.jpg),
// the thumbnail (ID_t.jpg) and the further widths pages pick from (ID_WIDTH.jpg). Written
// by the upload pipeline, removed by a delete, checked by fsck; pages and the API name them.
#pragma once

#include "app/media_urls.hpp"
#include "store/repository.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace photoshare::app {

std::string display_key(const std::string& photo_id);
std::string thumbnail_key(const std::string& photo_id);
std::string variant_key(const std::string& photo_id, int width);
// Every file of the photo: display, thumbnail, then one per variant width.
std::vector<std::string> photo_keys(const std::string& photo_id, const std::vector<int>& variant_widths);
// The photo id a key of photo_keys() belongs to, or nullopt for any other name.
std::optional<std::string> photo_of_key(std::string_view key);

struct VariantFile {
    int width = 0;
    std::string key;
};
// The photo's JPEG variants, narrowest first, one per width (a small photo's thumbnail is its
// display variant).
std::vector<VariantFile> variants(const store::Photo& photo);

// variants() as a srcset ("URL 320w, URL 480w, ..."), narrowest first, those
// up to max_width (and the narrowest, whatever its width).
std::string srcset(const store::Photo& photo, const MediaUrls& urls, int max_width);

}  // namespace photoshare::app
