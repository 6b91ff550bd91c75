// Where pages and the API point for a photo's files. With a disk store the server sends
// them itself (/media/KEY). With an object store (S3) there are three ways, chosen by
// storage.serve: presigned URLs straight to the store (the seed's final choice), a public
// or CDN base URL (its CloudFront option), or /media/KEY streamed through the server.
#pragma once

#include "blob/blob.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace photoshare::app {

class MediaUrls {
public:
    enum class Mode { server, presigned, public_base };

    // serve: "auto" (server for disk stores, presigned for object stores), "proxy",
    // "presigned" or "public". Throws std::invalid_argument for a combination that cannot
    // work (presigned on a disk store, public without a base URL).
    MediaUrls(blob::Store& store, const std::string& serve, std::string public_base, std::chrono::seconds presign_expiry);

    std::string url(const std::string& key) const;
    Mode mode() const { return mode_; }
    // How long a URL from url() stays usable; nullopt: forever. Pages that embed URLs must
    // be rendered again well before this.
    std::optional<std::chrono::seconds> lifetime() const;
    // The origin (scheme://host[:port]) images are loaded from besides our own, for the
    // Content-Security-Policy; empty when there is none.
    const std::string& image_origin() const { return image_origin_; }

private:
    blob::Store& store_;
    Mode mode_;
    std::string public_base_;
    std::chrono::seconds expiry_;
    std::string image_origin_;
};

}  // namespace photoshare::app
