// Static assets (from memory) and photo variants (from the media store), with validators
// so that browsers and caches revalidate cheaply, and long lifetimes where the URL changes
// whenever the content does.
#pragma once

#include "app/media_cache.hpp"
#include "app/media_urls.hpp"
#include "app/routes.hpp"
#include "app/views.hpp"
#include "blob/blob.hpp"
#include "http/runtime.hpp"

#include <string>

namespace photoshare::app {

// GET /static/{path...}, and GET /favicon.ico as `fixed_path`.
struct StaticAsset {
    const Views& views;
    std::string fixed_path;  // empty: the route's {path}
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

// GET /media/{key}: a file of the disk store, a redirect to the object store, or the object
// streamed through this server (storage.serve = proxy) and kept in `cache` if it is small.
struct MediaFile {
    blob::Store& blobs;
    const MediaUrls& urls;
    MediaCache* cache;              // proxy mode only
    http::Workers* stream_workers;  // proxy mode only: threads that read the object store
    std::string cache_control;      // media_cache_control()
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

// The object `key` of a store without local files, sent on as it arrives (a thread of
// `workers` reads it into a small pipe), and kept in `cache` when it is a JPEG that fits
// (nullptr: never). Throws HttpError 404 when there is no such object.
asio::awaitable<http::Response> stream_object(blob::Store& blobs, http::Workers& workers, MediaCache* cache, const std::string& key);

}  // namespace photoshare::app
