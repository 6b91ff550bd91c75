// Request-target parsing: whatever is accepted must be a path a router and a file system can
// take at face value, and re-encoding its segments must give the same path back.
#include "codec/percent.hpp"
#include "http/form.hpp"
#include "http/target.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

[[noreturn]] void fail(const char* what) {
    (void)std::fprintf(stderr, "fuzz_target: %s\n", what);
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace photoshare::http;
    using photoshare::codec::percent_encode;
    std::string_view input(reinterpret_cast<const char*>(data), size);

    auto target = parse_target(input);
    if (!target) return 0;
    const std::string& path = target->path;
    if (path.empty() || path.front() != '/') fail("path does not start with '/'");
    if (!target->query.empty() &&
        (target->query.data() < input.data() || target->query.data() + target->query.size() > input.data() + input.size()))
        fail("query is not a view into the input");
    if (target->query.find("%00") != std::string_view::npos) fail("%00 in query");

    std::string reencoded;
    std::size_t pos = 1;
    while (true) {
        std::size_t slash = path.find('/', pos);
        std::string_view segment = std::string_view(path).substr(pos, slash == std::string::npos ? slash : slash - pos);
        if (segment == "." || segment == "..") fail("dot segment");
        for (char c : segment) {
            auto u = static_cast<unsigned char>(c);
            if (u < 0x20 || u == 0x7f || c == '\\') fail("control character or backslash in path");
        }
        reencoded += '/';
        reencoded += percent_encode(segment);
        if (slash == std::string::npos) break;
        pos = slash + 1;
    }
    auto again = parse_target(reencoded, SIZE_MAX);
    if (!again || again->path != path) fail("re-encoded path differs");
    return 0;
}
