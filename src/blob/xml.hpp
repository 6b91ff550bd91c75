// The little XML that S3 answers with (error bodies, list results, upload ids): element
// text by tag name. S3's answers are flat enough that no general parser is needed; text is
// unescaped (the five entities and numeric references).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace photoshare::blob::xml {

// The text of every <tag>...</tag> (or <tag attr="...">...</tag>) in document order;
// <tag/> gives "".
std::vector<std::string> all(std::string_view doc, std::string_view tag);
// The first, or nullopt.
std::optional<std::string> first(std::string_view doc, std::string_view tag);
// Text escaped for an element's content.
std::string escape(std::string_view text);
std::string unescape(std::string_view text);

}  // namespace photoshare::blob::xml
