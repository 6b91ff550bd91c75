// Percent-decoding and form parsing: no crash, no NUL ever comes out, and encoding then
// decoding gives back the input.
#include "codec/percent.hpp"
#include "http/form.hpp"
#include "http/message.hpp"

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

[[noreturn]] void fail(const char* what) {
    (void)std::fprintf(stderr, "fuzz_form: %s\n", what);
    std::abort();
}

void no_nul(std::string_view s) {
    if (s.find('\0') != std::string_view::npos) fail("NUL in decoded output");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace photoshare::http;
    using photoshare::codec::percent_decode;
    using photoshare::codec::percent_encode;
    std::string_view input(reinterpret_cast<const char*>(data), size);

    for (bool plus : {false, true}) {
        if (auto decoded = percent_decode(input, plus)) {
            no_nul(*decoded);
            if (decoded->size() > input.size()) fail("decoding grew the input");
            auto again = percent_decode(percent_encode(*decoded), plus);
            if (!again || *again != *decoded) fail("encode/decode round trip");
        }
    }
    std::string encoded = percent_encode(input);
    for (char c : encoded)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~' || c == '%'))
            fail("reserved character left by percent_encode");
    if (input.find('\0') == std::string_view::npos && percent_decode(encoded, true) != std::string(input))
        fail("percent_encode does not round-trip");

    try {
        Fields fields = parse_urlencoded(input, 64);
        if (fields.size() > 64) fail("field limit ignored");
        for (const auto& [k, v] : fields) {
            no_nul(k);
            no_nul(v);
        }
        if (!fields.empty() && field(fields, fields.front().first) != fields.front().second) fail("field() disagrees");
    } catch (const HttpError& e) {
        if (e.status() != 400 && e.status() != 413) fail("unexpected status");
    }
    return 0;
}
