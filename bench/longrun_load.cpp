// The load and the measurements of bench/longrun.sh: a bounded mixed load (anonymous and
// logged-in views, logins and logouts, uploads) against one URL, and every 10 s the resident
// set and open file descriptors of the server processes; then the verdict and a report.
//
//   longrun_load run --url URL --seconds S --warmup S --pids NAME=PID,... --out DIR
//                    [--views-per-second N] [--logins-per-second N] [--uploads-per-second N]
//   longrun_load report --out DIR --warmup S [--title TEXT] [--svg FILE] [--svg-href PATH]
//                       [--rss-tolerance-mib N] [--rss-tolerance-percent N] [--fd-tolerance N]
//
// `run` writes DIR/requests.csv (minute,type,count,errors,p50_ms,p99_ms,max_ms),
// DIR/samples.csv (seconds,server,rss_kib,fds) and DIR/errors.txt; `report` reads them,
// writes DIR/report.md (a Markdown section) and the SVG chart, prints the verdict and exits 1
// when an error response appeared or RSS or descriptors grew after the warm-up beyond the
// tolerance: RSS, the median of the last minute against the median of the first minute after
// the warm-up, by more than max(MiB, percent); descriptors, any sample after the first minute
// past the warm-up above the highest one until then by more than N.
#include "image/image.hpp"

#include <curl/curl.h>
#include <vips/vips8>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// A fatal error: main prints it and exits with status 2. Thrown rather than std::exit, which
// is not safe while other threads run; only ever called on the main thread.
struct Fatal : std::runtime_error {
    using std::runtime_error::runtime_error;
};

[[noreturn]] void die(const std::string& message) { throw Fatal(message); }

std::map<std::string, std::string> parse_options(int argc, char** argv, int from) {
    std::map<std::string, std::string> out;
    for (int i = from; i < argc; ++i) {
        std::string key = argv[i];
        if (!key.starts_with("--") || i + 1 >= argc) die("expected --option value, got '" + key + "'");
        out[key.substr(2)] = argv[++i];
    }
    return out;
}

std::string option(const std::map<std::string, std::string>& o, const std::string& key, const std::string& fallback = {}) {
    auto it = o.find(key);
    if (it != o.end()) return it->second;
    if (fallback.empty()) die("missing --" + key);
    return fallback;
}

// ---- HTTP ---------------------------------------------------------------------------------

size_t collect(char* data, size_t size, size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
}

struct Reply {
    long status = 0;  // 0: no answer
    double ms = 0;
    std::string body;
    std::string error;
};

class Client {
public:
    explicit Client(std::string base) : base_(std::move(base)), curl_(curl_easy_init()) {
        curl_easy_setopt(curl_, CURLOPT_COOKIEFILE, "");  // keep cookies in memory
        curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, 30000L);
        curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, collect);
    }
    ~Client() { curl_easy_cleanup(curl_); }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    Reply get(const std::string& path) { return perform("GET", path, nullptr, {}, nullptr); }
    Reply post_json(const std::string& path, const std::string& json) {
        return perform("POST", path, &json, {"Content-Type: application/json"}, nullptr);
    }
    Reply del(const std::string& path) { return perform("DELETE", path, nullptr, csrf_header(), nullptr); }
    Reply upload(const std::string& path, const std::string& jpeg) {
        curl_mime* mime = curl_mime_init(curl_);
        curl_mimepart* part = curl_mime_addpart(mime);
        curl_mime_name(part, "photo");
        curl_mime_filename(part, "photo.jpg");
        curl_mime_type(part, "image/jpeg");
        curl_mime_data(part, jpeg.data(), jpeg.size());
        auto r = perform("POST", path, nullptr, csrf_header(), mime);
        curl_mime_free(mime);
        return r;
    }
    void forget_cookies() { curl_easy_setopt(curl_, CURLOPT_COOKIELIST, "ALL"); }
    std::string csrf;

