#include "http/multipart.hpp"

#include "http/header_params.hpp"
#include "http/message.hpp"
#include "http/token.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace photoshare::http {

namespace {

// Transport padding is legal (RFC 2046 §5.1.1) but no sender adds much; a bound keeps the
// bytes held between chunks small.
constexpr std::size_t max_padding = 64;

[[noreturn]] void bad(const std::string& message) { throw HttpError(400, "bad_multipart", message); }

bool is_ows(char c) { return c == ' ' || c == '\t'; }

// RFC 2046 bchars.
bool is_bchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

bool valid_boundary(std::string_view b) {
    return !b.empty() && b.size() <= 70 && b.back() != ' ' && std::all_of(b.begin(), b.end(), is_bchar);
}

}  // namespace

std::optional<std::string> multipart_boundary(std::string_view content_type) {
    auto header = parse_param_header(content_type);
    if (!header || !iequals(header->type, "multipart/form-data")) return std::nullopt;
    const std::string* boundary = nullptr;
    for (const auto& p : header->params) {
        if (p.name != "boundary") continue;
        if (boundary) return std::nullopt;  // two boundaries: which one would a proxy use?
        boundary = &p.value;
    }
    if (!boundary || !valid_boundary(*boundary)) return std::nullopt;
    return *boundary;
}

MultipartParser::MultipartParser(std::string_view boundary, MultipartCallbacks callbacks, MultipartLimits limits)
    : callbacks_(std::move(callbacks)), limits_(limits) {
    if (!valid_boundary(boundary)) bad("invalid multipart boundary");
    delim_.reserve(boundary.size() + 4);
    delim_.append("\r\n--").append(boundary);
    // The first boundary may open the body without a CRLF before it: pretend one was seen.
    held_ = "\r\n";
}

void MultipartParser::check_usable() const {
    if (state_ == State::failed) throw std::logic_error("MultipartParser used after an error");
}

void MultipartParser::feed(std::string_view chunk) {
    check_usable();
    try {
        std::size_t i = 0;
        while (i < chunk.size()) {
            switch (state_) {
                case State::preamble:
                case State::data: i = scan(chunk, i); break;
                case State::headers: i = read_headers(chunk, i); break;
                case State::epilogue:
                case State::failed: return;  // failed is unreachable here: errors leave through the catch
            }
        }
    } catch (...) {
        state_ = State::failed;
        throw;
    }
}

void MultipartParser::finish() {
    check_usable();
    try {
        if (state_ == State::epilogue) return;
        // "--boundary--" at the very end of the body, without the optional CRLF.
        if (suffix_ == Suffix::close) return on_close();
        if (bare_lf_boundary_) bad("multipart boundary lines must end in CRLF, not a bare LF");
        if (state_ == State::preamble) bad("multipart body contains no boundary line");
        bad("multipart body ends before its closing boundary");
    } catch (...) {
        state_ = State::failed;
        throw;
    }
}

// Looks for delim_ in preamble or part data, giving out everything that cannot be part of
// one. Returns where it stopped: the end of `in` or just past a delimiter line.
std::size_t MultipartParser::scan(std::string_view in, std::size_t i) {
    const State entered = state_;
    while (i < in.size() && state_ == entered) {
        if (held_.empty()) {
            // memchr for the CR, then compare: linear in the input whatever the boundary,
            // unlike Boyer-Moore-Horspool, whose worst case a client choosing both the
            // boundary and the data could trigger.
            const std::size_t start = i;
            while (true) {
                const void* cr = std::memchr(in.data() + i, '\r', in.size() - i);
                if (!cr) {
                    emit(in.substr(start));
                    return in.size();
                }
                const std::size_t at = static_cast<std::size_t>(static_cast<const char*>(cr) - in.data());
                const std::size_t n = std::min(in.size() - at, delim_.size());
                if (std::memcmp(in.data() + at, delim_.data(), n) == 0) {
                    emit(in.substr(start, at - start));
                    held_.assign(in.data() + at, n);
                    i = at + n;
                    if (n == delim_.size()) suffix_ = Suffix::start;
                    break;
                }
                i = at + 1;
            }
        } else if (held_.size() < delim_.size()) {
            // A partial match left by the previous chunk. delim_ has a single CR, at its
            // start, so on a mismatch no later start can hide inside the held bytes.
            std::size_t n = 0;
            while (held_.size() + n < delim_.size() && i + n < in.size() && in[i + n] == delim_[held_.size() + n]) ++n;
            held_.append(in.substr(i, n));
            i += n;
            if (held_.size() == delim_.size())
                suffix_ = Suffix::start;
            else if (i < in.size())
                release_held();
        } else {
            step_suffix(in[i], i);
        }
    }
    return i;
}

