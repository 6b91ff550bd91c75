#include "http/content_disposition.hpp"

#include "codec/percent.hpp"
#include "http/header_params.hpp"
#include "http/message.hpp"
#include "http/token.hpp"

#include <charconv>
#include <vector>

namespace photoshare::http {

namespace {

[[noreturn]] void bad(const std::string& message) { throw HttpError(400, "bad_multipart", message); }

// RFC 2231 continuations may not reasonably need more pieces than this; it bounds the work
// a hostile header can ask for (the header itself is already size-limited).
constexpr std::size_t max_filename_pieces = 64;

struct Piece {
    bool present = false;
    bool encoded = false;  // the name ended in '*': value is (charset'lang')pct-encoded
    std::string value;
};

std::string latin1_to_utf8(std::string_view in) {
    std::string out;
    out.reserve(in.size() * 2);
    for (char ch : in) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x80) {
            out.push_back(ch);
        } else {
            out.push_back(static_cast<char>(0xC0 | (c >> 6)));
            out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
        }
    }
    return out;
}

// Joins the pieces of an extended filename (one piece for plain `filename*`).
std::string decode_extended(const std::vector<Piece>& pieces) {
    std::string bytes;
    std::string_view charset;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        const Piece& p = pieces[i];
        if (!p.present) bad("Content-Disposition filename continuation " + std::to_string(i) + " is missing");
        std::string_view v = p.value;
        if (p.encoded && i == 0) {
            std::size_t q1 = v.find('\'');
            std::size_t q2 = q1 == std::string_view::npos ? q1 : v.find('\'', q1 + 1);
            if (q2 == std::string_view::npos) bad("Content-Disposition filename* lacks charset'language'");
            charset = v.substr(0, q1);
            v = v.substr(q2 + 1);
        }
        if (p.encoded) {
            auto decoded = codec::percent_decode(v, false);
            if (!decoded) bad("Content-Disposition filename* has an invalid percent-encoding");
            bytes += *decoded;
        } else {
            bytes += v;
        }
    }
    if (charset.empty() || iequals(charset, "utf-8") || iequals(charset, "us-ascii") || iequals(charset, "ascii"))
        return bytes;
    if (iequals(charset, "iso-8859-1") || iequals(charset, "latin1")) return latin1_to_utf8(bytes);
    bad("Content-Disposition filename* uses a charset other than UTF-8, US-ASCII or ISO-8859-1");
}

// "filename*3*" -> {3, true}; nullopt for names that are not continuations.
std::optional<std::pair<std::size_t, bool>> continuation_index(std::string_view name) {
    constexpr std::string_view prefix = "filename*";
    if (!name.starts_with(prefix) || name.size() == prefix.size()) return std::nullopt;
    name.remove_prefix(prefix.size());
    bool encoded = name.ends_with('*');
    if (encoded) name.remove_suffix(1);
    if (name.empty() || (name.size() > 1 && name.front() == '0')) return std::nullopt;
    std::size_t index = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), index);
    if (ec != std::errc{} || end != name.data() + name.size()) return std::nullopt;
    return std::pair{index, encoded};
}

std::string decode_html_quotes(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in.substr(i, 3) == "%22") {
            out.push_back('"');
            i += 2;
        } else {
            out.push_back(in[i]);
        }
    }
    return out;
}

std::string strip_directories(std::string_view name) {
    std::size_t sep = name.find_last_of("/\\");
    return std::string(sep == std::string_view::npos ? name : name.substr(sep + 1));
}

void set_once(std::optional<std::string>& slot, std::string value, std::string_view what) {
    if (slot) bad("Content-Disposition has more than one " + std::string(what) + " parameter");
    slot = std::move(value);
}

}  // namespace

FormDisposition parse_form_disposition(std::string_view value) {
    auto header = parse_param_header(value);
    if (!header) bad("malformed Content-Disposition header in a multipart part");
    if (!iequals(header->type, "form-data")) bad("multipart part is not Content-Disposition: form-data");

    std::optional<std::string> name, plain, extended;
    std::vector<Piece> pieces;
    for (auto& p : header->params) {
        if (p.name == "name") {
            set_once(name, std::move(p.value), "name");
        } else if (p.name == "filename") {
            set_once(plain, std::move(p.value), "filename");
        } else if (p.name == "filename*") {
            set_once(extended, std::move(p.value), "filename*");
        } else if (auto index = continuation_index(p.name)) {
            auto [i, encoded] = *index;
            if (i >= max_filename_pieces) bad("Content-Disposition has too many filename continuations");
            if (pieces.size() <= i) pieces.resize(i + 1);
            if (pieces[i].present) bad("Content-Disposition repeats a filename continuation");
            pieces[i] = Piece{true, encoded, std::move(p.value)};
        }
    }
    if (!name) bad("multipart part has no name in its Content-Disposition");

    FormDisposition out;
    out.name = std::move(*name);
    std::optional<std::string> filename;
    if (extended)
        filename = decode_extended({Piece{true, true, std::move(*extended)}});
    else if (!pieces.empty())
        filename = decode_extended(pieces);
    else if (plain)
        filename = decode_html_quotes(*plain);
    if (filename) {
        for (char c : *filename) {
            auto u = static_cast<unsigned char>(c);
            if (u < 0x20 || u == 0x7f) bad("multipart file name contains a control character");
        }
        out.filename = strip_directories(*filename);
    }
    return out;
}

}  // namespace photoshare::http
