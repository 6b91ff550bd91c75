#include "app/media_urls.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

namespace photoshare::app {

namespace {
std::string origin_of(const std::string& url) {
    auto scheme_end = url.find("://");
    if (scheme_end == std::string::npos) return {};
    auto path = url.find_first_of("/?#", scheme_end + 3);
    return url.substr(0, path);
}
}  // namespace

MediaUrls::MediaUrls(blob::Store& store, const std::string& serve, std::string public_base, std::chrono::seconds presign_expiry)
    : store_(store), mode_(Mode::server), public_base_(std::move(public_base)), expiry_(presign_expiry) {
    while (!public_base_.empty() && public_base_.back() == '/') public_base_.pop_back();
    const bool on_disk = store.local_path("probe").has_value();
    if (serve == "proxy") {
        mode_ = Mode::server;
    } else if (serve == "public") {
        if (public_base_.empty()) throw std::invalid_argument("storage.serve = \"public\" needs storage.public_url");
        mode_ = Mode::public_base;
        image_origin_ = origin_of(public_base_);
    } else if (serve == "presigned" || (serve == "auto" && !on_disk)) {
        if (on_disk) throw std::invalid_argument("storage.serve = \"presigned\" needs an object store (s3://)");
        mode_ = Mode::presigned;
        image_origin_ = store.url_origin();
    } else if (serve != "auto") {
        throw std::invalid_argument("storage.serve must be auto, proxy, presigned or public");
    }
}

std::string MediaUrls::url(const std::string& key) const {
    switch (mode_) {
        case Mode::public_base: return public_base_ + "/" + key;
        case Mode::presigned:
            try {
                if (auto u = store_.presigned_url(key, expiry_)) return *u;
            } catch (const std::exception& e) {
                // No credentials to sign with right now: /media/ redirects once they are back.
                spdlog::warn("cannot presign {}: {}", key, e.what());
            }
            [[fallthrough]];
        case Mode::server: break;
    }
    return "/media/" + key;
}

std::optional<std::chrono::seconds> MediaUrls::lifetime() const {
    if (mode_ == Mode::presigned) return expiry_;
    return std::nullopt;
}

}  // namespace photoshare::app
