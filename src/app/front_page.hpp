// The front page: the latest photos, paged, with the upload form for members.
//
// It is the page everyone sees, so it is rendered once per feed page and kind of visitor,
// not once per request: FrontPages keeps, for each FeedPage in use, the whole page rendered
// with holes where the per-request values go (the CSRF token, the request id, where the
// feed came from, and for a member their name and session fingerprint), and a request only
// joins the pieces around its values. Rendering every request cost a member's page about a
// quarter of its CPU (docs/PERFORMANCE.md). The pieces are also kept gzipped, so a browser's
// compressed page costs no compression per request either (codec::SplicedGzip).
#pragma once

#include "app/feed.hpp"
#include "app/layout.hpp"
#include "app/media_urls.hpp"
#include "app/read_your_writes.hpp"
#include "app/routes.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace photoshare::app {

class FrontPages {
public:
    FrontPages(const Layout& layout, const MediaUrls& urls, std::uint64_t max_upload_bytes, std::uint64_t max_file_bytes)
        : layout_(layout), urls_(urls), max_upload_bytes_(max_upload_bytes), max_file_bytes_(max_file_bytes) {}

    // The front page showing `page` to this visitor; gzipped when `gzip`.
    std::string render(const http::Request& req, const Visitor& visitor, const std::shared_ptr<const FeedPage>& page, FeedSource source,
                       bool gzip);

    struct Rendered;  // front_page.cpp

private:
    // The renderings of `page`, made on first use and again before embedded URLs expire.
    // Shared, not a reference: another request may replace them while this one uses them.
    std::shared_ptr<const Rendered> rendered(const std::shared_ptr<const FeedPage>& page);
    std::shared_ptr<const Rendered> make(const FeedPage& page) const;
    std::string home(const std::string& grid, bool member, const std::string& csrf, const std::string& username) const;

    const Layout& layout_;
    const MediaUrls& urls_;
    const std::uint64_t max_upload_bytes_;
    const std::uint64_t max_file_bytes_;

    struct Entry {
        std::weak_ptr<const FeedPage> page;  // the key's owner; expired: the feed let it go
        std::shared_ptr<const Rendered> rendered;
    };
    std::mutex mutex_;
    std::unordered_map<const FeedPage*, Entry> renderings_;
};

// GET /
struct FrontPage {
    Feed& feed;
    FrontPages& pages;
    const ReadYourWrites& writes;
    int page_size;
    bool compress;  // gzipped for browsers that take it (server.gzip_min_bytes > 0)
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

}  // namespace photoshare::app
