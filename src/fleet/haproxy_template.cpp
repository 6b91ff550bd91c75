#include "fleet/haproxy_template.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace photoshare::fleet {

namespace {

std::string_view trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) return {};
    return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

bool is_directive(std::string_view line, std::string_view keyword) {
    return line.starts_with(keyword) && (line.size() == keyword.size() || line[keyword.size()] == ' ');
}

using Lines = std::vector<std::string>;

// The positions of `keyword` in the section's directives.
std::vector<std::size_t> find_all(const HaproxySection& s, std::string_view keyword) {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < s.lines.size(); ++i)
        if (is_directive(s.lines[i], keyword)) out.push_back(i);
    return out;
}

std::size_t find_one(const HaproxySection& s, std::string_view keyword) {
    const auto found = find_all(s, keyword);
    if (found.size() != 1)
        throw std::logic_error(fmt::format("HAProxy template: '{}' has {} '{}' directives, not one", s.header, found.size(), keyword));
    return found.front();
}

}  // namespace

HaproxyTemplate HaproxyTemplate::parse(std::string_view text) {
    HaproxyTemplate t;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        const auto raw = text.substr(start, end - start);
        start = end + 1;
        const auto line = trim(raw);
        if (line.empty() || line.front() == '#') continue;
        if (raw.front() != ' ' && raw.front() != '\t') {
            t.sections.push_back(HaproxySection{{}, std::string(line), {}});
            continue;
        }
        if (t.sections.empty()) throw std::invalid_argument(fmt::format("HAProxy template: '{}' is outside any section", line));
        t.sections.back().lines.emplace_back(line);
    }
    return t;
}

HaproxySection& HaproxyTemplate::section(std::string_view header) {
    HaproxySection* found = nullptr;
    int count = 0;
    for (auto& s : sections)
        if (s.header == header) {
            found = &s;
            ++count;
        }
    if (count != 1) throw std::logic_error(fmt::format("HAProxy template: {} sections '{}', not one", count, header));
    return *found;
}

std::string& HaproxyTemplate::directive(std::string_view header, std::string_view keyword) {
    auto& s = section(header);
    return s.lines[find_one(s, keyword)];
}

void HaproxyTemplate::replace(std::string_view header, std::string_view keyword, const Lines& lines) {
    auto& s = section(header);
    const auto at = s.lines.begin() + static_cast<std::ptrdiff_t>(find_one(s, keyword));
    s.lines.insert(s.lines.erase(at), lines.begin(), lines.end());
}

void HaproxyTemplate::replace_all(std::string_view header, std::string_view keyword, const Lines& lines) {
    auto& s = section(header);
    const auto found = find_all(s, keyword);
    if (found.empty()) throw std::logic_error(fmt::format("HAProxy template: '{}' has no '{}' directive", header, keyword));
    std::erase_if(s.lines, [&](const std::string& line) { return is_directive(line, keyword); });
    s.lines.insert(s.lines.begin() + static_cast<std::ptrdiff_t>(found.front()), lines.begin(), lines.end());
}

void HaproxyTemplate::insert_after(std::string_view header, std::string_view keyword, const Lines& lines) {
    auto& s = section(header);
    const auto at = s.lines.begin() + static_cast<std::ptrdiff_t>(find_one(s, keyword)) + 1;
    s.lines.insert(at, lines.begin(), lines.end());
}

void HaproxyTemplate::set_argument(std::string_view header, std::string_view keyword, std::string_view value) {
    auto& line = directive(header, keyword);
    const auto from = keyword.size() + 1;
    if (line.size() <= from) throw std::logic_error(fmt::format("HAProxy template: '{}' in '{}' has no argument", keyword, header));
    const auto to = std::min(line.find(' ', from), line.size());
    line.replace(from, to - from, value);
}

void HaproxyTemplate::remove_section(std::string_view header) {
    const auto& s = section(header);
    sections.erase(sections.begin() + (&s - sections.data()));
}

void HaproxyTemplate::insert_section_after(std::string_view after, HaproxySection added) {
    const auto& s = section(after);
    sections.insert(sections.begin() + (&s - sections.data()) + 1, std::move(added));
}

std::string HaproxyTemplate::render(const Lines& preamble) const {
    std::string out;
    for (const auto& line : preamble) out += line + "\n";
    bool first = preamble.empty();
    for (const auto& s : sections) {
        if (!first) out += "\n";
        first = false;
        for (const auto& c : s.comments) out += c + "\n";
        out += s.header + "\n";
        for (const auto& line : s.lines) out += "    " + line + "\n";
    }
    return out;
}

}  // namespace photoshare::fleet
