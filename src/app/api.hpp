// The JSON API (docs/API.md): the same actions as the HTML forms, for programs. Each
// handler names the services it uses; site.cpp declares what each route requires.
#pragma once

#include "app/accounts.hpp"
#include "app/database.hpp"
#include "app/feed.hpp"
#include "app/media_urls.hpp"
#include "app/photos.hpp"
#include "app/read_your_writes.hpp"
#include "app/routes.hpp"
#include "app/sessions.hpp"

namespace photoshare::app::api {

// POST /api/v1/users
struct CreateUser {
    Accounts& accounts;
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

// POST /api/v1/session (log in)
struct CreateSession {
    Accounts& accounts;
    Sessions& sessions;
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

// GET /api/v1/session
struct CurrentSession {
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

// DELETE /api/v1/session (log out)
struct DeleteSession {
    Sessions& sessions;
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

// GET /api/v1/photos
struct ListPhotos {
    Feed& feed;
    const ReadYourWrites& writes;
    const MediaUrls& urls;
    int page_size;
    int max_page_size;
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

// GET /api/v1/photos/{id}: with what the visitor may download.
struct GetPhoto {
    Database& db;
    const MediaUrls& urls;
    bool full_size_for_everyone;
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

// GET /api/v1/users/{name}/photos: a user's photos, paged like the feed.
struct ListUserPhotos {
    Database& db;
    const MediaUrls& urls;
    int page_size;
    int max_page_size;
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

// PATCH /api/v1/photos/{id}: {"caption": "..."} from its owner.
struct UpdatePhoto {
    Photos& photos;
    const ReadYourWrites& writes;
    const MediaUrls& urls;
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

// POST /api/v1/photos (multipart)
struct UploadPhotos {
    Photos& photos;
    const ReadYourWrites& writes;
    const MediaUrls& urls;
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

// DELETE /api/v1/photos/{id}
struct DeletePhoto {
    Photos& photos;
    const ReadYourWrites& writes;
    asio::awaitable<http::Response> operator()(Context& ctx) const;
};

}  // namespace photoshare::app::api
