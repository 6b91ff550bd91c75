// Streaming multipart/form-data parser (RFC 7578 on top of RFC 2046 §5.1).
//
// Uploads of tens of megabytes arrive in network-sized chunks and are never held whole:
// feed() takes any split of the body and reports parts through callbacks, keeping at most
// one part's header block and a few bytes of a possible boundary between calls. The
// callbacks see the same parts, headers and bytes whatever the split; only the number of
// on_part_data calls differs.
//
// Strictness: line breaks in the framing must be CRLF (RFC 2046). Bare-LF bodies come
// from hand-written or line-ending-mangled test files, not browsers, and accepting them
// would open a second way to read the same bytes. A body that stops before the closing
// boundary is an error, never a silently shortened upload.
#pragma once

#include "http/part_headers.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace photoshare::http {

// The boundary of a "multipart/form-data; boundary=..." Content-Type (quoted or not), or
// nullopt when the type is something else or the boundary is missing, repeated, longer than
// 70 characters or made of anything but RFC 2046 bchars.
std::optional<std::string> multipart_boundary(std::string_view content_type);

struct MultipartCallbacks {
    std::function<void(const PartHeaders&)> on_part_begin;
    std::function<void(std::string_view)> on_part_data;  // never called with an empty view
    std::function<void()> on_part_end;
};

struct MultipartLimits {
    std::size_t max_parts = 1000;
    std::size_t max_part_header_bytes = 16384;  // one part's header block, CRLFs included
};

class MultipartParser {
public:
    // Throws HttpError 400 "bad_multipart" for a boundary multipart_boundary() would refuse.
    MultipartParser(std::string_view boundary, MultipartCallbacks callbacks, MultipartLimits limits = {});

    // Throws HttpError 400 "bad_multipart" for malformed framing or part headers and 413
    // "payload_too_large" past max_parts; exceptions from callbacks pass through. After any
    // exception the parser is unusable (std::logic_error).
    void feed(std::string_view chunk);

    // Call once at the end of the body: throws HttpError 400 "bad_multipart" unless the
    // closing boundary was seen. Bytes after it (the epilogue) are ignored.
    void finish();

    bool complete() const noexcept { return state_ == State::epilogue; }
    std::size_t parts() const noexcept { return parts_; }

private:
    enum class State : unsigned char { preamble, headers, data, epilogue, failed };
    // How far into "--boundary" + padding + CRLF (or "--" for the last one) we are after a
    // full match of delim_, i.e. whether the candidate is really a delimiter line.
    enum class Suffix : unsigned char { none, start, dash, padding, cr, close, close_cr };

    std::size_t scan(std::string_view in, std::size_t i);
    std::size_t read_headers(std::string_view in, std::size_t i);
    void step_suffix(char c, std::size_t& i);
    void on_delimiter();
    void on_close();
    void release_held();
    void emit(std::string_view data);
    void check_usable() const;

    std::string delim_;  // "\r\n--" + boundary
    MultipartCallbacks callbacks_;
    MultipartLimits limits_;
    State state_ = State::preamble;
    Suffix suffix_ = Suffix::none;
    std::string held_;        // bytes that may be a delimiter line, not yet given out as data
    std::string header_buf_;  // the current part's header block so far
    std::size_t parts_ = 0;
    bool bare_lf_boundary_ = false;  // a boundary line ended in LF alone: worth saying so
};

}  // namespace photoshare::http
