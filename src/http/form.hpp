// application/x-www-form-urlencoded bodies and query strings.
// Decoded values are bytes: nothing here checks UTF-8 (that is the application's call), but
// NUL is refused everywhere because no legitimate form value needs it and C APIs downstream
// (SQLite text, file names, logs) would silently truncate at it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>


namespace photoshare::http {

using Fields = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::size_t default_max_fields = 1000;

// Splits on '&', then on the first '='; a name without '=' has an empty value and empty
// pieces ("a=1&&b=2") are skipped. Order and duplicates are kept.
// Throws HttpError 400 "bad_request" for an invalid escape or NUL, and 413
// "payload_too_large" when there are more than max_fields fields, so that a hostile body
// cannot make us build an arbitrarily large vector.
Fields parse_urlencoded(std::string_view body, std::size_t max_fields = default_max_fields);

// Value of the first field with this name.
std::optional<std::string_view> field(const Fields& fields, std::string_view name);

}  // namespace photoshare::http
