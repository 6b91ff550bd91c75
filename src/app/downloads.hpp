// A photo's own files for download: the original as it was uploaded (its owner only: it
// carries the metadata, GPS and all, that the served variants have not), and the photo at
// its full resolution as a JPEG without metadata (its owner, or anyone when
// images.full_size_download = everyone). The full-size JPEG is made from the original on
// the first download and kept beside it (photo_files: full_size_key).
#pragma once

#include "app/database.hpp"
#include "app/routes.hpp"
#include "blob/blob.hpp"
#include "http/runtime.hpp"
#include "image/image.hpp"

#include <boost/json.hpp>

#include <string>

namespace photoshare::app {

struct DownloadServices {
    Database& db;
    blob::Store& blobs;
    http::Workers& io_workers;
    http::Workers& image_workers;
    http::Workers* stream_workers;  // an object store's reader threads; null for a disk store
};

// GET /photos/{id}/original
struct OriginalDownload {
    DownloadServices services;
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

// GET /photos/{id}/full
struct FullSizeDownload {
    DownloadServices services;
    image::Limits limits;  // max_pixels and jpeg_quality of the full-size JPEG
    bool everyone = false;  // not only the owner may download it
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

// What the photo's page and the API offer a viewer to download.
struct OfferedDownloads {
    bool full = false;  // /photos/ID/full
    int full_width = 0;
    int full_height = 0;
    bool original = false;  // /photos/ID/original
};
OfferedDownloads offered_downloads(const store::Photo& photo, bool owner, bool everyone);
// {"full": {"url", "width", "height"}, "original": {"url", "type", "name", "bytes"}}, each
// only when offered.
boost::json::object downloads_json(const store::Photo& photo, const OfferedDownloads& offered);

// Content-Disposition for a download named `name` (the uploader's file name, any UTF-8):
// an ASCII filename for old clients and the exact one as RFC 8187 filename*.
std::string attachment(std::string_view name);

}  // namespace photoshare::app
