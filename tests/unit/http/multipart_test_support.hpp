// Helpers for the multipart tests: run the parser over a body split in many ways and
// check every split gives the same parts (or the same error).
#pragma once

#include "http/message.hpp"
#include "http/multipart.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace photoshare::http::testing {

struct Part {
    PartHeaders headers;
    std::string data;
    std::size_t data_calls = 0;
    bool ended = false;

    bool operator==(const Part& o) const {
        return headers.name == o.headers.name && headers.filename == o.headers.filename &&
               headers.content_type == o.headers.content_type && data == o.data && ended == o.ended;
    }
};

struct Failure {
    int status = 0;
    std::string code;
    std::string message;
    bool operator==(const Failure&) const = default;
};

using Outcome = std::variant<std::vector<Part>, Failure>;

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in) << "cannot open " << path;
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline std::string testdata(std::string_view relative) {
    return std::string(PHOTOSHARE_TESTDATA) + "/multipart/" + std::string(relative);
}

// Feeds `body` in pieces of `chunk` bytes (0: all at once), then finishes.
inline Outcome parse_split(const std::string& boundary, std::string_view body, std::size_t chunk,
                           MultipartLimits limits = {}) {
    std::vector<Part> parts;
    bool inside = false;
    MultipartCallbacks cb;
    cb.on_part_begin = [&](const PartHeaders& h) {
        EXPECT_FALSE(inside) << "part begins inside another";
        inside = true;
        parts.push_back(Part{h, {}, 0, false});
    };
    cb.on_part_data = [&](std::string_view d) {
        EXPECT_TRUE(inside) << "data outside a part";
        EXPECT_FALSE(d.empty()) << "empty data callback";
        parts.back().data.append(d);
        ++parts.back().data_calls;
    };
    cb.on_part_end = [&] {
        EXPECT_TRUE(inside) << "end without begin";
        inside = false;
        parts.back().ended = true;
    };
    try {
        MultipartParser parser(boundary, cb, limits);
        if (chunk == 0) {
            parser.feed(body);
        } else {
            for (std::size_t i = 0; i < body.size(); i += chunk) parser.feed(body.substr(i, chunk));
        }
        parser.finish();
        EXPECT_TRUE(parser.complete());
        EXPECT_FALSE(inside) << "finished inside a part";
        EXPECT_EQ(parser.parts(), parts.size());
    } catch (const HttpError& e) {
        return Failure{e.status(), e.code(), e.what()};
    }
    return parts;
}

// The outcome of parsing `body`, asserting it is the same whole, byte by byte and in
// several other splits (including ones that cut every boundary at a different offset).
inline Outcome parse_every_way(const std::string& boundary, std::string_view body, MultipartLimits limits = {}) {
    Outcome whole = parse_split(boundary, body, 0, limits);
    for (std::size_t chunk : {1, 2, 3, 5, 7, 13, 64, 4096}) {
        Outcome split = parse_split(boundary, body, chunk, limits);
        EXPECT_TRUE(split == whole) << "result differs when fed in chunks of " << chunk;
    }
    return whole;
}

inline std::vector<Part> expect_parts(const std::string& boundary, std::string_view body, MultipartLimits limits = {}) {
    Outcome o = parse_every_way(boundary, body, limits);
    if (auto* f = std::get_if<Failure>(&o)) {
        ADD_FAILURE() << "unexpected error " << f->status << " " << f->code << ": " << f->message;
        return {};
    }
    return std::get<std::vector<Part>>(o);
}

inline Failure expect_failure(const std::string& boundary, std::string_view body, MultipartLimits limits = {}) {
    Outcome o = parse_every_way(boundary, body, limits);
    if (auto* parts = std::get_if<std::vector<Part>>(&o)) {
        ADD_FAILURE() << "parsed " << parts->size() << " parts, expected an error";
        return {};
    }
    return std::get<Failure>(o);
}

// Splits a raw HTTP request into its Content-Type value and body. Accepts bare-LF requests
// (one capture is written that way) so that the multipart parser is what judges the body.
struct RawRequest {
    std::string content_type;
    std::string body;
};

inline RawRequest split_request(const std::string& raw) {
    std::size_t end = raw.find("\r\n\r\n");
    std::size_t skip = 4;
    if (end == std::string::npos) {
        end = raw.find("\n\n");
        skip = 2;
    }
    EXPECT_NE(end, std::string::npos) << "no end of headers";
    RawRequest out;
    out.body = raw.substr(end + skip);
    std::istringstream head(raw.substr(0, end));
    std::string line;
    while (std::getline(head, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        constexpr std::string_view name = "content-type:";
        if (line.size() > name.size()) {
            std::string lower = line.substr(0, name.size());
            for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (lower == name) {
                std::string v = line.substr(name.size());
                while (!v.empty() && v.front() == ' ') v.erase(0, 1);
                out.content_type = v;
            }
        }
    }
    return out;
}

}  // namespace photoshare::http::testing
