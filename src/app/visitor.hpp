// Who is asking, as Routes found out for a route with Who::visitor or Who::member.
#pragma once

#include "app/flash.hpp"
#include "store/repository.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace photoshare::app {

// Their session if logged in, and the CSRF token their forms carry (the session's, or an
// anonymous visitor's with the cookie to set when it is new).
struct Visitor {
    std::optional<store::Session> session;
    std::string csrf_token;
    std::string set_cookie;             // empty unless a new visitor token was made (Routes sets it)
    bool sessions_unavailable = false;  // shown as logged out because the session store cannot answer
    std::optional<FlashMessage> flash;  // left by the form before (a GET page's only; Routes clears it)

    // Whether they are logged in as this user (a photo's owner).
    bool is(std::int64_t user_id) const { return session && session->user_id == user_id; }
};

}  // namespace photoshare::app
