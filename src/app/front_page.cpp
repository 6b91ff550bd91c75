#include "app/front_page.hpp"

#include "app/grid.hpp"
#include "app/responses.hpp"
#include "app/sessions.hpp"

#include "codec/gzip.hpp"
#include "http/content_coding.hpp"

#include <algorithm>
#include <cstring>

namespace photoshare::app {

namespace {

// The values a front page differs by from one request to the next.
enum Hole { kCsrf = 0, kRequestId = 1, kFeedSource = 2, kUsername = 3, kFingerprint = 4, kHoles };
// What stands for each hole while the page is rendered. They survive HTML escaping and never
// occur in templates or user data (control characters are refused in every field shown).
const char* const kMarkers[kHoles] = {"\x1f" "csrf" "\x1f", "\x1f" "rid" "\x1f", "\x1f" "src" "\x1f",
                                      "\x1f" "user" "\x1f", "\x1f" "fp" "\x1f"};

// A page rendered once with holes: text[i] is followed by the value of hole[i] (none: -1).
struct PageWithHoles {
    std::vector<std::string> text;
    std::vector<int> hole;
    codec::SplicedGzip gzipped;  // the same pieces, compressed

    static PageWithHoles split(const std::string& page) {
        PageWithHoles out;
        std::size_t pos = 0;
        for (;;) {
            std::size_t best = std::string::npos;
            int which = -1;
            for (int h = 0; h < kHoles; ++h) {
                auto at = page.find(kMarkers[h], pos);
                if (at < best) best = at, which = h;
            }
            if (which < 0) {
                out.text.push_back(page.substr(pos));
                out.hole.push_back(-1);
                out.gzipped = codec::SplicedGzip(out.text, 6);  // once per rendering
                return out;
            }
            out.text.push_back(page.substr(pos, best - pos));
            out.hole.push_back(which);
            pos = best + std::strlen(kMarkers[which]);
        }
    }