// Decides, one byte at a time, whether a full match of delim_ starts a delimiter line.
// Consumes the byte (advancing i) unless it shows the candidate was data after all, in which
// case that byte is looked at again as possible data or the start of another delimiter.
void MultipartParser::step_suffix(char c, std::size_t& i) {
    auto advance = [&](Suffix next) {
        held_.push_back(c);
        ++i;
        suffix_ = next;
    };
    auto padded = [&](std::size_t fixed) {
        if (held_.size() - delim_.size() - fixed >= max_padding) bad("too much whitespace after a multipart boundary");
    };
    switch (suffix_) {
        case Suffix::start:
            if (c == '-') return advance(Suffix::dash);
            if (is_ows(c)) return advance(Suffix::padding);
            if (c == '\r') return advance(Suffix::cr);
            break;
        case Suffix::dash:
            if (c == '-') return advance(Suffix::close);
            break;
        case Suffix::padding:
            if (is_ows(c)) {
                padded(0);
                return advance(Suffix::padding);
            }
            if (c == '\r') return advance(Suffix::cr);
            break;
        case Suffix::cr:
            if (c == '\n') {
                ++i;
                return on_delimiter();
            }
            break;
        case Suffix::close:
            if (is_ows(c)) {
                padded(2);
                return advance(Suffix::close);
            }
            if (c == '\r') return advance(Suffix::close_cr);
            break;
        case Suffix::close_cr:
            if (c == '\n') {
                ++i;
                return on_close();
            }
            break;
        case Suffix::none: break;
    }
    // Only to explain the error if no real boundary follows.
    if (c == '\n' && (suffix_ == Suffix::start || suffix_ == Suffix::padding)) bare_lf_boundary_ = true;
    release_held();
}

void MultipartParser::on_delimiter() {
    held_.clear();
    suffix_ = Suffix::none;
    if (state_ == State::data && callbacks_.on_part_end) callbacks_.on_part_end();
    if (++parts_ > limits_.max_parts)
        throw HttpError(413, "payload_too_large",
                        "multipart body has more than " + std::to_string(limits_.max_parts) + " parts");
    header_buf_.clear();
    state_ = State::headers;
}

void MultipartParser::on_close() {
    held_.clear();
    suffix_ = Suffix::none;
    if (state_ == State::data && callbacks_.on_part_end) callbacks_.on_part_end();
    state_ = State::epilogue;
}

void MultipartParser::release_held() {
    std::string held = std::move(held_);
    held_.clear();
    suffix_ = Suffix::none;
    emit(held);
}

void MultipartParser::emit(std::string_view data) {
    if (state_ == State::data && !data.empty() && callbacks_.on_part_data) callbacks_.on_part_data(data);
}

// Collects the header block up to the empty line, refusing anything but CRLF line ends.
std::size_t MultipartParser::read_headers(std::string_view in, std::size_t i) {
    for (; i < in.size(); ++i) {
        const char c = in[i];
        const auto u = static_cast<unsigned char>(c);
        const bool after_cr = !header_buf_.empty() && header_buf_.back() == '\r';
        if (after_cr && c != '\n') bad("bare CR in multipart part headers");
        if (!after_cr && c == '\n') bad("bare LF in multipart part headers (lines must end in CRLF)");
        if ((u < 0x20 && c != '\t' && c != '\r' && c != '\n') || u == 0x7f)
            bad("control character in multipart part headers");
        header_buf_.push_back(c);
        if (header_buf_.size() > limits_.max_part_header_bytes)
            bad("multipart part headers are larger than " + std::to_string(limits_.max_part_header_bytes) + " bytes");
        if (c == '\n' && (header_buf_.size() == 2 || header_buf_.ends_with("\r\n\r\n"))) {
            PartHeaders headers = parse_part_headers(std::string_view(header_buf_).substr(0, header_buf_.size() - 2));
            header_buf_.clear();
            state_ = State::data;
            if (callbacks_.on_part_begin) callbacks_.on_part_begin(headers);
            return i + 1;
        }
    }
    return i;
}

}  // namespace photoshare::http
