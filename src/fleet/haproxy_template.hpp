// One HAProxy configuration made from another: the file is read as sections of directives
// (its comments and blank lines left out), the directives a use of it must change are
// replaced, and the result is written again in HAProxy's usual layout. Every edit names the
// directive it changes and throws std::logic_error when the template does not have it
// exactly once, so a template edited out from under its users fails their tests, not a
// running fleet. Pure: no files, no clock.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace photoshare::fleet {

struct HaproxySection {
    std::vector<std::string> comments;  // written above the header ("# ..." lines)
    std::string header;                 // "global", "backend photoshare", "listen stats"
    std::vector<std::string> lines;     // directives (and "# ..." comments), without indentation
};

class HaproxyTemplate {
public:
    // Throws std::invalid_argument for a directive outside any section.
    static HaproxyTemplate parse(std::string_view text);

    // The section with this header (exactly one).
    HaproxySection& section(std::string_view header);
    // The one directive of `header` that is `keyword` or starts with it and a space.
    std::string& directive(std::string_view header, std::string_view keyword);

    // The directive replaced by `lines` (none: removed).
    void replace(std::string_view header, std::string_view keyword, const std::vector<std::string>& lines);
    // Every directive `keyword` of the section (at least one) replaced by `lines`, where the first was.
    void replace_all(std::string_view header, std::string_view keyword, const std::vector<std::string>& lines);
    // `lines` after the directive.
    void insert_after(std::string_view header, std::string_view keyword, const std::vector<std::string>& lines);
    // The directive's first argument (the word after `keyword`) set to `value`.
    void set_argument(std::string_view header, std::string_view keyword, std::string_view value);
    void remove_section(std::string_view header);
    // A section added after the one named `after`.
    void insert_section_after(std::string_view after, HaproxySection section);

    // `preamble` ("# ..." lines) first, then the sections, a blank line between any two;
    // directives indented by four spaces.
    std::string render(const std::vector<std::string>& preamble) const;

    std::vector<HaproxySection> sections;
};

}  // namespace photoshare::fleet
