#include "app/grid.hpp"

#include "app/photo_files.hpp"
#include "app/responses.hpp"

#include <algorithm>

namespace photoshare::app {

namespace {

// The photos of the first row (up to five across on a wide screen) are not lazy-loaded: one
// of them is the largest thing on the page, and lazy loading would hold it back.
constexpr std::size_t kFirstRow = 5;

// A card (web/static/style.css: .grid, .card img) is one column of the page's width minus
// padding below 496 px, else at most 340 px wide, and 220 px high with the photo cropped to
// cover it: a wide photo needs more width than the card's to fill the height. Up to 640 px:
// a card needs more only on a screen of 2 or more device pixels per CSS pixel, where 640 is
// still sharp enough for a cropped preview and a third of the bytes of 1024 (bench/
// image_pipeline: 57 against 113 KB for a 12 MP photo).
constexpr int kLargestCardImage = 640;

std::string card_width(const store::Photo& photo) {
    const int cover = photo.height > 0 ? (220 * photo.width + photo.height - 1) / photo.height : 340;
    return "(max-width: 495px) calc(100vw - 2.5rem), " + std::to_string(std::max(340, cover)) + "px";
}

}  // namespace

Data grid_data(const FeedPage& page, bool member, const MediaUrls& urls, const GridLinks& links) {
    Data items{Data::type::list};
    for (std::size_t i = 0; i < page.photos.size(); ++i) {
        const auto& p = page.photos[i];
        Data item;
        item.set("first", i == 0);
        item.set("eager", i < kFirstRow);
        item.set("id", p.id);
        item.set("href", "/photos/" + p.id + links.photo_query);
        item.set("user_href", user_page(p.username));
        item.set("alt", alt_text(p));
        item.set("thumbnail_url", urls.url(thumbnail_key(p.id)));
        item.set("thumb_width", std::to_string(p.thumb_width));
        item.set("thumb_height", std::to_string(p.thumb_height));
        item.set("srcset", srcset(p, urls, kLargestCardImage));
        item.set("sources", picture_sources(p, urls, kLargestCardImage));
        item.set("sizes", card_width(p));
        item.set("username", p.username);
        item.set("uploaded_at", rfc3339(p.created_at));
        item.set("uploaded_at_text", human_time(p.created_at));
        items.push_back(item);
    }
    Data d;
    if (!page.photos.empty()) {
        Data photos;
        photos.set("items", items);
        d.set("photos", photos);
    }
    d.set("logged_in", member);
    d.set("pager", links.pager);
    if (page.previous) d.set("newer", std::to_string(*page.previous));
    d.set("newest", !page.cursor.latest() && !page.previous);  // a step back that found nothing newer
    if (page.next) d.set("older", std::to_string(*page.next));
    return d;
}

std::string alt_text(const store::Photo& photo) {
    if (!photo.caption.empty()) return photo.caption;
    return "Photo by " + photo.username + ", " + human_time(photo.created_at);
}


}  // namespace photoshare::app
