// The layout around every HTML page: head, navigation for the visitor's state, flash
// message, footer (which server answered, the request id, where the feed came from).
#pragma once

#include "app/server_info.hpp"
#include "app/views.hpp"
#include "app/visitor.hpp"
#include "http/message.hpp"
#include "store/repository.hpp"

#include <optional>
#include <string>

namespace photoshare::app {

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

// The frame for a visitor: their navigation, and while the session store cannot answer a
// notice that they see the site as anyone would.
PageFrame visitor_frame(const Visitor& visitor);

class Layout {
public:
    Layout(const Views& views, const ServerInfo& info) : views_(views), info_(info) {}

    // The whole page around `content` (HTML, already rendered).
    std::string page(const http::Request& req, const PageFrame& frame, const std::string& title, const std::string& content) const;
    // The error page for status (its title says what kind of error) with message, in the
    // visitor's frame (their navigation), or a logged-out one.
    std::string error_page(const http::Request& req, int status, const std::string& message, const PageFrame& frame = {}) const;
    // Renders templates/<name>.mustache (a page's content).
    std::string render(const std::string& name, const Data& data) const { return views_.render(name, data); }

private:
    const Views& views_;
    const ServerInfo& info_;
};

}  // namespace photoshare::app
