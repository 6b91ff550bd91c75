#include "app/media.hpp"

#include "app/photo_files.hpp"
#include "app/responses.hpp"
#include "http/pipe.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <utility>


namespace photoshare::app {

namespace {

bool etag_matches(const http::Request& req, std::string_view etag) {
    auto inm = req.header("If-None-Match");
    if (inm.empty()) return false;
    if (inm == "*") return true;
    return inm.find(etag) != std::string_view::npos;
}

http::Response not_modified(std::string etag, std::string cache_control) {
    http::Response res(304, "", "");
    res.set("ETag", std::move(etag));
    res.set("Cache-Control", std::move(cache_control));
    return res;
}

}  // namespace

asio::awaitable<http::Response> StaticAsset::operator()(Context& ctx) const {
    const auto& req = ctx.req;
    const auto* asset = views.asset(fixed_path.empty() ? req.param("path") : std::string_view(fixed_path));
    if (!asset) throw http::HttpError(404, "not_found", "There is nothing at this address.");
    // Versioned URLs (?v=hash) never change; unversioned ones must be revalidated.
    const std::string cache = req.query.starts_with("v=") ? "public, max-age=31536000, immutable" : "no-cache";
    if (etag_matches(req, asset->etag)) co_return not_modified(asset->etag, cache);
    http::Response res;
    res.content_type = asset->content_type;
    res.shared_body = asset->body;
    res.gzipped = asset->gzipped;
    res.brotli = asset->brotli;
    res.set("ETag", asset->etag);
    res.set("Cache-Control", cache);
    co_return res;
}

namespace {

// A photo from an object store, sent on as it arrives. The store is read on a worker thread
// (its client blocks) into a small pipe that the response drains, so neither a large object
// nor a slow client makes the server hold more than a few chunks.
class ObjectBody final : public http::BodyStream {
public:
    ObjectBody(std::shared_ptr<http::ChunkPipe> pipe, std::string first) : pipe_(std::move(pipe)), first_(std::move(first)) {}
    ~ObjectBody() override { pipe_->abandon(); }  // the client went away: stop reading the store
    asio::awaitable<std::string> next() override {
        if (!first_.empty()) co_return std::exchange(first_, std::string());
        co_return co_await pipe_->next();
    }

private:
    std::shared_ptr<http::ChunkPipe> pipe_;
    std::string first_;
};

// A photo proxied lately, from memory: no store, no worker.
http::Response cached_object(std::shared_ptr<const std::string> bytes, std::string etag, std::string cache) {
    http::Response res;
    res.content_type = "image/jpeg";  // only JPEG variants are kept in memory (see proxy())
    res.shared_body = std::move(bytes);
    res.ranges = true;
    res.set("ETag", std::move(etag));
    res.set("Cache-Control", std::move(cache));
    return res;
}

}  // namespace

asio::awaitable<http::Response> stream_object(blob::Store& blobs, http::Workers& workers, MediaCache* cache, const std::string& key) {
    auto pipe = std::make_shared<http::ChunkPipe>(4);
    auto meta = std::make_shared<blob::ObjectMeta>();
    workers.post([&blobs, cache, key, pipe, meta] {
        try {
            // A photo small enough for the cache is also collected; it is kept only when it
            // arrived whole (a client that went away stops the read part-way).
            std::string copy;
            bool collect = false;
            bool first = true;
            bool sent = true;
            blobs.stream(
                key,
                [&](std::string_view chunk) {
                    if (first) {
                        first = false;
                        collect = cache && cache->fits(meta->size) &&
                                  (meta->content_type.empty() || meta->content_type == "image/jpeg");
                        if (collect) copy.reserve(meta->size);
                    }
                    if (collect) copy.append(chunk);
                    sent = pipe->push(std::string(chunk));
                    return sent;
                },
                meta.get());
            if (sent && collect && copy.size() == meta->size) {
                cache->put(key, std::make_shared<const std::string>(std::move(copy)));
            }
            pipe->finish();
        } catch (...) {
            pipe->fail(std::current_exception());
        }
    });
    // The first piece (or the end, or the error) before the status line: a missing object is
    // still a clean 404 and the length is known.
    std::string first;
    try {
        first = co_await pipe->next();
    } catch (const blob::NotFound&) {
        throw http::HttpError(404, "not_found", "There is no such photo.");
    }
    http::Response res;
    res.content_type = meta->content_type.empty() ? "image/jpeg" : meta->content_type;
    res.stream_length = meta->size;
    res.stream = std::make_shared<ObjectBody>(pipe, std::move(first));
    co_return res;
}

asio::awaitable<http::Response> MediaFile::operator()(Context& ctx) const {
    const auto& req = ctx.req;
    const std::string key(req.param("key"));
    // An original or a full-size file is its owner's: only /photos/ID/original and /full
    // send them, after asking who wants them.
    if (!blob::valid_key(key) || private_key(key)) throw http::HttpError(404, "not_found", "There is no such photo.");
    // Keys are random and a photo never changes, so the key is a perfect validator. A
    // revalidation is answered 304 only while the file exists: once the photo is deleted, a
    // cache that asks again is told 404 and lets it go.
    const std::string etag = "\"" + key + "\"";
    const bool revalidation = etag_matches(req, etag);
    if (auto path = blobs.local_path(key)) {
        if (revalidation) {
            std::error_code ec;
            if (!std::filesystem::is_regular_file(*path, ec)) throw http::HttpError(404, "not_found", "There is no such photo.");
            co_return not_modified(etag, cache_control);
        }
        // A missing file is answered 404 by the server when it opens it.
        http::Response res;
        res.content_type = content_type_of_key(key);
        res.file_path = path->string();
        res.ranges = true;
        res.set("ETag", etag);
        res.set("Cache-Control", cache_control);
        co_return res;
    }
    if (urls.mode() != MediaUrls::Mode::server) {
        // Pages link to the store directly; this address still works, by redirect.
        http::Response res(302, "text/plain; charset=utf-8", "");
        res.set("Location", urls.url(key));
        const auto lifetime = urls.lifetime();
        res.set("Cache-Control", lifetime ? fmt::format("private, max-age={}", lifetime->count() / 2) : "public, max-age=86400");
        co_return res;
    }
    auto bytes = cache ? cache->find(key) : nullptr;
    if (revalidation) {
        bool exists = bytes != nullptr;
        if (!exists) exists = co_await stream_workers->call([&] { return blobs.exists(key); });
        if (!exists) throw http::HttpError(404, "not_found", "There is no such photo.");
        co_return not_modified(etag, cache_control);
    }
    if (bytes) co_return cached_object(std::move(bytes), etag, cache_control);
    auto res = co_await stream_object(blobs, *stream_workers, cache, key);
    res.set("ETag", etag);
    res.set("Cache-Control", cache_control);
    co_return res;
}

}  // namespace photoshare::app
