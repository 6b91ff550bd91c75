// Differential fuzzing of the streaming multipart parser: the same body fed whole, in
// pseudo-random chunks and (when small) one byte at a time must give identical parts or the
// identical error. Inputs are raw bodies whose first line names the boundary ("--xyz"), or
// complete HTTP requests ("POST ...", as in the formidable captures) whose Content-Type does.
#include "http/message.hpp"
#include "http/multipart.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace photoshare::http;

struct Part {
    std::string name, content_type, data;
    std::optional<std::string> filename;
    bool ended = false;
    bool operator==(const Part&) const = default;
};

struct Outcome {
    std::vector<Part> parts;
    int status = 0;
    std::string message;
    bool operator==(const Outcome&) const = default;
};

[[noreturn]] void fail(const char* what) {
    (void)std::fprintf(stderr, "fuzz_multipart: %s\n", what);
    std::abort();
}

// chunk_seed 0: whole; 1: byte at a time; otherwise pseudo-random chunk sizes.
Outcome run(const std::string& boundary, std::string_view body, std::uint32_t chunk_seed) {
    Outcome out;
    bool inside = false;
    MultipartCallbacks cb;
    cb.on_part_begin = [&](const PartHeaders& h) {
        if (inside) fail("part begins inside a part");
        inside = true;
        out.parts.push_back(Part{h.name, h.content_type, {}, h.filename, false});
    };
    cb.on_part_data = [&](std::string_view d) {
        if (!inside || d.empty()) fail("data outside a part or empty");
        out.parts.back().data.append(d);
    };
    cb.on_part_end = [&] {
        if (!inside) fail("end outside a part");
        inside = false;
        out.parts.back().ended = true;
    };
    try {
        MultipartParser parser(boundary, cb, MultipartLimits{.max_parts = 16, .max_part_header_bytes = 600});
        std::uint32_t state = chunk_seed;
        std::size_t i = 0;
        while (i < body.size()) {
            std::size_t n = body.size();
            if (chunk_seed == 1) {
                n = 1;
            } else if (chunk_seed > 1) {
                state = state * 1664525u + 1013904223u;
                n = 1 + (state >> 24) % 97;
            }
            n = std::min(n, body.size() - i);
            parser.feed(body.substr(i, n));
            i += n;
        }
        parser.finish();
        if (inside || !parser.complete() || parser.parts() != out.parts.size()) fail("inconsistent end state");
    } catch (const HttpError& e) {
        if (e.status() != 400 && e.status() != 413) fail("unexpected status");
        out.status = e.status();
        out.message = e.what();
    }
    return out;
}

std::string boundary_of(std::string_view input, std::string_view& body) {
    if (input.starts_with("POST ")) {
        std::size_t end = input.find("\r\n\r\n");
        if (end == std::string_view::npos) return {};
        std::string_view head = input.substr(0, end);
        body = input.substr(end + 4);
        for (std::size_t pos = 0; pos < head.size();) {
            std::size_t eol = head.find("\r\n", pos);
            std::string_view line = head.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
            pos = eol == std::string_view::npos ? head.size() : eol + 2;
            if (line.size() > 13 && (line.substr(0, 13) == "Content-Type:" || line.substr(0, 13) == "content-type:"))
                return multipart_boundary(line.substr(13)).value_or("");
        }
        return {};
    }
    body = input;
    if (input.starts_with("--")) {
        std::size_t eol = input.find_first_of("\r\n");
        std::string candidate(input.substr(2, std::min<std::size_t>(eol == std::string_view::npos ? input.size() : eol, 72) - 2));
        while (!candidate.empty() && (candidate.back() == ' ' || candidate.back() == '\t')) candidate.pop_back();
        if (auto b = multipart_boundary("multipart/form-data; boundary=\"" + candidate + "\"")) return *b;
    }
    return "b";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    // The Content-Type parser sees the raw bytes too.
    (void)multipart_boundary(input.substr(0, 256));

    std::string_view body;
    std::string boundary = boundary_of(input, body);
    if (boundary.empty()) return 0;

    Outcome whole = run(boundary, body, 0);
    if (!(run(boundary, body, static_cast<std::uint32_t>(size) | 2u) == whole)) fail("random chunks differ from whole");
    if (body.size() <= 4096 && !(run(boundary, body, 1) == whole)) fail("byte-at-a-time differs from whole");
    return 0;
}
