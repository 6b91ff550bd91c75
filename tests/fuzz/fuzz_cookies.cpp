// Cookie parsing must never crash and must only return what it promises (token names, values
// without control characters, views into the header); whatever format_set_cookie accepts
// must read back unchanged.
#include "http/cookies.hpp"
#include "http/token.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace {

[[noreturn]] void fail(const char* what) {
    (void)std::fprintf(stderr, "fuzz_cookies: %s\n", what);
    std::abort();
}

bool inside(std::string_view part, std::string_view whole) {
    return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace photoshare::http;
    std::string_view header(reinterpret_cast<const char*>(data), size);

    auto cookies = parse_cookies(header);
    for (const auto& [name, value] : cookies) {
        if (!is_token(name) || !inside(name, header) || !inside(value, header)) fail("bad name or view");
        for (char c : value)
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) fail("control character in value");
    }
    if (!cookies.empty()) {
        auto found = find_cookie(header, cookies.front().first);
        if (!found || *found != cookies.front().second) fail("find_cookie disagrees with parse_cookies");
    }

    // Split the input into a name and a value for the formatter.
    std::size_t cut = header.find('\x01');
    SetCookie c;
    c.name = std::string(header.substr(0, cut));
    c.value = cut == std::string_view::npos ? std::string() : std::string(header.substr(cut + 1));
    c.max_age = static_cast<long long>(size) - 8;
    c.secure = size % 2;
    c.same_site = size % 3 == 0 ? "None" : "Strict";
    try {
        std::string line = format_set_cookie(c);
        auto back = find_cookie(std::string_view(line).substr(0, line.find(';')), c.name);
        if (!back || *back != c.value) fail("Set-Cookie does not round-trip");
        if (line.find_first_of("\r\n") != std::string::npos) fail("CR or LF in Set-Cookie");
    } catch (const std::invalid_argument&) {
    }
    return 0;
}