private:
    std::vector<std::string> csrf_header() const { return csrf.empty() ? std::vector<std::string>{} : std::vector<std::string>{"X-CSRF-Token: " + csrf}; }

    Reply perform(const char* method, const std::string& path, const std::string* body, const std::vector<std::string>& headers, curl_mime* mime) {
        Reply r;
        const std::string url = base_ + path;
        curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
        curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &r.body);
        curl_easy_setopt(curl_, CURLOPT_MIMEPOST, static_cast<curl_mime*>(nullptr));
        curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, static_cast<char*>(nullptr));
        if (mime) {
            curl_easy_setopt(curl_, CURLOPT_MIMEPOST, mime);
        } else if (body) {
            curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body->c_str());
            curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
        }
        if (std::strcmp(method, "DELETE") == 0) curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, "DELETE");
        curl_slist* list = nullptr;
        for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
        curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, list);
        const auto start = Clock::now();
        const CURLcode rc = curl_easy_perform(curl_);
        r.ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        curl_slist_free_all(list);
        curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(nullptr));
        if (rc != CURLE_OK) {
            r.error = curl_easy_strerror(rc);
            return r;
        }
        curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &r.status);
        return r;
    }

    std::string base_;
    CURL* curl_;
};

std::string json_string(const std::string& body, const std::string& key) {
    const std::string needle = "\"" + key + "\":\"";
    auto at = body.find(needle);
    if (at == std::string::npos) return {};
    at += needle.size();
    return body.substr(at, body.find('"', at) - at);
}

// ---- recording ----------------------------------------------------------------------------

class Recorder {
public:
    explicit Recorder(Clock::time_point start) : start_(start) {}
    void record(const std::string& type, const Reply& r, long expected, const std::string& what) {
        const auto minute = static_cast<int>(std::chrono::duration<double>(Clock::now() - start_).count() / 60);
        std::lock_guard lock(mutex_);
        auto& cell = cells_[{minute, type}];
        cell.latencies.push_back(r.ms);
        if (r.status != expected) {
            ++cell.errors;
            if (errors_.size() < 200)
                errors_.push_back(std::to_string(std::chrono::duration<double>(Clock::now() - start_).count()) + " s " + type + " " + what + ": " +
                                  (r.status ? std::to_string(r.status) + " " + r.body.substr(0, 200) : "no answer: " + r.error));
            ++error_total_;
        }
    }
    void write(const fs::path& dir) {
        std::lock_guard lock(mutex_);
        std::ofstream out(dir / "requests.csv");
        out << "minute,type,count,errors,p50_ms,p99_ms,max_ms\n";
        for (auto& [key, cell] : cells_) {
            auto& v = cell.latencies;
            std::sort(v.begin(), v.end());
            auto q = [&](double p) { return v.empty() ? 0.0 : v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))]; };
            out << key.first << "," << key.second << "," << v.size() << "," << cell.errors << "," << q(0.5) << "," << q(0.99) << ","
                << (v.empty() ? 0.0 : v.back()) << "\n";
        }
        std::ofstream err(dir / "errors.txt");
        for (const auto& e : errors_) err << e << "\n";
    }
    long errors() const { return error_total_.load(); }

private:
    struct Cell {
        std::vector<double> latencies;
        long errors = 0;
    };
    Clock::time_point start_;
    std::mutex mutex_;
    std::map<std::pair<int, std::string>, Cell> cells_;
    std::vector<std::string> errors_;
    std::atomic<long> error_total_{0};
};

// Calls f about `per_second` times a second until the deadline; a late call does not make
// the next ones come faster than the rate (no catching up in bursts).
template <class F>
void paced(double per_second, Clock::time_point until, const std::atomic<bool>& stop, F f) {
    const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / per_second));
    auto next = Clock::now();
    while (!stop && Clock::now() < until) {
        f();
        next += interval;
        const auto now = Clock::now();
        if (next < now - std::chrono::seconds(1)) next = now;  // not 1s: cppcheck 2.10 cannot evaluate it
        std::this_thread::sleep_until(next);
    }
}

