// Static assets (from memory) and photo variants (from the media store), with validators
// so that browsers and caches revalidate cheaply, and long lifetimes where the URL changes
// whenever the content does.
#include "app/app.hpp"
#include "app/responses.hpp"


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

asio::awaitable<http::Response> static_asset(App& app, http::Request& req) {
    const auto* asset = app.views.asset(req.param("path"));
    if (!asset) throw http::HttpError(404, "not_found", "There is nothing at this address.");
    // Versioned URLs (?v=hash) never change; unversioned ones must be revalidated.
    const std::string cache = req.query.starts_with("v=") ? "public, max-age=31536000, immutable" : "no-cache";
    if (etag_matches(req, asset->etag)) co_return not_modified(asset->etag, cache);
    http::Response res;
    res.content_type = asset->content_type;
    res.shared_body = asset->body;
    res.set("ETag", asset->etag);
    res.set("Cache-Control", cache);
    co_return res;
}

asio::awaitable<http::Response> media(App& app, http::Request& req) {
    const std::string key(req.param("key"));
    if (!blob::valid_key(key)) throw http::HttpError(404, "not_found", "There is no such photo.");
    auto path = app.blobs->local_path(key);
    if (!path) throw http::HttpError(404, "not_found", "There is no such photo.");
    // Keys are random and a photo never changes, so the key is a perfect validator.
    const std::string etag = "\"" + key + "\"";
    const std::string cache = "public, max-age=31536000, immutable";
    if (etag_matches(req, etag)) co_return not_modified(etag, cache);
    // A missing file is answered 404 by the server when it opens it.
    http::Response res;
    res.content_type = "image/jpeg";
    res.file_path = path->string();
    res.set("ETag", etag);
    res.set("Cache-Control", cache);
    co_return res;
}

}  // namespace

void add_media_routes(App& app, http::Router& router) {
    using http::Method;
    auto route = [&app](App::AppHandler fn) { return app.ops_route(fn); };
    router.add(Method::get, "/static/{path...}", route(static_asset));
    router.add(Method::get, "/media/{key}", route(media));
    router.add(Method::get, "/favicon.ico", route([](App& a, http::Request& r) {
                   r.params = {{"path", "favicon.svg"}};
                   return static_asset(a, r);
               }));
}

}  // namespace photoshare::app
