// The HTML pages: the layout around every page, and the parts of it that change per
// request.
#pragma once

#include "app/views.hpp"
#include "http/message.hpp"
#include "store/repository.hpp"

#include <optional>
#include <string>

namespace photoshare::app {

class App;

// What the layout shows around a page's content.
struct PageFrame {
    std::optional<store::Session> session;
    std::string csrf_token;
    const char* feed_source = nullptr;  // "cache" or "database" when the page shows the feed
    std::string flash_kind;             // "error" or "ok"
    std::string flash_message;
    // Shown in the footer; empty: made from the session (Sessions::fingerprint).
    std::string session_fingerprint;
};

std::string render_page(App& app, const http::Request& req, const PageFrame& frame, const std::string& title, const std::string& content);

}  // namespace photoshare::app
