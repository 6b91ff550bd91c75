# Writes an SVG chart (two panels: requests a second, and p99 latency, against the number of
# concurrent connections) for photoshare and nginx, from lines of
#   CONCURRENCY PS_RPS PS_P99_MS NGX_RPS NGX_P99_MS [PS_RPS_LO PS_RPS_HI NGX_RPS_LO NGX_RPS_HI]
# (medians; the optional spread is drawn as a bar). Used by bench/run:
#   awk -v title="..." -v subtitle="..." -f bench/lib/chart.awk DATA > docs/images/...svg
# Plain awk, so the chart needs nothing that a fresh Debian lacks.

function nice_max(v,    p, f) {
    if (v <= 0) return 1
    p = 10 ^ int(log(v) / log(10))
    f = v / p
    if (f <= 1) return p
    if (f <= 1.5) return 1.5 * p
    if (f <= 2) return 2 * p
    if (f <= 2.5) return 2.5 * p
    if (f <= 3) return 3 * p
    if (f <= 4) return 4 * p
    if (f <= 5) return 5 * p
    if (f <= 6) return 6 * p
    if (f <= 8) return 8 * p
    return 10 * p
}
function label(v) {
    if (v >= 1000000) return sprintf("%gM", v / 1000000)
    if (v >= 1000) return sprintf("%gk", v / 1000)
    return sprintf("%g", v)
}
function esc(s) { gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s); return s }

{
    n++
    c[n] = $1; ps[n] = $2; psp[n] = $3; ng[n] = $4; ngp[n] = $5
    pslo[n] = (NF >= 9) ? $6 : $2; pshi[n] = (NF >= 9) ? $7 : $2
    nglo[n] = (NF >= 9) ? $8 : $4; nghi[n] = (NF >= 9) ? $9 : $4
}

function panel(x0, heading, unit, which,    i, ymax, t, y, x, px, py, d1, d2, ticks) {
    ymax = 0
    for (i = 1; i <= n; i++) {
        if (which == "rps") { if (pshi[i] > ymax) ymax = pshi[i]; if (nghi[i] > ymax) ymax = nghi[i] }
        else { if (psp[i] > ymax) ymax = psp[i]; if (ngp[i] > ymax) ymax = ngp[i] }
    }
    ymax = nice_max(ymax * 1.05)
    printf "<g transform=\"translate(%d,0)\">\n", x0
    printf "<text x=\"%d\" y=\"84\" class=\"h\">%s</text>\n", W / 2, esc(heading)
    ticks = 5
    for (t = 0; t <= ticks; t++) {
        y = top + ph - ph * t / ticks
        printf "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>\n", left, left + pw, y, y
        printf "<text x=\"%d\" y=\"%.1f\" class=\"yl\">%s</text>\n", left - 6, y + 4, label(ymax * t / ticks)
    }
    printf "<text x=\"14\" y=\"%d\" class=\"ax\" transform=\"rotate(-90 14 %d)\">%s</text>\n", top + ph / 2, top + ph / 2, esc(unit)
    for (i = 1; i <= n; i++) {
        x = left + pw * (i - 0.5) / n
        printf "<text x=\"%.1f\" y=\"%d\" class=\"xl\">%s</text>\n", x, top + ph + 18, c[i]
    }
    printf "<text x=\"%d\" y=\"%d\" class=\"ax\">concurrent connections</text>\n", left + pw / 2, top + ph + 38
    # the two series
    for (s = 1; s <= 2; s++) {
        d1 = ""
        for (i = 1; i <= n; i++) {
            x = left + pw * (i - 0.5) / n
            v = (which == "rps") ? (s == 1 ? ps[i] : ng[i]) : (s == 1 ? psp[i] : ngp[i])
            py = top + ph - ph * v / ymax
            d1 = d1 (i == 1 ? "M" : " L") sprintf("%.1f %.1f", x, py)
        }
        printf "<path d=\"%s\" class=\"%s\"/>\n", d1, s == 1 ? "ps" : "ng"
        for (i = 1; i <= n; i++) {
            x = left + pw * (i - 0.5) / n
            v = (which == "rps") ? (s == 1 ? ps[i] : ng[i]) : (s == 1 ? psp[i] : ngp[i])
            py = top + ph - ph * v / ymax
            if (which == "rps") {
                lo = s == 1 ? pslo[i] : nglo[i]; hi = s == 1 ? pshi[i] : nghi[i]
                printf "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" class=\"%s bar\"/>\n", x, x, top + ph - ph * lo / ymax, top + ph - ph * hi / ymax, s == 1 ? "ps" : "ng"
            }
            printf "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" class=\"%sd\"><title>%s c=%s: %s</title></circle>\n", x, py, s == 1 ? "ps" : "ng", s == 1 ? "photoshare" : "nginx", c[i], v
        }
    }
    printf "</g>\n"
}

END {
    W = 440; H = 340; left = 64; top = 100; pw = W - left - 20; ph = H - top - 60
    printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n", 2 * W, H, 2 * W, H
    print "<style>.h{font-weight:bold;text-anchor:middle;font-size:13px}.t{font-weight:bold;font-size:15px}.sub{fill:#555}.grid{stroke:#ddd}.yl{text-anchor:end;fill:#444}.xl{text-anchor:middle;fill:#444}.ax{text-anchor:middle;fill:#444}.ps{stroke:#1f6fb4;stroke-width:2;fill:none}.ng{stroke:#e07b00;stroke-width:2;fill:none;stroke-dasharray:6 3}.bar{stroke-width:6;stroke-dasharray:none;opacity:.35}.psd{fill:#1f6fb4}.ngd{fill:#e07b00}</style>"
    printf "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
    printf "<text x=\"16\" y=\"24\" class=\"t\">%s</text>\n", esc(title)
    printf "<text x=\"16\" y=\"42\" class=\"sub\">%s</text>\n", esc(subtitle)
    print "<line x1=\"16\" x2=\"44\" y1=\"58\" y2=\"58\" class=\"ps\"/><text x=\"50\" y=\"62\">photoshare</text>"
    print "<line x1=\"140\" x2=\"168\" y1=\"58\" y2=\"58\" class=\"ng\"/><text x=\"174\" y=\"62\">nginx (the same bytes as a static file)</text>"
    panel(0, "requests a second (median, bar: min–max)", "req/s", "rps")
    panel(W, "99th percentile latency (median of runs)", "p99, ms", "p99")
    print "</svg>"
}
