#include "app/layout.hpp"

#include "app/sessions.hpp"

namespace photoshare::app {

namespace {

std::string_view status_title(int status) {
    switch (status) {
        case 400: return "Bad request";
        case 401: return "Please log in";
        case 403: return "Not allowed";
        case 404: return "Not found";
        case 405: return "Method not allowed";
        case 408: return "Too slow";
        case 409: return "Conflict";
        case 413: return "Too large";
        case 414: return "Address too long";
        case 415: return "Unsupported file";
        case 416: return "Range not satisfiable";
        case 422: return "Cannot accept that";
        case 429: return "Too many attempts";
        case 431: return "Headers too large";
        case 503: return "Temporarily unavailable";
        case 507: return "Storage full";
        default: return status >= 500 ? "Server error" : "Error";
    }
}

}  // namespace

PageFrame visitor_frame(const Visitor& v) {
    PageFrame frame{v.session, v.csrf_token, nullptr, "", "", ""};
    if (v.sessions_unavailable) {
        frame.flash_kind = "error";
        frame.flash_message = "Signing in is unavailable at the moment, so you are seeing the site as a visitor.";
    } else if (v.flash) {
        frame.flash_kind = v.flash->kind;
        frame.flash_message = v.flash->text;
    }
    return frame;
}

std::string Layout::page(const http::Request& req, const PageFrame& frame, const std::string& title, const std::string& content) const {
    Data d;
    d.set("title", title);
    d.set("description", title + " on photoshare, where people share their photos and see the latest ones.");
    d.set("content", content);
    d.set("asset_css", views_.asset_url("style.css"));
    d.set("asset_js", views_.asset_url("app.js"));
    d.set("asset_icon", views_.asset_url("favicon.svg"));
    if (frame.session) {
        Data user;
        user.set("username", frame.session->username);
        user.set("csrf_token", frame.csrf_token);
        d.set("user", user);
        d.set("session_fingerprint", frame.session_fingerprint.empty() ? Sessions::fingerprint(*frame.session) : frame.session_fingerprint);
    }
    if (!frame.flash_message.empty()) {
        Data flash;
        flash.set("kind", frame.flash_kind);
        flash.set("message", frame.flash_message);
        d.set("flash", flash);
    }
    if (frame.feed_source) d.set("feed_source", std::string(frame.feed_source));
    d.set("server_name", info_.name);
    d.set("server_address", info_.address);
    d.set("server_pid", std::to_string(info_.pid));
    d.set("request_id", req.request_id);
    return views_.render("layout", d);
}

std::string Layout::error_page(const http::Request& req, int status, const std::string& message, const PageFrame& frame) const {
    const std::string title(status_title(status));
    Data content;
    content.set("status", std::to_string(status));
    content.set("title", title);
    content.set("message", message);
    return page(req, frame, title, views_.render("error", content));
}

}  // namespace photoshare::app
