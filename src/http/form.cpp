#include "http/form.hpp"

#include "codec/percent.hpp"
#include "http/message.hpp"

#include <string>

namespace photoshare::http {

Fields parse_urlencoded(std::string_view body, std::size_t max_fields) {
    Fields fields;
    while (!body.empty()) {
        std::size_t amp = body.find('&');
        std::string_view pair = body.substr(0, amp);
        body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
        if (pair.empty()) continue;
        if (fields.size() == max_fields)
            throw HttpError(413, "payload_too_large", "too many form fields (the limit is " + std::to_string(max_fields) + ")");
        std::size_t eq = pair.find('=');
        auto name = codec::percent_decode(pair.substr(0, eq), true);
        auto value = codec::percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
        if (!name || !value)
            throw HttpError(400, "bad_request", "invalid percent-encoding (or NUL byte) in form data");
        fields.emplace_back(std::move(*name), std::move(*value));
    }
    return fields;
}

std::optional<std::string_view> field(const Fields& fields, std::string_view name) {
    for (const auto& [k, v] : fields)
        if (k == name) return std::string_view(v);
    return std::nullopt;
}

}  // namespace photoshare::http
