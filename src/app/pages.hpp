// The HTML pages and forms besides the front page (front_page.hpp): a photo, logging in
// and registering, logging out, uploading and deleting. Each handler names the services it
// uses; Routes has checked who is asking, their CSRF token and the body's shape before it
// runs (site.cpp declares what each route requires).
#pragma once

#include "app/accounts.hpp"
#include "app/database.hpp"
#include "app/flash.hpp"
#include "app/layout.hpp"
#include "app/media_urls.hpp"
#include "app/photos.hpp"
#include "app/read_your_writes.hpp"
#include "app/routes.hpp"
#include "app/sessions.hpp"

namespace photoshare::app {

// GET /photos/{id}: the photo, its caption, links to the newer and older photo (of
// everyone's, or with ?in=user of its owner's), and for its owner the caption and delete forms.
struct PhotoPage {
    Database& db;
    const Layout& layout;
    const MediaUrls& urls;
    bool full_size_for_everyone;  // images.full_size_download
    std::size_t max_caption_chars;
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

// GET /u/{name}: a user's photos, newest first, paged like the front page.
struct UserPage {
    Database& db;
    const Layout& layout;
    const MediaUrls& urls;
    int page_size;
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

// POST /photos/{id}/caption (the owner's form on the photo page)
struct CaptionPost {
    Photos& photos;
    const ReadYourWrites& writes;
    const Flash& flash;
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

// GET /login, GET /register: the form (a member is sent to the front page).
struct AccountForm {
    const Layout& layout;
    bool register_form;
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

// POST /login, POST /register: a new session, or the form again with what was wrong.
struct AccountPost {
    Accounts& accounts;
    Sessions& sessions;
    const Layout& layout;
    const Flash& flash;
    bool register_form;
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

// POST /logout
struct LogoutPost {
    Sessions& sessions;
    const Flash& flash;
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

// GET /upload: the upload form is on the front page (a bookmark or a reload after a failed
// post lands there, not on a 405).
struct UploadFormRedirect {
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

// POST /upload (multipart, from the form on the front page)
struct UploadPost {
    Photos& photos;
    const ReadYourWrites& writes;
    const Flash& flash;
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

// POST /photos/{id}/delete
struct DeletePost {
    Photos& photos;
    const ReadYourWrites& writes;
    const Flash& flash;
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

}  // namespace photoshare::app
