// The files of a photo and their names in the media store: the display variant (ID_d.jpg),
// the thumbnail (ID_t.jpg) and the further widths pages pick from (ID_WIDTH.jpg), and the
// same names in each further format made later (ID_d.avif, ID_640.webp...). Written by the
// upload pipeline and the image jobs, removed by a delete, checked by fsck; pages and the
// API name them.
#pragma once

#include "app/media_urls.hpp"
#include "app/views.hpp"
#include "store/repository.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace photoshare::app {

// File name extensions: "jpg", and the further formats "avif" and "webp".
inline constexpr std::string_view kJpeg = "jpg";
std::string display_key(const std::string& photo_id, std::string_view ext = kJpeg);
std::string thumbnail_key(const std::string& photo_id, std::string_view ext = kJpeg);
std::string variant_key(const std::string& photo_id, int width, std::string_view ext = kJpeg);
// The further formats a photo row lists ("avif webp"), known ones only, in that order.
std::vector<std::string> formats_of(std::string_view formats);
// "image/jpeg", "image/avif", "image/webp".
std::string content_type_of(std::string_view ext);
// The type of a stored file, by its name's extension (image/jpeg for any other).
std::string content_type_of_key(std::string_view key);
// The Cache-Control of every file of a photo: a file's bytes never change under its name
// (an edit would write new names), so caches need not revalidate it; a delete is what ends
// it, and max_age bounds how long caches keep a deleted photo.
std::string media_cache_control(std::chrono::seconds max_age);

// The private files of a photo, never served by /media/: the original as uploaded
// (ID_o-SECRET.EXT, with its metadata, for its owner) and the full-size JPEG made from it on
// the first download (ID_f-SECRET.jpg). SECRET is 32 random hex digits of the photo's own, so
// neither name follows from the public ones, even in a store that is public (serve = public).
std::string original_key(const std::string& photo_id, std::string_view original_format);
// The full-size file that goes with an original's key; empty for an empty key.
std::string full_size_key(std::string_view original_key);
bool private_key(std::string_view key);
// "jpeg" -> "image/jpeg", "heic" -> "image/heic"... (image::Processed::format).
std::string original_type(std::string_view original_format);

// The private files that go with an original's key: the original, and its full-size JPEG
// (which exists once someone downloaded it); none for an empty key. A delete removes them;
// fsck knows them as the photo's (neither is needed to show it).
std::vector<std::string> private_keys(std::string_view original_key);

// Every file the photo must have: display, thumbnail, then one per variant width; JPEG,
// then each further format.
std::vector<std::string> photo_keys(const std::string& photo_id, const std::vector<int>& variant_widths,
                                    std::string_view formats = {});
// The photo id a key of photo_keys() or a full-size key belongs to, or nullopt for any other
// name.
std::optional<std::string> photo_of_key(std::string_view key);

struct VariantFile {
    int width = 0;
    std::string key;
};
// Every file of the photo in one format with its width: display, thumbnail, further widths.
std::vector<VariantFile> all_files(const store::Photo& photo, std::string_view ext = kJpeg);
// The same narrowest first, one per width (a small photo's thumbnail is its display
// variant): what pages and the API offer.
std::vector<VariantFile> variants(const store::Photo& photo, std::string_view ext = kJpeg);

// variants() as a srcset ("URL 320w, URL 480w, ..."), narrowest first, those up to
// max_width (and the narrowest, whatever its width).
std::string srcset(const store::Photo& photo, const MediaUrls& urls, int max_width, std::string_view ext = kJpeg);

// The <source> elements of a <picture> of the photo, one per further format it has, best
// first: a list of {type, srcset} for the templates (grid.mustache, photo.mustache).
Data picture_sources(const store::Photo& photo, const MediaUrls& urls, int max_width);

}  // namespace photoshare::app
