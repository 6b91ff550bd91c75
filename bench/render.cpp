// Renders benchmark results kept as CSV: an SVG line chart, or a markdown table (printed, or
// written into a document between marker comments). The benchmarks write data; this is the
// one place that turns data into figures, so each figure of docs/PERFORMANCE.md can be made
// again from its CSV by one command.
//
//   render svg --csv FILE --x COL --y COL --series COL --out FILE.svg [--title T]
//              [--subtitle S] [--x-label L] [--y-label L] [--log-y] [--hline V[:LABEL]]
//              [--flag COL]...
//   render table --csv FILE [--column KEY[:HEADER[:DIGITS]]]... [--text LINE]...
//              [--doc FILE --section NAME]
//
// svg: one line per value of the series column (in order of first appearance), its points
// sorted by x; x is linear from 0, y linear from 0 or (--log-y) logarithmic over whole
// decades. --hline draws a dashed horizontal line (a bound) with its label; a point whose row
// has a --flag column above 0 is marked with a cross (errors, timeouts).
// table: the columns asked for (default: all), DIGITS decimals for numbers; a column whose
// cells are all numbers is aligned right. --text lines come first, as a paragraph. With --doc,
// the lines between "<!-- NAME:begin" and "<!-- NAME:end -->" (the markers are kept) are
// replaced, and the document is rewritten whole or not at all; without it, the table is printed.
//
// CSV as RFC 4180: a header row, comma-separated fields, quoted with "..." when they hold a
// comma, a quote ("") or a line break. Exit status: 0 done, 2 bad arguments, 1 bad input
// (unreadable file, ragged row, unknown column, a cell that is not a number where one is
// needed, missing markers); the message says which.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace {

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};
struct InputError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

constexpr std::string_view kUsage =
    "usage: render svg --csv FILE --x COL --y COL --series COL --out FILE.svg [--title T]\n"
    "                  [--subtitle S] [--x-label L] [--y-label L] [--log-y] [--hline V[:LABEL]]\n"
    "                  [--flag COL]...\n"
    "       render table --csv FILE [--column KEY[:HEADER[:DIGITS]]]... [--text LINE]...\n"
    "                  [--doc FILE --section NAME]\n";

// ---------------------------------------------------------------------------------------
// CSV

struct Table {
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;

    std::size_t column(const std::string& name, const std::string& file) const {
        const auto it = std::find(header.begin(), header.end(), name);
        if (it == header.end()) throw InputError(file + ": no column '" + name + "'");
        return static_cast<std::size_t>(it - header.begin());
    }
};

std::string read_whole(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path + ": cannot be read");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Records of fields; a record's line number (1-based, where it starts) for messages.
std::vector<std::pair<int, std::vector<std::string>>> parse_csv(const std::string& text, const std::string& file) {
    std::vector<std::pair<int, std::vector<std::string>>> records;
    std::vector<std::string> fields;
    std::string field;
    bool quoted = false, any = false;
    int line = 1, start = 1;
    const auto end_record = [&] {
        if (any || !field.empty() || !fields.empty()) {
            fields.push_back(std::move(field));
            records.emplace_back(start, std::move(fields));
        }
        fields.clear();
        field.clear();
        any = false;
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                if (c == '\n') ++line;
                field += c;
            }
        } else if (c == '"' && field.empty()) {
            quoted = any = true;
        } else if (c == ',') {
            fields.push_back(std::move(field));
            field.clear();
            any = true;
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            end_record();
            start = ++line;
        } else {
            field += c;
        }
    }
    if (quoted) throw InputError(file + ":" + std::to_string(start) + ": a quoted field is not closed");
    end_record();
    return records;
}

Table read_csv(const std::string& path) {
    auto records = parse_csv(read_whole(path), path);
    if (records.empty()) throw InputError(path + ": no header row");
    Table t;
    t.header = std::move(records.front().second);
    for (std::size_t i = 1; i < records.size(); ++i) {
        auto& [line, fields] = records[i];
        if (fields.size() != t.header.size())
            throw InputError(path + ":" + std::to_string(line) + ": " + std::to_string(fields.size()) + " fields, the header has " +
                             std::to_string(t.header.size()));
        t.rows.push_back(std::move(fields));
    }
    return t;
}