std::vector<std::string> make_photos(int count) {
    std::vector<std::string> out;
    for (int i = 0; i < count; ++i) {
        // A gradient with noise: something JPEG has to work at, about 1 MP.
        auto x = vips::VImage::xyz(1200, 900);
        auto red = x[0] * (0.15 + 0.01 * i) + x[1] * 0.2;
        auto base = red.bandjoin(x[0] * 0.1).bandjoin(x[1] * 0.25);
        auto noisy = (base + vips::VImage::gaussnoise(1200, 900, vips::VImage::option()->set("sigma", 12.0))).cast(VIPS_FORMAT_UCHAR);
        void* buf = nullptr;
        size_t len = 0;
        noisy.write_to_buffer(".jpg", &buf, &len, vips::VImage::option()->set("Q", 85));
        out.emplace_back(static_cast<const char*>(buf), len);
        g_free(buf);
    }
    return out;
}

std::string credentials(const std::string& user) { return R"({"username":")" + user + R"(","password":"long-run password"})"; }

// ---- run ----------------------------------------------------------------------------------

int run(const std::map<std::string, std::string>& o) {
    const std::string url = option(o, "url");
    const double seconds = std::stod(option(o, "seconds"));
    const fs::path out = option(o, "out");
    const double views_rate = std::stod(option(o, "views-per-second", "60"));
    const double logins_rate = std::stod(option(o, "logins-per-second", "1"));
    const double uploads_rate = std::stod(option(o, "uploads-per-second", "1"));
    std::vector<std::pair<std::string, int>> pids;
    {
        std::istringstream in(option(o, "pids"));
        for (std::string item; std::getline(in, item, ',');) {
            auto eq = item.find('=');
            if (eq == std::string::npos) die("--pids wants NAME=PID,...");
            pids.emplace_back(item.substr(0, eq), std::stoi(item.substr(eq + 1)));
        }
    }
    fs::create_directories(out);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    photoshare::image::initialize();
    const auto photos = make_photos(8);

    // Users, and a first few photos to look at.
    const std::string tag = std::to_string(std::random_device{}() % 1000000);
    std::vector<std::string> users;
    for (int i = 0; i < 6; ++i) {
        users.push_back("longrun" + tag + "u" + std::to_string(i));
        Client c(url);
        auto r = c.post_json("/api/v1/users", credentials(users.back()));
        if (r.status != 201) die("cannot register a user: " + std::to_string(r.status) + " " + r.body + r.error);
    }
    auto logged_in = [&](const std::string& user) {
        auto c = std::make_unique<Client>(url);
        auto r = c->post_json("/api/v1/session", credentials(user));
        if (r.status != 200) die("cannot log in: " + std::to_string(r.status) + " " + r.body + r.error);
        c->csrf = json_string(r.body, "csrf_token");
        return c;
    };
    std::mutex ids_mutex;
    std::vector<std::string> ids;
    {
        auto uploader = logged_in(users[0]);
        for (int i = 0; i < 5; ++i) {
            auto r = uploader->upload("/api/v1/photos", photos[static_cast<std::size_t>(i) % photos.size()]);
            if (r.status != 201) die("cannot upload: " + std::to_string(r.status) + " " + r.body + r.error);
            ids.push_back(json_string(r.body, "id"));
        }
    }
    auto recent_id = [&](std::mt19937& rng) {
        std::lock_guard lock(ids_mutex);
        const auto n = std::min<std::size_t>(ids.size(), 50);
        return ids[ids.size() - 1 - std::uniform_int_distribution<std::size_t>(0, n - 1)(rng)];
    };

    const auto start = Clock::now();
    const auto until = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    Recorder rec(start);
    std::atomic<bool> stop{false};
    // Logged in here, on the main thread: die() must not be called from a worker.
    auto viewer = logged_in(users[1]);
    auto uploader = logged_in(users[0]);
    std::vector<std::thread> threads;

    // Anonymous views: the front page, the feed API, photo pages, thumbnails and display sizes.
    const int view_threads = 3;
    threads.reserve(view_threads + 4);  // and the logged-in views, logins, uploads and samples below
    for (int t = 0; t < view_threads; ++t) {
        threads.emplace_back([&, t] {
            Client c(url);
            std::mt19937 rng(static_cast<unsigned>(t + 1));
            std::size_t i = static_cast<std::size_t>(t);
            paced(views_rate * 0.75 / view_threads, until, stop, [&] {
                std::string path;
                switch (i++ % 6) {
                    case 0: path = "/"; break;
                    case 1: path = "/api/v1/photos"; break;
                    case 2: path = "/photos/" + recent_id(rng); break;
                    case 3: path = "/media/" + recent_id(rng) + "_t.jpg"; break;
                    case 4: path = "/api/v1/photos?limit=30"; break;
                    default: path = "/media/" + recent_id(rng) + "_d.jpg"; break;
                }
                rec.record("view", c.get(path), 200, path);
            });
        });
    }
    // Logged-in views (a session lookup in the session store each).
    threads.emplace_back([&, c = std::move(viewer)] {
        std::mt19937 rng(99);  // NOLINT(cert-msc51-cpp): a fixed seed on purpose, the same requests in every run
        std::size_t i = 0;
        paced(views_rate * 0.25, until, stop, [&] {
            const std::string path = i++ % 2 ? "/" : "/photos/" + recent_id(rng);
            rec.record("view_logged_in", c->get(path), 200, path);
        });
    });
    // Logins (argon2id each) and logouts.
    threads.emplace_back([&] {
        Client c(url);
        std::size_t i = 0;
        paced(logins_rate, until, stop, [&] {
            const auto& user = users[2 + i++ % 4];
            c.forget_cookies();
            auto r = c.post_json("/api/v1/session", credentials(user));
            rec.record("login", r, 200, user);
            if (r.status == 200) {
                c.csrf = json_string(r.body, "csrf_token");
                rec.record("logout", c.del("/api/v1/session"), 204, user);
            }
        });
    });
    // Uploads.
    threads.emplace_back([&, c = std::move(uploader)] {
        std::size_t i = 0;
        paced(uploads_rate, until, stop, [&] {
            auto r = c->upload("/api/v1/photos", photos[i++ % photos.size()]);
            rec.record("upload", r, 201, "photo");
            if (r.status == 201) {
                std::lock_guard lock(ids_mutex);
                ids.push_back(json_string(r.body, "id"));
            }
        });
    });
    // Every 10 s: RSS and descriptors of each server.
    threads.emplace_back([&] {
        std::ofstream samples(out / "samples.csv");
        samples << "seconds,server,rss_kib,fds\n";
        // `until + 1s` spelled out: cppcheck 2.10 cannot evaluate it
        for (auto next = start; !stop && Clock::now() < until + std::chrono::seconds(1); next += 10s) {
            std::this_thread::sleep_until(next);
            const double at = std::chrono::duration<double>(Clock::now() - start).count();
            for (const auto& [name, pid] : pids) {
                long rss = -1;
                std::ifstream status("/proc/" + std::to_string(pid) + "/status");
                for (std::string line; std::getline(status, line);)
                    if (line.starts_with("VmRSS:")) rss = std::strtol(line.c_str() + 6, nullptr, 10);
                long fds = 0;
                std::error_code ec;
                for (auto it = fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec); !ec && it != fs::directory_iterator(); it.increment(ec)) ++fds;
                if (ec) fds = -1;
                samples << static_cast<long>(std::lround(at)) << "," << name << "," << rss << "," << fds << "\n" << std::flush;
            }
            std::cerr << "longrun_load: " << static_cast<int>(at) << " s, " << rec.errors() << " errors\n";
        }
    });
    for (auto& t : threads) t.join();
    rec.write(out);
    std::cerr << "longrun_load: done, " << rec.errors() << " error responses\n";
    return 0;
}

