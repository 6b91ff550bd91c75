// Line charts as SVG, rendered on the server: no script, no external library, readable
// without JavaScript and allowed by a strict Content-Security-Policy.
#pragma once

#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace photoshare::fleet::svg {

inline constexpr double gap = std::numeric_limits<double>::quiet_NaN();  // a y value that breaks the line

struct Series {
    std::string label;
    std::string color;
    std::vector<std::pair<double, double>> points;  // x (seconds), y; y = gap breaks the line
    double width = 1.5;
    bool step = false;    // hold each value until the next point (counts: fleet size)
    bool dashed = false;
    bool area = false;    // fill below the line
};

struct Marker {  // a vertical line at x: a scaling event
    double x = 0;
    std::string color;
    std::string label;  // short, shown at the top ("+1", "-1")
};

struct Level {  // a horizontal line: a threshold or a target
    double y = 0;
    std::string color;
    std::string label;
};

struct Chart {
    std::string title;
    std::string unit;  // of the y axis
    double x_min = 0, x_max = 60;
    std::optional<double> y_max;  // at least this (else from the data)
    bool integer_y = false;
    std::vector<Series> series;
    std::vector<Marker> markers;
    std::vector<Level> levels;
    int width = 960, height = 240;
};

// A complete <svg> element (with xmlns, so it also works as a file of its own).
std::string render(const Chart& chart);

// "m:ss" (or "h:mm:ss") for a time in seconds.
std::string clock_label(double seconds);
// Escapes &, <, >, " and ' for HTML and SVG text.
std::string escape(std::string_view text);
// A distinct color for the n-th server (by slot).
std::string palette(int n);

}  // namespace photoshare::fleet::svg
