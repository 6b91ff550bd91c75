#include "fleet/svg.hpp"

#include "http/escape.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace photoshare::fleet::svg {

std::string clock_label(double seconds) {
    long s = std::lround(std::max(0.0, seconds));
    if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    return fmt::format("{}:{:02}", s / 60, s % 60);
}

std::string escape(std::string_view text) { return http::html_escape(text); }

std::string palette(int n) {
    static const char* colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};
    return colors[(n > 0 ? n - 1 : 0) % 10];
}

namespace {

double nice_step(double range, int max_ticks) {
    if (range <= 0) return 1;
    double raw = range / max_ticks;
    double mag = std::pow(10, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
        if (m * mag >= raw) return m * mag;
    return 10 * mag;
}

std::string number(double v) {
    if (std::fabs(v) >= 100 || std::fabs(v - std::round(v)) < 1e-9) return fmt::format("{:.0f}", v);
    if (std::fabs(v) >= 10) return fmt::format("{:.1f}", v);
    return fmt::format("{:.2g}", v);
}

std::string fmt_xy(double x, double y) { return fmt::format("{:.1f},{:.1f}", x, y); }

// The plot area of a chart and its scales.
struct Frame {
    double left = 58, right = 18, top = 46, bottom = 30;
    double pw = 0, ph = 0;  // plot width and height
    double x0 = 0, x1 = 1;
    double ystep = 1, ytop = 1;
    bool any = false;  // a series has a point
    double X(double x) const { return left + (std::clamp(x, x0, x1) - x0) / (x1 - x0) * pw; }
    double Y(double y) const { return top + ph - std::clamp(y, 0.0, ytop) / ytop * ph; }
};

Frame frame_of(const Chart& c) {
    Frame f;
    const double w = c.width, h = c.height;
    f.pw = w - f.left - f.right;
    f.ph = h - f.top - f.bottom;
    f.x0 = c.x_min;
    f.x1 = c.x_max > c.x_min ? c.x_max : c.x_min + 1;
    double ymax = c.y_max.value_or(0);
    for (const auto& s : c.series)
        for (const auto& [x, y] : s.points)
            if (!std::isnan(y)) {
                ymax = std::max(ymax, y);
                f.any = true;
            }
    for (const auto& l : c.levels) ymax = std::max(ymax, l.y);
    if (ymax <= 0) ymax = 1;  // an empty chart still has a scale
    f.ystep = nice_step(ymax * 1.08, 5);
    if (c.integer_y) f.ystep = std::max(1.0, std::ceil(f.ystep));
    f.ytop = std::ceil(ymax * 1.08 / f.ystep) * f.ystep;
    return f;
}

std::string header(const Chart& c, const Frame& f) {
    const double w = c.width, h = c.height;
    return fmt::format(
        R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{title}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12">)"
        "\n<rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\n"
        "<text x=\"{l}\" y=\"17\" font-size=\"14\" font-weight=\"600\" fill=\"#111\">{title}</text>\n",
        fmt::arg("w", w), fmt::arg("h", h), fmt::arg("l", f.left), fmt::arg("title", escape(c.title)));
}

// Legend, one row under the title.
std::string legend(const Chart& c, const Frame& f) {
    std::string out;
    double lx = f.left;
    for (const auto& s : c.series) {
        out += fmt::format(R"(<line x1="{:.1f}" y1="31" x2="{:.1f}" y2="31" stroke="{}" stroke-width="{}"{}/>)", lx, lx + 18, s.color,
                           std::max(2.0, s.width), s.dashed ? R"( stroke-dasharray="5 3")" : "");
        out += fmt::format(R"(<text x="{:.1f}" y="35" fill="#333">{}</text>)", lx + 23, escape(s.label));
        out += "\n";
        lx += 23 + 7.0 * static_cast<double>(s.label.size()) + 16;
    }
    for (const auto& l : c.levels) {
        out += fmt::format(R"(<line x1="{:.1f}" y1="31" x2="{:.1f}" y2="31" stroke="{}" stroke-width="1.5" stroke-dasharray="2 3"/>)", lx, lx + 18, l.color);
        out += fmt::format(R"(<text x="{:.1f}" y="35" fill="#333">{}</text>)", lx + 23, escape(l.label));
        out += "\n";
        lx += 23 + 7.0 * static_cast<double>(l.label.size()) + 16;
    }
    return out;
}

// Horizontal grid lines with their values, and the unit.
std::string y_axis(const Chart& c, const Frame& f) {
    std::string out;
    // Integer counters: a floating-point one would gather rounding error at every step.
    for (int i = 0; static_cast<double>(i) * f.ystep <= f.ytop + 1e-9; ++i) {
        const double y = static_cast<double>(i) * f.ystep;
        out += fmt::format(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="{}" stroke-width="1"/>)", f.left, f.Y(y), f.left + f.pw, f.Y(y),
                           y == 0 ? "#888" : "#e6e6e6");
        out += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="end" fill="#555">{}</text>)", f.left - 6, f.Y(y) + 4, number(y));
        out += "\n";
    }
    if (!c.unit.empty())
        out += fmt::format(R"svg(<text x="14" y="{:.1f}" fill="#555" transform="rotate(-90 14 {:.1f})" text-anchor="middle">{}</text>)svg", f.top + f.ph / 2,
                           f.top + f.ph / 2, escape(c.unit)) + "\n";
    return out;
}

// Vertical grid lines at a round time step, with clock labels.
std::string x_axis(const Frame& f) {
    static const double steps[] = {5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200};
    double xstep = steps[std::size(steps) - 1];
    for (double s : steps)
        if ((f.x1 - f.x0) / s <= 8) {
            xstep = s;
            break;
        }
    std::string out;
    for (auto k = static_cast<long long>(std::ceil(f.x0 / xstep)); static_cast<double>(k) * xstep <= f.x1 + 1e-9; ++k) {
        const double x = static_cast<double>(k) * xstep;
        out += fmt::format(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="#f0f0f0"/>)", f.X(x), f.top, f.X(x), f.top + f.ph);
        out += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle" fill="#555">{}</text>)", f.X(x), f.top + f.ph + 18, clock_label(x));
        out += "\n";
    }
    return out;
}

// Levels (thresholds, targets) and markers (scaling events).
std::string levels_and_markers(const Chart& c, const Frame& f) {
    std::string out;
    for (const auto& l : c.levels)
        out += fmt::format(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="{}" stroke-width="1.5" stroke-dasharray="2 3"/>)", f.left,
                           f.Y(l.y), f.left + f.pw, f.Y(l.y), l.color) + "\n";
    for (const auto& m : c.markers) {
        if (m.x < f.x0 || m.x > f.x1) continue;
        out += fmt::format(R"(<line x1="{0:.1f}" y1="{1:.1f}" x2="{0:.1f}" y2="{2:.1f}" stroke="{3}" stroke-width="1" stroke-dasharray="4 3"/>)", f.X(m.x),
                           f.top, f.top + f.ph, m.color);
        out += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle" font-size="11" font-weight="600" fill="{}">{}</text>)", f.X(m.x), f.top - 3,
                           m.color, escape(m.label));
        out += "\n";
    }
    return out;
}

