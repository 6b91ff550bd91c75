// percent_decode and percent_encode (codec/percent.hpp) against a reference decoder and against
// Boost.URL: no crash; decoding never yields NUL and refuses exactly what the reference
// refuses (a '%' without two hex digits, %00, a raw NUL); decode(encode(x)) == x for every x
// without NUL, with and without plus_is_space; encode(decode(e)) is the canonical spelling of
// e; encode keeps only RFC 3986 unreserved characters and writes upper-case %XX, and agrees
// with SigV4's uri_encode (the same rule, written separately in blob/sigv4.cpp).
//
// Input: raw bytes. Each run checks the input as an encoded string (decoding it) and as a
// decoded string (encoding it).
#include "blob/sigv4.hpp"
#include "codec/percent.hpp"

#include <boost/url/pct_string_view.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace {

[[noreturn]] void fail(const char* what) {
    (void)std::fprintf(stderr, "fuzz_urldecode: %s\n", what);
    std::abort();
}

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool unreserved(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

// Written from the contract in form.hpp, independently of form.cpp.
std::optional<std::string> reference_decode(std::string_view in, bool plus_is_space) {
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(in[i]);
        if (c == '%') {
            if (i + 2 >= in.size()) return std::nullopt;  // fewer than two characters left
            const int hi = hex(in[i + 1]);
            const int lo = hex(in[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            c = static_cast<unsigned char>(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c == 0) return std::nullopt;
        out.push_back(static_cast<char>(c));
    }
    return out;
}

void check_encoded(std::string_view e, std::string_view original) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::size_t expected_size = 0;
    for (char ch : original) expected_size += unreserved(static_cast<unsigned char>(ch)) ? 1 : 3;
    if (e.size() != expected_size) fail("percent_encode output has the wrong length");
    for (std::size_t i = 0; i < e.size(); ++i) {
        const auto c = static_cast<unsigned char>(e[i]);
        if (unreserved(c)) continue;
        if (c != '%' || i + 2 >= e.size()) fail("reserved character in percent_encode output");
        bool upper = false;
        for (char d : digits)
            if (e[i + 1] == d) upper = true;
        bool upper2 = false;
        for (char d : digits)
            if (e[i + 2] == d) upper2 = true;
        if (!upper || !upper2) fail("percent_encode wrote a lower-case or invalid escape");
        i += 2;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using photoshare::codec::percent_decode;
    using photoshare::codec::percent_encode;
    const std::string_view input(reinterpret_cast<const char*>(data), size);

    // 1. The input as an encoded string.
    for (bool plus : {false, true}) {
        const auto decoded = percent_decode(input, plus);
        const auto expected = reference_decode(input, plus);
        if (decoded.has_value() != expected.has_value()) fail("percent_decode accepts or refuses differently from the reference");
        if (!decoded) continue;
        if (*decoded != *expected) fail("percent_decode differs from the reference");
        if (decoded->find('\0') != std::string::npos) fail("NUL in decoded output");
        if (decoded->size() > input.size()) fail("decoding grew the input");
        // Re-encoding gives the canonical spelling, which decodes to the same bytes and is a
        // fixed point of decode-then-encode.
        const std::string canonical = percent_encode(*decoded);
        const auto again = percent_decode(canonical, plus);
        if (!again || *again != *decoded) fail("decode(encode(decode(e))) != decode(e)");
        if (percent_encode(*again) != canonical) fail("encode(decode(.)) is not a fixed point");
        if (!plus) {
            // Boost.URL's decoder, on inputs it accepts, must agree (it keeps '+' and allows
            // %00, which ours refuses: compare only where neither matters).
            auto pct = boost::urls::make_pct_string_view(boost::urls::string_view(input.data(), input.size()));
            if (!pct) fail("Boost.URL refuses an escape percent_decode accepted");
            if (pct->decode() != *decoded) fail("percent_decode differs from Boost.URL");
        }
    }
    if (!percent_decode(input, false)) {
        // Refused: either Boost refuses it too, or it contains NUL once decoded.
        auto pct = boost::urls::make_pct_string_view(boost::urls::string_view(input.data(), input.size()));
        if (pct) {
            if (pct->decode().find('\0') == std::string::npos) fail("percent_decode refused what Boost.URL decodes without NUL");
        }
    }

    // 2. The input as a decoded string.
    const std::string encoded = percent_encode(input);
    check_encoded(encoded, input);
    if (encoded != photoshare::blob::sigv4::uri_encode(input, true)) fail("percent_encode and sigv4::uri_encode disagree");
    for (bool plus : {false, true}) {
        const auto back = percent_decode(encoded, plus);
        if (input.find('\0') == std::string_view::npos) {
            if (!back || *back != input) fail("decode(encode(x)) != x");
        } else if (back) {
            fail("decode(encode(x)) accepted a NUL");
        }
    }
    return 0;
}