std::optional<double> as_number(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    if (s.empty()) return std::nullopt;
    if (s.front() == '+') s.remove_prefix(1);
    double v = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
    return v;
}

double number_at(const Table& t, std::size_t row, std::size_t col, const std::string& file) {
    const auto v = as_number(t.rows[row][col]);
    if (!v) throw InputError(file + ": row " + std::to_string(row + 1) + ", column '" + t.header[col] + "': '" + t.rows[row][col] +
                             "' is not a number");
    return *v;
}

// ---------------------------------------------------------------------------------------
// Output files: written whole or not at all

void write_file(const std::string& path, const std::string& content) {
    const auto tmp = path + ".render-tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << content;
        out.flush();
        if (!out) throw InputError(tmp + ": cannot be written");
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        throw InputError(path + ": cannot be replaced");
    }
}

// ---------------------------------------------------------------------------------------
// SVG

std::string xml_escape(std::string_view s) {
    std::string out;
    for (const char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string fixed(double v, int digits) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(digits) << v;
    return s.str();
}

// A tick label: 20000 -> "20k", 0.1 -> "0.1", 2.5 -> "2.5".
std::string tick_label(double v) {
    std::ostringstream s;
    if (std::fabs(v) >= 1000 && std::fmod(v, 1000) == 0)
        s << v / 1000 << "k";
    else
        s << std::setprecision(6) << v;
    return s.str();
}

// The step of about `wanted` ticks from 0 to max: 1, 2 or 5 times a power of ten.
double nice_step(double max, int wanted) {
    if (max <= 0) return 1;
    const double raw = max / wanted;
    const double p = std::pow(10, std::floor(std::log10(raw)));
    for (const double f : {1.0, 2.0, 5.0})
        if (raw <= f * p) return f * p;
    return 10 * p;
}

struct SvgOptions {
    std::string csv, out, x, y, series, title, subtitle, x_label, y_label, hline_label;
    std::optional<double> hline;
    std::vector<std::string> flags;
    bool log_y = false;
};

struct Point {
    double x = 0, y = 0;
    std::vector<std::pair<std::string, double>> flagged;  // flag columns above 0
};

constexpr std::string_view kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

std::string render_svg(const SvgOptions& o, const Table& t) {
    const auto xc = t.column(o.x, o.csv), yc = t.column(o.y, o.csv), sc = t.column(o.series, o.csv);
    std::vector<std::size_t> fc;
    for (const auto& f : o.flags) fc.push_back(t.column(f, o.csv));
    std::vector<std::pair<std::string, std::vector<Point>>> series;
    for (std::size_t r = 0; r < t.rows.size(); ++r) {
        Point p{number_at(t, r, xc, o.csv), number_at(t, r, yc, o.csv), {}};
        if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;  // a point not measured
        for (const auto c : fc)
            if (const auto v = number_at(t, r, c, o.csv); v > 0) p.flagged.emplace_back(t.header[c], v);
        const auto& name = t.rows[r][sc];
        auto it = std::find_if(series.begin(), series.end(), [&](const auto& s) { return s.first == name; });
        if (it == series.end()) it = series.insert(series.end(), {name, {}});
        it->second.push_back(std::move(p));
    }
    if (series.empty()) throw InputError(o.csv + ": no rows to draw");

    double xmax = 0, ymax = 0, ymin_pos = 0;
    for (auto& [name, points] : series) {
        std::stable_sort(points.begin(), points.end(), [](const Point& a, const Point& b) { return a.x < b.x; });
        for (const auto& p : points) {
            xmax = std::max(xmax, p.x);
            ymax = std::max(ymax, p.y);
            if (p.y > 0 && (ymin_pos == 0 || p.y < ymin_pos)) ymin_pos = p.y;
        }
    }
    if (o.hline) {
        ymax = std::max(ymax, *o.hline);
        if (*o.hline > 0 && (ymin_pos == 0 || *o.hline < ymin_pos)) ymin_pos = *o.hline;
    }
    const double xstep = nice_step(xmax, 6);
    const double xtop = std::max(xstep, std::ceil(xmax / xstep) * xstep);
    // y: [ybottom, ytop]; on a log scale, whole decades (at least one) around the positive values.
    double ybottom = 0, ytop = 0, ystep = 0;
    if (o.log_y) {
        if (ymin_pos <= 0) throw InputError(o.csv + ": --log-y needs a value of '" + o.y + "' above 0");
        const double lo = std::floor(std::log10(ymin_pos)), hi = std::max(lo + 1, std::ceil(std::log10(ymax)));
        ybottom = std::pow(10, lo);
        ytop = std::pow(10, hi);
    } else {
        ystep = nice_step(ymax, 5);
        ytop = std::max(ystep, std::ceil(ymax / ystep) * ystep);
    }

    constexpr double W = 880, H = 500, left = 78, right = 620, top = 78, bottom = 430;
    const auto px = [&](double x) { return left + (right - left) * x / xtop; };
    const auto py = [&](double y) {
        if (o.log_y) {
            const double f = (std::log10(std::max(y, ybottom)) - std::log10(ybottom)) / (std::log10(ytop) - std::log10(ybottom));
            return bottom - (bottom - top) * f;
        }
        return bottom - (bottom - top) * y / ytop;
    };

    std::ostringstream s;
    s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\" viewBox=\"0 0 " << W << " " << H
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
    s << "<style>.grid{stroke:#ddd;stroke-width:1} .axis{stroke:#333;stroke-width:1} .tick{fill:#333}"
         " .series{fill:none;stroke-width:2} .bound{stroke:#555;stroke-width:1.5;stroke-dasharray:6 4}"
         " .flagged{stroke:#000;stroke-width:2} text{fill:#222}</style>\n";
    s << "<rect width=\"" << W << "\" height=\"" << H << "\" fill=\"#fff\"/>\n";
    if (!o.title.empty()) s << "<text class=\"title\" x=\"" << W / 2 << "\" y=\"26\" text-anchor=\"middle\" font-size=\"16\">" << xml_escape(o.title) << "</text>\n";
    if (!o.subtitle.empty())
        s << "<text class=\"subtitle\" x=\"" << W / 2 << "\" y=\"46\" text-anchor=\"middle\" font-size=\"11\">" << xml_escape(o.subtitle) << "</text>\n";

    // Grid and tick labels
    const int xticks = static_cast<int>(std::lround(xtop / xstep));
    for (int i = 0; i <= xticks; ++i) {
        const double v = i * xstep, x = px(v);
        s << "<line class=\"grid\" x1=\"" << fixed(x, 1) << "\" x2=\"" << fixed(x, 1) << "\" y1=\"" << top << "\" y2=\"" << bottom << "\"/>\n";
        s << "<text class=\"tick x\" x=\"" << fixed(x, 1) << "\" y=\"" << bottom + 18 << "\" text-anchor=\"middle\">" << tick_label(v) << "</text>\n";
    }
    std::vector<double> yticks;
    if (o.log_y) {
        const auto lo = std::lround(std::log10(ybottom)), hi = std::lround(std::log10(ytop));
        for (auto k = lo; k <= hi; ++k) yticks.push_back(std::pow(10, static_cast<double>(k)));
    } else {
        const int n = static_cast<int>(std::lround(ytop / ystep));
        for (int i = 0; i <= n; ++i) yticks.push_back(i * ystep);
    }
    for (const double v : yticks) {
        const double y = py(v);
        s << "<line class=\"grid\" x1=\"" << left << "\" x2=\"" << right << "\" y1=\"" << fixed(y, 1) << "\" y2=\"" << fixed(y, 1) << "\"/>\n";
        s << "<text class=\"tick y\" x=\"" << left - 8 << "\" y=\"" << fixed(y + 4, 1) << "\" text-anchor=\"end\">" << tick_label(v) << "</text>\n";
    }
    s << "<line class=\"axis\" x1=\"" << left << "\" x2=\"" << right << "\" y1=\"" << bottom << "\" y2=\"" << bottom << "\"/>\n";
    s << "<line class=\"axis\" x1=\"" << left << "\" x2=\"" << left << "\" y1=\"" << top << "\" y2=\"" << bottom << "\"/>\n";
    s << "<text class=\"x-label\" x=\"" << (left + right) / 2 << "\" y=\"" << bottom + 42 << "\" text-anchor=\"middle\">"
      << xml_escape(o.x_label.empty() ? o.x : o.x_label) << "</text>\n";
    s << "<text class=\"y-label\" x=\"20\" y=\"" << (top + bottom) / 2 << "\" text-anchor=\"middle\" transform=\"rotate(-90 20 "
      << (top + bottom) / 2 << ")\">" << xml_escape(o.y_label.empty() ? o.y : o.y_label) << (o.log_y ? " (log scale)" : "") << "</text>\n";

    if (o.hline) {
        const double y = py(*o.hline);
        s << "<line class=\"bound\" x1=\"" << left << "\" x2=\"" << right << "\" y1=\"" << fixed(y, 1) << "\" y2=\"" << fixed(y, 1) << "\"/>\n";
        if (!o.hline_label.empty())
            s << "<text class=\"bound-label\" x=\"" << right - 4 << "\" y=\"" << fixed(y - 5, 1) << "\" text-anchor=\"end\">"
              << xml_escape(o.hline_label) << "</text>\n";
    }

    // The series, then the legend
    bool any_flagged = false;
    for (std::size_t i = 0; i < series.size(); ++i) {
        const auto& [name, points] = series[i];
        const auto colour = kColours[i % std::size(kColours)];
        std::string d;
        for (const auto& p : points) d += (d.empty() ? "M" : " L") + fixed(px(p.x), 1) + " " + fixed(py(p.y), 1);
        s << "<path class=\"series\" data-series=\"" << xml_escape(name) << "\" stroke=\"" << colour << "\" d=\"" << d << "\"/>\n";
        for (const auto& p : points) {
            const double x = px(p.x), y = py(p.y);
            std::string tip = name + ": " + o.x + " " + tick_label(p.x) + ", " + o.y + " " + tick_label(p.y);
            for (const auto& [col, v] : p.flagged) tip += ", " + col + " " + tick_label(v);
            s << "<circle data-series=\"" << xml_escape(name) << "\" cx=\"" << fixed(x, 1) << "\" cy=\"" << fixed(y, 1) << "\" r=\"3.5\" fill=\""
              << colour << "\"><title>" << xml_escape(tip) << "</title></circle>\n";
            if (!p.flagged.empty()) {
                any_flagged = true;
                s << "<path class=\"flagged\" data-series=\"" << xml_escape(name) << "\" d=\"M" << fixed(x - 6, 1) << " " << fixed(y - 6, 1) << " L"
                  << fixed(x + 6, 1) << " " << fixed(y + 6, 1) << " M" << fixed(x - 6, 1) << " " << fixed(y + 6, 1) << " L" << fixed(x + 6, 1)
                  << " " << fixed(y - 6, 1) << "\"/>\n";
            }
        }
    }
    double ly = top + 6;
    for (std::size_t i = 0; i < series.size(); ++i) {
        s << "<line x1=\"" << right + 20 << "\" x2=\"" << right + 44 << "\" y1=\"" << ly << "\" y2=\"" << ly << "\" stroke=\""
          << kColours[i % std::size(kColours)] << "\" stroke-width=\"2\"/>\n";
        s << "<text class=\"legend\" x=\"" << right + 50 << "\" y=\"" << ly + 4 << "\">" << xml_escape(series[i].first) << "</text>\n";
        ly += 20;
    }
    if (any_flagged) {
        std::string cols;
        for (const auto& f : o.flags) cols += (cols.empty() ? "" : " or ") + f;
        s << "<path class=\"flagged\" d=\"M" << right + 26 << " " << ly - 6 << " L" << right + 38 << " " << ly + 6 << " M" << right + 26 << " "
          << ly + 6 << " L" << right + 38 << " " << ly - 6 << "\"/>\n";
        s << "<text class=\"legend\" x=\"" << right + 50 << "\" y=\"" << ly + 4 << "\">" << xml_escape(cols + " above 0") << "</text>\n";
    }
    s << "</svg>\n";
    return s.str();
}

// ---------------------------------------------------------------------------------------
// Markdown

struct ColumnSpec {
    std::string key, header;
    std::optional<int> digits;
};

ColumnSpec parse_column(const std::string& spec) {
    ColumnSpec c;
    const auto a = spec.find(':');
    c.key = spec.substr(0, a);
    c.header = c.key;
    if (a != std::string::npos) {
        const auto b = spec.find(':', a + 1);
        c.header = spec.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
        if (b != std::string::npos) {
            const auto digits = spec.substr(b + 1);
            int d = -1;
            const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), d);
            if (ec != std::errc{} || ptr != digits.data() + digits.size() || d < 0 || d > 12)
                throw UsageError("--column " + spec + ": DIGITS must be a number of decimals, 0-12");
            c.digits = d;
        }
    }
    if (c.key.empty()) throw UsageError("--column " + spec + ": no column name");
    return c;
}