    // Every value must already be escaped for HTML, as the template would have escaped it.
    std::string fill(const std::string_view (&values)[kHoles], bool gzip) const {
        if (gzip) {
            std::vector<std::string_view> in_order;
            in_order.reserve(hole.size());
            for (std::size_t i = 0; i + 1 < hole.size(); ++i) in_order.push_back(values[hole[i]]);
            return gzipped.fill(in_order);
        }
        std::size_t size = 0;
        for (std::size_t i = 0; i < text.size(); ++i) size += text[i].size() + (hole[i] >= 0 ? values[hole[i]].size() : 0);
        std::string out;
        out.reserve(size);
        for (std::size_t i = 0; i < text.size(); ++i) {
            out += text[i];
            if (hole[i] >= 0) out += values[hole[i]];
        }
        return out;
    }
};

constexpr const char* kTitle = "Latest photos";

}  // namespace

struct FrontPages::Rendered {
    std::chrono::steady_clock::time_point made;  // pages with expiring (presigned) URLs are made again
    std::string grid_anonymous;
    std::string grid_member;
    PageWithHoles anonymous;
    PageWithHoles member;
};

std::string FrontPages::home(const std::string& grid, bool member, const std::string& csrf, const std::string& username) const {
    Data d;
    if (member) {
        Data user;
        user.set("username", username);
        d.set("user", user);
    }
    d.set("csrf_token", csrf);
    d.set("grid", grid);
    d.set("max_upload_bytes", std::to_string(max_upload_bytes_));
    d.set("max_file_bytes", std::to_string(max_file_bytes_));
    d.set("max_file_size", http::human_size(max_file_bytes_));
    d.set("max_upload_size", http::human_size(max_upload_bytes_));
    return layout_.render("home", d);
}

std::shared_ptr<const FrontPages::Rendered> FrontPages::make(const FeedPage& page) const {
    auto r = std::make_shared<Rendered>();
    r->made = std::chrono::steady_clock::now();
    r->grid_anonymous = layout_.render("grid", grid_data(page, false, urls_, {}));
    r->grid_member = layout_.render("grid", grid_data(page, true, urls_, {}));
    http::Request marked_request;
    marked_request.request_id = kMarkers[kRequestId];
    // The anonymous front page is the same for every visitor but for three values.
    PageFrame frame;
    frame.csrf_token = kMarkers[kCsrf];
    frame.feed_source = kMarkers[kFeedSource];
    r->anonymous = PageWithHoles::split(layout_.page(marked_request, frame, kTitle, home(r->grid_anonymous, false, kMarkers[kCsrf], "")));
    // A member's differs from another's by their name, session and token too.
    store::Session marked;
    marked.username = kMarkers[kUsername];
    PageFrame member_frame{marked, kMarkers[kCsrf], kMarkers[kFeedSource], "", "", kMarkers[kFingerprint]};
    r->member = PageWithHoles::split(
        layout_.page(marked_request, member_frame, kTitle, home(r->grid_member, true, kMarkers[kCsrf], kMarkers[kUsername])));
    return r;
}

std::shared_ptr<const FrontPages::Rendered> FrontPages::rendered(const std::shared_ptr<const FeedPage>& page) {
    const auto lifetime = urls_.lifetime();
    {
        std::lock_guard lock(mutex_);
        auto it = renderings_.find(page.get());
        if (it != renderings_.end() && it->second.page.lock() == page) {
            const auto& r = it->second.rendered;
            if (!lifetime || std::chrono::steady_clock::now() - r->made <= *lifetime / 2) return r;
        }
    }
    auto r = make(*page);  // outside the lock: two requests may both render, and one wins
    std::lock_guard lock(mutex_);
    std::erase_if(renderings_, [](const auto& entry) { return entry.second.page.expired(); });
    renderings_[page.get()] = Entry{page, r};
    return r;
}

std::string FrontPages::render(const http::Request& req, const Visitor& visitor, const std::shared_ptr<const FeedPage>& page,
                               FeedSource source, bool gzip) {
    const auto r = rendered(page);
    if (visitor.sessions_unavailable || visitor.flash) {
        // Rare (an outage, or the page after a form), so rendered for the request, with its notice.
        PageFrame frame = visitor_frame(visitor);
        frame.feed_source = footer_text(source);
        const bool member = visitor.session.has_value();
        auto html = layout_.page(req, frame, kTitle,
                                 home(member ? r->grid_member : r->grid_anonymous, member, visitor.csrf_token,
                                      member ? visitor.session->username : ""));
        return gzip ? codec::gzip(html, 1) : html;
    }
    const std::string request_id = html_escape(req.request_id);  // plain tokens, but this is HTML
    const std::string_view feed_source = footer_text(source);    // text of ours, nothing to escape
    if (!visitor.session) {
        // A visitor's token is one we made or a cookie that passed well_formed_token:
        // base64url only, nothing to escape.
        const std::string_view values[kHoles] = {visitor.csrf_token, request_id, feed_source, "", ""};
        return r->anonymous.fill(values, gzip);
    }
    // What comes from the session store is escaped, as the template escaped it; the
    // fingerprint is hex made here.
    const std::string csrf_token = html_escape(visitor.csrf_token);
    const std::string username = html_escape(visitor.session->username);
    const std::string fingerprint = Sessions::fingerprint(*visitor.session);
    const std::string_view values[kHoles] = {csrf_token, request_id, feed_source, username, fingerprint};
    return r->member.fill(values, gzip);
}

asio::awaitable<http::Response> FrontPage::operator()(Context& ctx) const {
    auto query = http::parse_urlencoded(ctx.req.query);
    auto view = co_await feed.page(parse_cursor(query), page_size, writes.seen(ctx.req));
    const bool gzip = compress && http::accepts_gzip(ctx.req.header("Accept-Encoding"));
    auto res = html_response(200, pages.render(ctx.req, ctx.visitor, view.page, view.source, gzip));
    res.set("Vary", "Accept-Encoding");
    if (gzip) res.set("Content-Encoding", "gzip");
    co_return res;
}

}  // namespace photoshare::app
