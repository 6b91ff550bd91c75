// Flash messages: what a form's redirect tells the next page ("3 photos uploaded", "Logged
// out"), without JavaScript. The redirect sets a short-lived cookie naming the message; the
// next HTML page shows it once and clears the cookie. The cookie holds only a code and a
// count, never text: a message is always one of ours, so nothing a client sends is shown.
#pragma once

#include "http/message.hpp"

#include <optional>
#include <string>

namespace photoshare::app {

enum class FlashCode { uploaded, deleted, caption_saved, logged_in, registered, logged_out };

struct FlashMessage {
    std::string kind;  // "ok" (the layout's flash classes)
    std::string text;
};

class Flash {
public:
    explicit Flash(bool secure_cookies);

    // The Set-Cookie of a redirect that leaves a message for the next page (count: photos).
    std::string cookie(FlashCode code, int count = 0) const;
    // The message the request's cookie names, if any (unknown or malformed values: none).
    std::optional<FlashMessage> read(const http::Request& req) const;
    // The Set-Cookie that clears it once shown.
    std::string clear() const;
    // Whether `set_cookie` is one of ours (a response that leaves a message keeps it).
    bool sets(std::string_view set_cookie) const;

private:
    std::string name_;
    bool secure_;
};

}  // namespace photoshare::app