std::string md_cell(std::string_view s) {
    std::string out;
    for (const char c : s) {
        if (c == '|')
            out += "\\|";
        else if (c == '\n' || c == '\r')
            out += ' ';
        else
            out += c;
    }
    return out;
}

std::string render_table(const Table& t, const std::string& file, std::vector<ColumnSpec> specs, const std::vector<std::string>& text) {
    if (specs.empty())
        for (const auto& h : t.header) specs.push_back({h, h, std::nullopt});
    std::vector<std::size_t> cols;
    cols.reserve(specs.size());
    for (const auto& c : specs) cols.push_back(t.column(c.key, file));
    std::ostringstream s;
    for (const auto& line : text) s << line << "\n";
    if (!text.empty()) s << "\n";
    s << "|";
    for (const auto& c : specs) s << " " << md_cell(c.header) << " |";
    s << "\n|";
    for (const auto col : cols) {
        const bool numeric = !t.rows.empty() && std::all_of(t.rows.begin(), t.rows.end(), [&](const auto& r) { return as_number(r[col]).has_value(); });
        s << (numeric ? "---:|" : "---|");
    }
    s << "\n";
    for (const auto& row : t.rows) {
        s << "|";
        for (std::size_t i = 0; i < cols.size(); ++i) {
            const auto& cell = row[cols[i]];
            const auto v = as_number(cell);
            s << " " << md_cell(v && specs[i].digits && std::isfinite(*v) ? fixed(*v, *specs[i].digits) : cell) << " |";
        }
        s << "\n";
    }
    return s.str();
}

