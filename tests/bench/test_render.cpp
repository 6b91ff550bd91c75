// bench/render, which draws the figures of docs/PERFORMANCE.md from benchmark CSV: the SVG
// chart puts each point where its numbers say (one line per series, x linear, y linear or
// logarithmic, the bound and the flagged points), and the markdown table replaces exactly the
// lines between its markers and nothing else. Bad input fails with a message and leaves the
// files as they were.
#include "support/files.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

using namespace pstest;

namespace {

std::string render_binary() {
    if (const char* e = std::getenv("RENDER_BINARY"); e && *e) return e;
    return RENDER_BINARY;
}

CommandResult render(std::vector<std::string> args) {
    args.insert(args.begin(), render_binary());
    return run(args, std::chrono::seconds(20));
}

void write(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    ASSERT_TRUE(out.good()) << path;
}

// Rows out of order within a series (the chart sorts them by x), a series name with a comma
// (quoted) and with the characters XML escapes, one point with errors.
const std::string kKneeCsv =
    "target,offered_rate,p99,errors,timeouts\n"
    "\"level 4, memcached\",1000,0.5,0,0\n"
    "\"level 4, memcached\",4000,50,3,0\n"
    "\"level 4, memcached\",2000,2,0,0\n"
    "nginx & <static>,1000,0.2,0,0\n"
    "nginx & <static>,8000,0.8,0,0\n";

struct XY {
    double x, y;
};

// The series lines of an SVG: name (as written, escaped) and the points of its path.
std::vector<std::pair<std::string, std::vector<XY>>> series_paths(const std::string& svg) {
    std::vector<std::pair<std::string, std::vector<XY>>> out;
    const std::regex path(R"re(<path class="series" data-series="([^"]*)" stroke="[^"]*" d="([^"]*)"/>)re");
    for (auto it = std::sregex_iterator(svg.begin(), svg.end(), path); it != std::sregex_iterator(); ++it) {
        std::vector<XY> points;
        std::istringstream d((*it)[2].str());
        std::string command;
        XY p{};
        while (d >> command >> p.y) {  // "M12.5" / "L12.5" then y
            p.x = std::stod(command.substr(1));
            points.push_back(p);
        }
        out.emplace_back((*it)[1].str(), points);
    }
    return out;
}

// The texts of <text class="CLASS" ...>, and the y attribute of each.
std::vector<std::pair<std::string, double>> texts(const std::string& svg, const std::string& cls) {
    std::vector<std::pair<std::string, double>> out;
    const std::regex text("<text class=\"" + cls + "\" x=\"[^\"]*\" y=\"([^\"]*)\"[^>]*>([^<]*)</text>");
    for (auto it = std::sregex_iterator(svg.begin(), svg.end(), text); it != std::sregex_iterator(); ++it)
        out.emplace_back((*it)[2].str(), std::stod((*it)[1].str()));
    return out;
}

std::size_t count(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
    return n;
}

}  // namespace

TEST(Render, ChartOnALogScaleHasEveryPointWhereItsNumbersSay) {
    TempDir dir("ps-render");
    write(dir.path() / "knee.csv", kKneeCsv);
    const auto svg_path = dir.path() / "knee.svg";
    const auto r = render({"svg", "--csv", (dir.path() / "knee.csv").string(), "--x", "offered_rate", "--y", "p99", "--series", "target", "--out",
                           svg_path.string(), "--log-y", "--hline", "10:p99 bound 10 ms", "--flag", "errors", "--flag", "timeouts", "--title",
                           "Knee <test>", "--x-label", "offered rate", "--y-label", "p99 ms"});
    ASSERT_TRUE(r.ok()) << r.output;
    const auto svg = read_file(svg_path);
    EXPECT_TRUE(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"")) << svg.substr(0, 200);
    EXPECT_TRUE(svg.ends_with("</svg>\n"));
    EXPECT_NE(svg.find(">Knee &lt;test&gt;</text>"), std::string::npos);
    EXPECT_NE(svg.find(">offered rate</text>"), std::string::npos);
    EXPECT_NE(svg.find(">p99 ms (log scale)</text>"), std::string::npos);

    // One line per series, in order of first appearance, points sorted by x.
    const auto lines = series_paths(svg);
    ASSERT_EQ(lines.size(), 2u) << svg;
    EXPECT_EQ(lines[0].first, "level 4, memcached");
    EXPECT_EQ(lines[1].first, "nginx &amp; &lt;static&gt;");
    ASSERT_EQ(lines[0].second.size(), 3u);
    ASSERT_EQ(lines[1].second.size(), 2u);
    EXPECT_EQ(count(svg, "<circle "), 5u);
    const auto& m = lines[0].second;  // x 1000, 2000, 4000; y 0.5, 2, 50
    ASSERT_LT(m[0].x, m[1].x);
    ASSERT_LT(m[1].x, m[2].x);
    // x is linear from 0: 4000 is three times as far from 1000 as 2000 is, and 1000 is as far from 0.
    EXPECT_NEAR(m[2].x - m[0].x, 3 * (m[1].x - m[0].x), 0.3);
    const auto x_ticks = texts(svg, "tick x");
    ASSERT_FALSE(x_ticks.empty());
    EXPECT_EQ(x_ticks.front().first, "0");
    EXPECT_EQ(x_ticks.back().first, "8k");  // the largest x, 8000, on a tick
    // (coordinates are written to 0.1 px, so seven times a difference is good to 0.8 px)
    EXPECT_NEAR(lines[1].second.back().x - m[0].x, 7 * (m[1].x - m[0].x), 0.8);
    // y grows upwards, logarithmically: the distances are in the ratio of the logarithms.
    ASSERT_GT(m[0].y, m[1].y);
    ASSERT_GT(m[1].y, m[2].y);
    EXPECT_NEAR((m[0].y - m[1].y) / (m[1].y - m[2].y), std::log10(4.0) / std::log10(25.0), 0.02);

    // Whole decades around the values (0.2 to 50), each a tick; the bound on the tick of 10.
    const auto y_ticks = texts(svg, "tick y");
    std::set<std::string> labels;
    double ten = -1, one = -1;
    for (const auto& [label, y] : y_ticks) {
        labels.insert(label);
        if (label == "10") ten = y - 4;  // a label is drawn 4 px below its grid line
        if (label == "1") one = y - 4;
    }
    EXPECT_EQ(labels, (std::set<std::string>{"0.1", "1", "10", "100"}));
    const std::regex bound(R"re(<line class="bound" x1="[^"]*" x2="[^"]*" y1="([^"]*)")re");
    std::smatch b;
    ASSERT_TRUE(std::regex_search(svg, b, bound)) << svg;
    EXPECT_NEAR(std::stod(b[1].str()), ten, 0.15);
    EXPECT_EQ(texts(svg, "bound-label").at(0).first, "p99 bound 10 ms");
    // 2 ms sits log10(2) of a decade above 1 ms.
    EXPECT_NEAR(one - m[1].y, (one - ten) * std::log10(2.0), 0.3);

    // The one point with errors is marked, where it is drawn, and the legend says what the mark means.
    const std::regex flagged(R"re(<path class="flagged" data-series="([^"]*)" d="M([^ ]*) ([^ ]*) )re");
    std::smatch f;
    ASSERT_TRUE(std::regex_search(svg, f, flagged)) << svg;
    EXPECT_EQ(count(svg, "<path class=\"flagged\" data-series="), 1u);
    EXPECT_EQ(f[1].str(), "level 4, memcached");
    EXPECT_NEAR(std::stod(f[2].str()) + 6, m[2].x, 0.15);
    EXPECT_NEAR(std::stod(f[3].str()) + 6, m[2].y, 0.15);
    EXPECT_NE(svg.find(">errors or timeouts above 0</text>"), std::string::npos);
    const auto legend = texts(svg, "legend");
    ASSERT_EQ(legend.size(), 3u);
    EXPECT_EQ(legend[0].first, "level 4, memcached");
    EXPECT_EQ(legend[1].first, "nginx &amp; &lt;static&gt;");
}

TEST(Render, ChartOnALinearScaleIsProportional) {
    TempDir dir("ps-render");
    write(dir.path() / "knee.csv", kKneeCsv);
    const auto svg_path = dir.path() / "knee.svg";
    const auto r = render({"svg", "--csv", (dir.path() / "knee.csv").string(), "--x", "offered_rate", "--y", "p99", "--series", "target", "--out",
                           svg_path.string()});
    ASSERT_TRUE(r.ok()) << r.output;
    const auto svg = read_file(svg_path);
    EXPECT_EQ(svg.find("log scale"), std::string::npos);
    EXPECT_EQ(svg.find("class=\"bound\""), std::string::npos);
    EXPECT_EQ(svg.find("class=\"flagged\""), std::string::npos);  // no --flag
    const auto lines = series_paths(svg);
    ASSERT_EQ(lines.size(), 2u);
    const auto& m = lines[0].second;  // y 0.5, 2, 50
    ASSERT_EQ(m.size(), 3u);
    EXPECT_NEAR((m[0].y - m[2].y) / (m[0].y - m[1].y), 49.5 / 1.5, 0.6);
    const auto y_ticks = texts(svg, "tick y");
    ASSERT_FALSE(y_ticks.empty());
    EXPECT_EQ(y_ticks.front().first, "0");
    // 50 lies at 50 / top of the height from the 0 line.
    const double zero = y_ticks.front().second - 4, top = y_ticks.back().second - 4;
    EXPECT_NEAR((zero - m[2].y) / (zero - top), 50 / std::stod(y_ticks.back().first), 0.002);
}

TEST(Render, TableReplacesOnlyTheLinesBetweenItsMarkers) {
    TempDir dir("ps-render");
    write(dir.path() / "knee.csv", kKneeCsv);
    const std::string before = "# Doc\n\nSome text.\n<!-- knee:begin (written by bench/knee.sh) -->\n";
    const std::string after = "<!-- knee:end -->\n\n<!-- knee-summary:begin -->\nkeep me\n<!-- knee-summary:end -->\ntail\n";
    const auto doc = dir.path() / "doc.md";
    write(doc, before + "old table\nold text\n" + after);
    const std::vector<std::string> args{"table", "--csv", (dir.path() / "knee.csv").string(), "--doc", doc.string(), "--section", "knee",
                                        "--text", "Measured here.", "--text", "Second line.", "--column", "target:Target",
                                        "--column", "offered_rate:offered req/s:0", "--column", "p99:p99 ms:2"};
    const auto r = render(args);
    ASSERT_TRUE(r.ok()) << r.output;
    const std::string table =
        "Measured here.\n"
        "Second line.\n"
        "\n"
        "| Target | offered req/s | p99 ms |\n"
        "|---|---:|---:|\n"
        "| level 4, memcached | 1000 | 0.50 |\n"
        "| level 4, memcached | 4000 | 50.00 |\n"
        "| level 4, memcached | 2000 | 2.00 |\n"
        "| nginx & <static> | 1000 | 0.20 |\n"
        "| nginx & <static> | 8000 | 0.80 |\n";
    EXPECT_EQ(read_file(doc), before + table + after);
    // Again: the same document, not a second table.
    ASSERT_TRUE(render(args).ok());
    EXPECT_EQ(read_file(doc), before + table + after);
}

TEST(Render, TableOfEveryColumnEscapesWhatMarkdownWouldMisread) {
    TempDir dir("ps-render");
    write(dir.path() / "t.csv", "name,value,note\r\n\"a|b\",1.5,\"say \"\"hi\"\"\"\r\nc,nan,\"two\nlines\"\r\nd,-2,\r\n");
    const auto r = render({"table", "--csv", (dir.path() / "t.csv").string()});
    ASSERT_TRUE(r.ok()) << r.output;
    EXPECT_EQ(r.output,
              "| name | value | note |\n"
              "|---|---:|---|\n"
              "| a\\|b | 1.5 | say \"hi\" |\n"
              "| c | nan | two lines |\n"
              "| d | -2 |  |\n");
}

TEST(Render, BadInputFailsAndLeavesTheFilesAsTheyWere) {
    TempDir dir("ps-render");
    const auto csv = (dir.path() / "knee.csv").string();
    write(csv, kKneeCsv);
    const auto doc = dir.path() / "doc.md";
    const std::string no_end = "text\n<!-- knee:begin -->\nold\n";
    write(doc, no_end);

    auto r = render({"table", "--csv", csv, "--doc", doc.string(), "--section", "knee"});
    EXPECT_EQ(r.exit_code(), 1) << r.output;
    EXPECT_NE(r.output.find("<!-- knee:end -->"), std::string::npos) << r.output;
    EXPECT_EQ(read_file(doc), no_end);
    r = render({"table", "--csv", csv, "--doc", doc.string(), "--section", "other"});
    EXPECT_EQ(r.exit_code(), 1) << r.output;
    EXPECT_NE(r.output.find("<!-- other:begin"), std::string::npos) << r.output;
    EXPECT_EQ(read_file(doc), no_end);

    r = render({"table", "--csv", csv, "--column", "p95"});
    EXPECT_EQ(r.exit_code(), 1);
    EXPECT_NE(r.output.find("no column 'p95'"), std::string::npos) << r.output;

    const auto svg = dir.path() / "out.svg";
    const std::vector<std::string> chart{"svg", "--x", "offered_rate", "--y", "p99", "--series", "target", "--out", svg.string(), "--csv"};
    auto with = [&](std::string file, std::vector<std::string> more = {}) {
        auto a = chart;
        a.push_back(std::move(file));
        a.insert(a.end(), more.begin(), more.end());
        return render(a);
    };
    write(dir.path() / "ragged.csv", "target,offered_rate,p99\nx,1,2\nx,2\n");
    r = with((dir.path() / "ragged.csv").string());
    EXPECT_EQ(r.exit_code(), 1);
    EXPECT_NE(r.output.find("ragged.csv:3: 2 fields, the header has 3"), std::string::npos) << r.output;
    write(dir.path() / "word.csv", "target,offered_rate,p99\nx,1,fast\n");
    r = with((dir.path() / "word.csv").string());
    EXPECT_EQ(r.exit_code(), 1);
    EXPECT_NE(r.output.find("'fast' is not a number"), std::string::npos) << r.output;
    write(dir.path() / "zero.csv", "target,offered_rate,p99\nx,1,0\n");
    r = with((dir.path() / "zero.csv").string(), {"--log-y"});
    EXPECT_EQ(r.exit_code(), 1);
    EXPECT_NE(r.output.find("--log-y"), std::string::npos) << r.output;
    write(dir.path() / "open.csv", "target,offered_rate,p99\n\"x,1,2\n");
    r = with((dir.path() / "open.csv").string());
    EXPECT_EQ(r.exit_code(), 1);
    EXPECT_NE(r.output.find("not closed"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(svg));

    r = with(csv, {"--colour", "red"});
    EXPECT_EQ(r.exit_code(), 2);
    EXPECT_NE(r.output.find("unknown option '--colour'"), std::string::npos) << r.output;
    r = render({"svg", "--csv", csv, "--x", "offered_rate", "--y", "p99", "--series", "target"});
    EXPECT_EQ(r.exit_code(), 2);
    EXPECT_NE(r.output.find("svg needs --out"), std::string::npos) << r.output;
    r = render({"table", "--csv", csv, "--column", "p99:p99:x"});
    EXPECT_EQ(r.exit_code(), 2);
    EXPECT_FALSE(fs::exists(svg));
}