// One series as a path (and, for an area, its fill), broken at gaps.
std::string series_path(const Series& s, const Frame& f) {
    std::string d, fill;
    bool pen = false;
    double last_x = 0, seg_start = 0;
    auto close_area = [&] {
        if (s.area && pen) fill += fmt::format(" L{} L{} Z", fmt_xy(last_x, f.Y(0)), fmt_xy(seg_start, f.Y(0)));
    };
    for (const auto& [x, y] : s.points) {
        if (std::isnan(y)) {
            close_area();
            pen = false;
            continue;
        }
        const double px = f.X(x), py = f.Y(y);
        const std::string to = !pen ? " M" + fmt_xy(px, py) : s.step ? fmt::format(" H{:.1f} V{:.1f}", px, py) : " L" + fmt_xy(px, py);
        d += to;
        if (s.area) fill += to;
        if (!pen) seg_start = px;
        pen = true;
        last_x = px;
    }
    close_area();
    if (!d.empty()) d.erase(0, 1);
    if (!fill.empty()) fill.erase(0, 1);
    std::string out;
    if (s.area && !fill.empty()) out += fmt::format(R"(<path d="{}" fill="{}" fill-opacity="0.15" stroke="none"/>)", fill, s.color) + "\n";
    if (!d.empty())
        out += fmt::format(R"(<path d="{}" fill="none" stroke="{}" stroke-width="{}" stroke-linejoin="round"{}/>)", d, s.color, s.width,
                           s.dashed ? R"( stroke-dasharray="6 4")" : "") + "\n";
    return out;
}

}  // namespace

std::string render(const Chart& c) {
    const auto f = frame_of(c);
    std::string out = header(c, f);
    out += legend(c, f);
    out += y_axis(c, f);
    out += x_axis(f);
    out += levels_and_markers(c, f);
    for (const auto& s : c.series) out += series_path(s, f);
    if (!f.any)
        out += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle" fill="#888">no data yet</text>)", f.left + f.pw / 2, f.top + f.ph / 2) + "\n";
    out += "</svg>\n";
    return out;
}

}  // namespace photoshare::fleet::svg