// The document with the lines between its NAME markers replaced by `body`.
std::string replace_section(const std::string& doc, const std::string& path, const std::string& name, const std::string& body) {
    const std::string begin = "<!-- " + name + ":begin", end = "<!-- " + name + ":end -->";
    // A marker is a line that starts with it.
    const auto find_line = [&](const std::string& marker, std::size_t from) {
        for (auto pos = doc.find(marker, from); pos != std::string::npos; pos = doc.find(marker, pos + 1))
            if (pos == 0 || doc[pos - 1] == '\n') return pos;
        return std::string::npos;
    };
    const auto b = find_line(begin, 0);
    if (b == std::string::npos) throw InputError(path + ": no line starting with '" + begin + "'");
    const auto after_begin = doc.find('\n', b);
    if (after_begin == std::string::npos) throw InputError(path + ": nothing after '" + begin + "'");
    const auto e = find_line(end, after_begin + 1);
    if (e == std::string::npos) throw InputError(path + ": no line '" + end + "' after '" + begin + "'");
    if (find_line(begin, after_begin + 1) != std::string::npos) throw InputError(path + ": '" + begin + "' is there twice");
    return doc.substr(0, after_begin + 1) + body + doc.substr(e);
}

// ---------------------------------------------------------------------------------------

struct Args {
    std::vector<std::string> v;
    std::size_t i = 0;
    bool more() const { return i < v.size(); }
    std::string value(const std::string& option) {
        if (i >= v.size()) throw UsageError(option + " needs a value");
        return v[i++];
    }
};

