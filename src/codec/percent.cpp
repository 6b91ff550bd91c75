// percent_decode, percent_decode_to and percent_encode: one decoding loop and one encoding
// loop, shared by http/, blob/, kv/ and store/.
#include "codec/percent.hpp"

namespace photoshare::codec {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool is_unreserved(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

}  // namespace

std::optional<PercentError> percent_decode_to(std::string& out, std::string_view in, bool plus_is_space,
                                              bool refuse_escaped_nul) {
    out.clear();
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '%') {
            if (in.size() - i < 3) return PercentError::bad_escape;
            const int hi = hex_value(in[i + 1]);
            const int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) return PercentError::bad_escape;
            c = static_cast<char>(hi * 16 + lo);
            if (c == '\0' && refuse_escaped_nul) return PercentError::escaped_nul;
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        out.push_back(c);
    }
    return std::nullopt;
}

std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space) {
    if (in.find('\0') != std::string_view::npos) return std::nullopt;
    std::string out;
    if (percent_decode_to(out, in, plus_is_space, true)) return std::nullopt;
    return out;
}

std::string percent_encode(std::string_view in, bool keep_slash) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(in.size());
    for (char ch : in) {
        const auto c = static_cast<unsigned char>(ch);
        if (is_unreserved(c) || (c == '/' && keep_slash)) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(digits[c >> 4]);
            out.push_back(digits[c & 0xF]);
        }
    }
    return out;
}

}  // namespace photoshare::codec
