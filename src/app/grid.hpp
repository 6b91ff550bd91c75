// A page of photo cards with its pager, as the front page and a user's page show it
// (web/templates/grid.mustache).
#pragma once

#include "app/feed.hpp"
#include "app/media_urls.hpp"
#include "app/views.hpp"
#include "store/repository.hpp"

#include <string>

namespace photoshare::app {

// What a grid's links lead to.
struct GridLinks {
    std::string pager = "/";  // the page the pager pages: "/" or "/u/NAME"
    std::string photo_query;  // after each photo's link: "?in=user" on a user's page, for its prev/next
};

// The template data of grid.mustache for `page`; member: the visitor is logged in.
Data grid_data(const FeedPage& page, bool member, const MediaUrls& urls, const GridLinks& links);

// A photo's alt text: its caption, or who uploaded it when.
std::string alt_text(const store::Photo& photo);

}  // namespace photoshare::app