int run_svg(Args& a) {
    SvgOptions o;
    while (a.more()) {
        const auto arg = a.value("");
        if (arg == "--csv") o.csv = a.value(arg);
        else if (arg == "--out") o.out = a.value(arg);
        else if (arg == "--x") o.x = a.value(arg);
        else if (arg == "--y") o.y = a.value(arg);
        else if (arg == "--series") o.series = a.value(arg);
        else if (arg == "--title") o.title = a.value(arg);
        else if (arg == "--subtitle") o.subtitle = a.value(arg);
        else if (arg == "--x-label") o.x_label = a.value(arg);
        else if (arg == "--y-label") o.y_label = a.value(arg);
        else if (arg == "--log-y") o.log_y = true;
        else if (arg == "--flag") o.flags.push_back(a.value(arg));
        else if (arg == "--hline") {
            const auto spec = a.value(arg);
            const auto colon = spec.find(':');
            const auto v = as_number(spec.substr(0, colon));
            if (!v || !std::isfinite(*v)) throw UsageError("--hline " + spec + ": expected VALUE[:LABEL]");
            o.hline = *v;
            if (colon != std::string::npos) o.hline_label = spec.substr(colon + 1);
        } else {
            throw UsageError("svg: unknown option '" + arg + "'");
        }
    }
    const std::pair<const char*, const std::string*> required[] = {
        {"--csv", &o.csv}, {"--out", &o.out}, {"--x", &o.x}, {"--y", &o.y}, {"--series", &o.series}};
    for (const auto& [opt, val] : required)
        if (val->empty()) throw UsageError(std::string("svg needs ") + opt);
    write_file(o.out, render_svg(o, read_csv(o.csv)));
    return 0;
}