// ---- report -------------------------------------------------------------------------------

struct Sample {
    double t;
    std::string server;
    double rss_mib;
    long fds;
};
struct Minute {
    int minute;
    std::string type;
    long count, errors;
    double p50, p99, max;
};

std::vector<std::vector<std::string>> read_csv(const fs::path& file) {
    std::ifstream in(file);
    if (!in) die("cannot read " + file.string());
    std::vector<std::vector<std::string>> rows;
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::vector<std::string> f;
        std::istringstream s(line);
        for (std::string cell; std::getline(s, cell, ',');) f.push_back(cell);
        if (!f.empty()) rows.push_back(f);
    }
    return rows;
}

double median(std::vector<double> v) {
    if (v.empty()) return NAN;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

std::string fmt(double v, int decimals = 1) {
    std::ostringstream out;
    out << std::fixed << std::setprecision(decimals) << v;
    return out.str();
}

// Three panels: RSS per server, descriptors per server, p99 per minute per request type.
std::string svg_chart(const std::vector<Sample>& samples, const std::vector<Minute>& minutes, double warmup, const std::string& title) {
    const double width = 760, panel_h = 150, left = 60, right = 150, top = 36, gap = 44;
    const double plot_w = width - left - right;
    double t_max = 60;
    for (const auto& s : samples) t_max = std::max(t_max, s.t);
    std::ostringstream svg;
    const double height = top + 3 * panel_h + 2 * gap + 40;
    svg << R"(<svg xmlns="http://www.w3.org/2000/svg" width=")" << width << R"(" height=")" << height << R"(" font-family="sans-serif" font-size="11">)"
        << "\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        << "<text x=\"" << left << "\" y=\"18\" font-size=\"13\" font-weight=\"bold\">" << title << "</text>\n";
    const std::vector<std::string> colors{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};
    auto panel = [&](int index, const std::string& label, const std::map<std::string, std::vector<std::pair<double, double>>>& series, const std::string& x_label) {
        const double y0 = top + index * (panel_h + gap);
        double v_max = 1;
        for (const auto& [name, pts] : series)
            for (const auto& p : pts) v_max = std::max(v_max, p.second);
        v_max *= 1.15;
        auto X = [&](double t) { return left + plot_w * t / t_max; };
        auto Y = [&](double v) { return y0 + panel_h - panel_h * v / v_max; };
        svg << "<text x=\"" << left << "\" y=\"" << y0 - 6 << "\" font-weight=\"bold\">" << label << "</text>\n";
        svg << "<rect x=\"" << left << "\" y=\"" << y0 << "\" width=\"" << plot_w << "\" height=\"" << panel_h << "\" fill=\"none\" stroke=\"#999\"/>\n";
        svg << "<rect x=\"" << left << "\" y=\"" << y0 << "\" width=\"" << X(warmup) - left << "\" height=\"" << panel_h << "\" fill=\"#eee\"/>\n";
        for (int k = 0; k <= 4; ++k) {
            const double v = v_max * k / 4;
            svg << "<text x=\"" << left - 6 << "\" y=\"" << Y(v) + 4 << "\" text-anchor=\"end\">" << fmt(v, v_max < 20 ? 1 : 0) << "</text>\n";
            svg << "<line x1=\"" << left << "\" x2=\"" << left + plot_w << "\" y1=\"" << Y(v) << "\" y2=\"" << Y(v) << "\" stroke=\"#ddd\"/>\n";
        }
        for (int m = 0; m <= static_cast<int>(t_max / 60); ++m)
            svg << "<text x=\"" << X(m * 60.0) << "\" y=\"" << y0 + panel_h + 14 << "\" text-anchor=\"middle\">" << m << "</text>\n";
        svg << "<text x=\"" << left + plot_w << "\" y=\"" << y0 + panel_h + 28 << "\" text-anchor=\"end\">" << x_label << "</text>\n";
        int c = 0;
        for (const auto& [name, pts] : series) {
            const auto& color = colors[static_cast<std::size_t>(c) % colors.size()];
            svg << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"1.5\" points=\"";
            for (const auto& p : pts) svg << fmt(X(p.first)) << "," << fmt(Y(p.second)) << " ";
            svg << "\"/>\n<text x=\"" << left + plot_w + 8 << "\" y=\"" << y0 + 12 + 14 * c << "\" fill=\"" << color << "\">" << name << "</text>\n";
            ++c;
        }
    };
    std::map<std::string, std::vector<std::pair<double, double>>> rss, fds, p99;
    for (const auto& s : samples) {
        rss[s.server].emplace_back(s.t, s.rss_mib);
        fds[s.server].emplace_back(s.t, static_cast<double>(s.fds));
    }
    for (const auto& m : minutes) p99[m.type].emplace_back(m.minute * 60.0 + 30, m.p99);
    panel(0, "resident set (MiB)", rss, "minutes (grey: warm-up)");
    panel(1, "open file descriptors", fds, "minutes");
    panel(2, "p99 latency per minute (ms)", p99, "minutes");
    svg << "</svg>\n";
    return svg.str();
}

int report(const std::map<std::string, std::string>& o) {
    const fs::path out = option(o, "out");
    const double warmup = std::stod(option(o, "warmup"));
    const std::string title = option(o, "title", "Long run");
    const double rss_mib_tol = std::stod(option(o, "rss-tolerance-mib", "16"));
    const double rss_pct_tol = std::stod(option(o, "rss-tolerance-percent", "10"));
    const long fd_tol = std::stol(option(o, "fd-tolerance", "16"));

    std::vector<Sample> samples;
    for (const auto& f : read_csv(out / "samples.csv"))
        if (f.size() == 4 && std::stol(f[2]) >= 0) samples.push_back({std::stod(f[0]), f[1], std::stod(f[2]) / 1024.0, std::stol(f[3])});
    std::vector<Minute> minutes;
    for (const auto& f : read_csv(out / "requests.csv"))
        if (f.size() == 7)
            minutes.push_back({std::stoi(f[0]), f[1], std::stol(f[2]), std::stol(f[3]), std::stod(f[4]), std::stod(f[5]), std::stod(f[6])});
    double t_end = 0;
    for (const auto& s : samples) t_end = std::max(t_end, s.t);

    bool ok = true;
    std::ostringstream md, verdict;
    std::map<std::string, std::vector<Sample>> by_server;
    for (const auto& s : samples) by_server[s.server].push_back(s);
    md << "| server | RSS, first minute after warm-up (MiB, median) | RSS, last minute (MiB, median) | growth | slope after warm-up (MiB/min) | fds until a minute after warm-up (max) | fds, last minute (max) | verdict |\n"
       << "|---|---|---|---|---|---|---|---|\n";
    for (const auto& [name, list] : by_server) {
        std::vector<double> first, last;
        long fd_before = 0, fd_after = 0, fd_last = 0;
        double sx = 0, sy = 0, sxx = 0, sxy = 0, n = 0;
        for (const auto& s : list) {
            if (s.t >= warmup && s.t < warmup + 60) first.push_back(s.rss_mib);
            if (s.t >= t_end - 60) {
                last.push_back(s.rss_mib);
                fd_last = std::max(fd_last, s.fds);
            }
            if (s.t < warmup + 60) fd_before = std::max(fd_before, s.fds);
            else fd_after = std::max(fd_after, s.fds);
            if (s.t >= warmup) {
                sx += s.t / 60;
                sy += s.rss_mib;
                sxx += (s.t / 60) * (s.t / 60);
                sxy += (s.t / 60) * s.rss_mib;
                n += 1;
            }
        }
        const double a = median(first), b = median(last), growth = b - a;
        const double slope = n > 1 && (n * sxx - sx * sx) != 0 ? (n * sxy - sx * sy) / (n * sxx - sx * sx) : 0;
        const double tolerance = std::max(rss_mib_tol, a * rss_pct_tol / 100);
        const bool rss_ok = !(growth > tolerance);
        const bool fd_ok = fd_after <= fd_before + fd_tol;
        ok = ok && rss_ok && fd_ok;
        md << "| " << name << " | " << fmt(a) << " | " << fmt(b) << " | " << (growth >= 0 ? "+" : "") << fmt(growth) << " | " << fmt(slope, 2) << " | "
           << fd_before << " | " << fd_last << " | " << (rss_ok && fd_ok ? "within tolerance" : !rss_ok ? "RSS GREW" : "FDS GREW") << " |\n";
        if (!rss_ok) verdict << name << ": RSS grew " << fmt(growth) << " MiB after the warm-up (tolerance " << fmt(tolerance) << " MiB)\n";
        if (!fd_ok) verdict << name << ": descriptors reached " << fd_after << " after the warm-up (at most " << fd_before << " + " << fd_tol << ")\n";
    }

    std::map<std::string, long> count, errors;
    std::map<std::string, double> worst_p99;
    std::map<std::string, std::vector<double>> p99s;
    std::map<int, std::map<std::string, double>> p99_table;
    for (const auto& m : minutes) {
        count[m.type] += m.count;
        errors[m.type] += m.errors;
        p99_table[m.minute][m.type] = m.p99;
        if (m.minute * 60.0 >= warmup && (m.minute + 1) * 60.0 <= t_end + 30) {
            worst_p99[m.type] = std::max(worst_p99[m.type], m.p99);
            p99s[m.type].push_back(m.p99);
        }
    }
    long error_total = 0;
    md << "\n| requests | count | errors | median of the per-minute p99 after warm-up (ms) | worst minute's p99 (ms) |\n|---|---|---|---|---|\n";
    for (const auto& [type, n] : count) {
        error_total += errors[type];
        md << "| " << type << " | " << n << " | " << errors[type] << " | " << fmt(median(p99s[type])) << " | " << fmt(worst_p99[type]) << " |\n";
    }
    if (error_total > 0) {
        ok = false;
        verdict << error_total << " error responses (see errors.txt)\n";
    }
    md << "\np99 per minute (ms):\n\n| minute |";
    for (const auto& [type, n] : count) md << " " << type << " |";
    md << "\n|---|";
    for (std::size_t i = 0; i < count.size(); ++i) md << "---|";
    md << "\n";
    for (const auto& [minute, row] : p99_table) {
        md << "| " << minute + 1 << (minute * 60.0 < warmup ? " (warm-up)" : "") << " |";
        for (const auto& [type, n] : count) md << " " << (row.contains(type) ? fmt(row.at(type)) : "") << " |";
        md << "\n";
    }
    md << "\nVerdict: " << (ok ? "**pass**" : "**FAIL**") << " (tolerances: ";
    if (rss_pct_tol >= 1000)
        md << "RSS not judged";  // --sanitize: ASan's quarantine holds freed memory
    else
        md << "RSS +max(" << fmt(rss_mib_tol, 0) << " MiB, " << fmt(rss_pct_tol, 0) << " %) from the first minute after the warm-up to the last";
    md << "; descriptors +" << fd_tol << " over the highest count until a minute after the warm-up; no error response)\n";
    if (!ok) md << "\n```\n" << verdict.str() << "```\n";

    if (o.contains("svg")) {
        std::ofstream(option(o, "svg")) << svg_chart(samples, minutes, warmup, title);
        if (o.contains("svg-href")) md << "\n![" << title << "](" << option(o, "svg-href") << ")\n";
    }
    std::ofstream(out / "report.md") << md.str();
    std::cout << md.str();
    if (!ok) std::cerr << verdict.str();
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) try {
    if (argc < 2) die("usage: longrun_load run|report --option value ...");
    const std::string command = argv[1];
    const auto options = parse_options(argc, argv, 2);
    if (command == "run") return run(options);
    if (command == "report") return report(options);
    die("unknown command " + command);
} catch (const std::exception& e) {
    std::cerr << "longrun_load: " << e.what() << "\n";
    return 2;
}
