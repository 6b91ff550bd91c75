#include "app/downloads.hpp"

#include "app/media.hpp"
#include "app/photo_files.hpp"
#include "codec/percent.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace photoshare::app {

namespace {

// Downloads are personal: no shared cache keeps them, and a browser asks again each time.
constexpr const char* kPrivate = "private, no-cache";

asio::awaitable<store::Photo> photo_of(const DownloadServices& s, const Context& ctx) {
    const std::string id(ctx.req.param("id"));
    auto photo = co_await s.db.call("find_photo", [&](store::Repository& repo) { return repo.find_photo(id); });
    if (!photo) throw http::HttpError(404, "not_found", "There is no such photo. It may have been deleted.");
    co_return std::move(*photo);
}

// Whether the full size is the display variant: no original, or one no larger.
bool display_is_full_size(const store::Photo& photo) {
    const auto& o = photo.original;
    return o.key.empty() || (o.width <= photo.width && o.height <= photo.height);
}

// The name without its extension ("IMG_2041" of "IMG_2041.HEIC"), or photo-ID.
std::string stem_of(const store::Photo& photo) {
    const auto& name = photo.original.name;
    const auto dot = name.rfind('.');
    const auto stem = dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
    return stem.empty() ? "photo-" + photo.id : stem;
}

// The file `key` of the store, whole, as an attachment.
asio::awaitable<http::Response> send(const DownloadServices& s, const std::string& key, const std::string& type,
                                     const std::string& name) {
    http::Response res;
    if (auto path = s.blobs.local_path(key)) {
        res.file_path = path->string();  // a missing file is answered 404 when it is opened
        res.ranges = true;
    } else {
        res = co_await stream_object(s.blobs, *s.stream_workers, nullptr, key);
    }
    res.content_type = type;
    res.set("Content-Disposition", attachment(name));
    res.set("Cache-Control", kPrivate);
    co_return res;
}

}  // namespace

OfferedDownloads offered_downloads(const store::Photo& photo, bool owner, bool everyone) {
    OfferedDownloads out;
    out.full = owner || everyone;
    const bool display = display_is_full_size(photo);
    out.full_width = display ? photo.width : photo.original.width;
    out.full_height = display ? photo.height : photo.original.height;
    out.original = owner && !photo.original.key.empty();
    return out;
}

boost::json::object downloads_json(const store::Photo& photo, const OfferedDownloads& offered) {
    boost::json::object out;
    if (offered.full)
        out["full"] = boost::json::object{
            {"url", "/photos/" + photo.id + "/full"}, {"width", offered.full_width}, {"height", offered.full_height}};
    if (offered.original)
        out["original"] = boost::json::object{{"url", "/photos/" + photo.id + "/original"},
                                              {"type", photo.original.type},
                                              {"name", photo.original.name},
                                              {"bytes", photo.original.bytes}};
    return out;
}

std::string attachment(std::string_view name) {
    if (name.empty()) name = "photo";
    std::string ascii;
    for (const char ch : name) {
        const auto c = static_cast<unsigned char>(ch);
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                           std::string_view(" !#$&+-.^_`|~").find(ch) != std::string_view::npos;
        if (plain)
            ascii += ch;
        else if ((c & 0xC0) != 0x80)  // one '_' a character, not a byte
            ascii += '_';
    }
    // RFC 3986's unreserved characters are all attr-chars of RFC 8187, so its encoding is one.
    return fmt::format("attachment; filename=\"{}\"; filename*=UTF-8''{}", ascii, codec::percent_encode(name));
}

asio::awaitable<http::Response> OriginalDownload::operator()(Context& ctx) const {
    const auto photo = co_await photo_of(services, ctx);
    if (!ctx.visitor.is(photo.user_id)) throw http::HttpError(403, "not_yours", "Only its owner can download the original of a photo.");
    if (photo.original.key.empty())
        throw http::HttpError(404, "no_original", "The original of this photo was not kept: download it at full size instead.");
    co_return co_await send(services, photo.original.key, photo.original.type,
                            photo.original.name.empty() ? "photo-" + photo.id : photo.original.name);
}

asio::awaitable<http::Response> FullSizeDownload::operator()(Context& ctx) const {
    const auto photo = co_await photo_of(services, ctx);
    if (!everyone && !ctx.visitor.is(photo.user_id))
        throw http::HttpError(403, "not_yours", "Only its owner can download this photo at full size.");
    const std::string name = stem_of(photo) + ".jpg";
    const auto& original = photo.original;
    if (display_is_full_size(photo))
        co_return co_await send(services, display_key(photo.id), "image/jpeg", name);

    const std::string key = full_size_key(original.key);
    const bool made = co_await services.io_workers.call([&] { return services.blobs.exists(key); });
    if (!made) {
        const auto bytes = co_await services.io_workers.call([&] { return services.blobs.get(original.key); });
        if (!bytes) throw http::HttpError(404, "no_original", "The original of this photo is missing, so it cannot be made at full size.");
        const auto jpeg = co_await services.image_workers.call([&] { return image::full_size(*bytes, limits); });
        co_await services.io_workers.run([&] { services.blobs.put(key, jpeg.data, blob::ObjectInfo{"image/jpeg", "private, no-store"}); });
        // Deleted meanwhile: its delete has already removed the files it knew of.
        auto still = co_await services.db.call("find_photo", [&](store::Repository& repo) { return repo.find_photo(photo.id); });
        if (!still) {
            co_await services.io_workers.run([&] { services.blobs.remove(key); });
            throw http::HttpError(404, "not_found", "There is no such photo. It may have been deleted.");
        }
        spdlog::info("photo {}: full-size JPEG made ({}x{}, {} bytes)", photo.id, jpeg.width, jpeg.height, jpeg.data.size());
    }
    co_return co_await send(services, key, "image/jpeg", name);
}

}  // namespace photoshare::app