int run_table(Args& a) {
    std::string csv, doc, section;
    std::vector<ColumnSpec> specs;
    std::vector<std::string> text;
    while (a.more()) {
        const auto arg = a.value("");
        if (arg == "--csv") csv = a.value(arg);
        else if (arg == "--column") specs.push_back(parse_column(a.value(arg)));
        else if (arg == "--text") text.push_back(a.value(arg));
        else if (arg == "--doc") doc = a.value(arg);
        else if (arg == "--section") section = a.value(arg);
        else throw UsageError("table: unknown option '" + arg + "'");
    }
    if (csv.empty()) throw UsageError("table needs --csv");
    if (doc.empty() != section.empty()) throw UsageError("--doc and --section go together");
    const auto body = render_table(read_csv(csv), csv, std::move(specs), text);
    if (doc.empty())
        std::cout << body;
    else
        write_file(doc, replace_section(read_whole(doc), doc, section, body));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        Args a{std::vector<std::string>(argv + 1, argv + argc)};
        const auto command = a.more() ? a.value("") : "";
        if (command == "svg") return run_svg(a);
        if (command == "table") return run_table(a);
        if (command == "-h" || command == "--help") {
            std::cout << kUsage;
            return 0;
        }
        throw UsageError(command.empty() ? "no command (svg or table)" : "unknown command '" + command + "'");
    } catch (const UsageError& e) {
        std::cerr << "render: " << e.what() << "\n" << kUsage;
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "render: " << e.what() << "\n";
        return 1;
    }
}
