// Page rendering through the app's own code: a real app::Site (SQLite and the in-process
// cache in a temporary directory, the templates compiled into ps_app), its real routes, and
// GET / handled exactly as the server hands it over after parsing (Router::match, then the
// route's handler, knobs and error mapping included) — without the network. Each case
// names what the handler does for it (src/app/front_page.cpp, FrontPage):
//  - FrontPageAnonymous: the cached feed page, the front page pre-rendered with it and
//    split around its three per-request values, joined with a new visitor's CSRF token;
//  - FrontPageMember: the session looked up (SQLite, on a worker thread), then home and
//    layout rendered around the cached grid (mustache, app::Views) on every request;
//  - SessionLookup (GET /api/v1/session): the session lookup and a small JSON body alone,
//    so that Member − SessionLookup is about what rendering costs a member's request;
//  - FrontPageFeedMiss: the feed invalidated before every request, so the handler queries
//    the database and renders the grids and the anonymous page again (what a view pays
//    after an upload);
//  - Reference_CopyFrontPage: one copy of a string as long as the member's page, the least
//    any server pays to produce a page it holds in memory.
// Real time and the process's CPU time are both reported: the worker hop of a session
// lookup is real time on another thread.
#include "app/site.hpp"
#include "config/config.hpp"
#include "http/router.hpp"

#include <benchmark/benchmark.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace photoshare;

// Request headers, as the server exposes them to handlers (names compared in lower case).
class MapHeaders : public http::Headers {
public:
    std::map<std::string, std::string> values;
    std::string_view get(std::string_view name) const override {
        auto it = values.find(lower(name));
        return it == values.end() ? std::string_view{} : std::string_view(it->second);
    }
    bool has(std::string_view name) const override { return values.count(lower(name)) != 0; }
    static std::string lower(std::string_view s) {
        std::string out(s);
        for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return out;
    }
};

// One app with a user, a session and a feed of ten photos.
struct Site {
    fs::path dir;
    std::unique_ptr<app::Site> app;
    http::Router router;
    asio::io_context io;
    std::string session_cookie;  // "ps_session=..."

    Site() : dir(fs::temp_directory_path() / ("photoshare-bench-templates-" + std::to_string(getpid()))) {
        fs::create_directories(dir);
        config::Sources sources;
        sources.flags = {{"server.data_dir", dir.string()}, {"log.access", "false"}, {"log.level", "warn"}};
        app = std::make_unique<app::Site>(config::load(sources));
        app->add_routes(router);

        const std::string credentials = R"({"username":"alice","password":"correct horse battery"})";
        if (call(http::Method::post, "/api/v1/users", {{"content-type", "application/json"}}, credentials).status != 201)
            throw std::runtime_error("could not register");
        auto login = call(http::Method::post, "/api/v1/session", {{"content-type", "application/json"}}, credentials);
        for (const auto& [name, value] : login.headers)
            if (name == "Set-Cookie" && value.starts_with("ps_session=")) session_cookie = value.substr(0, value.find(';'));
        if (login.status != 200 || session_cookie.empty()) throw std::runtime_error("could not log in");

        // Ten photos straight into the database: the pages only need their rows.
        const auto user = app->repository().find_user("alice");
        for (int i = 0; i < 10; ++i) {
            store::NewPhoto p;
            p.id = "h0jRzdffMJ_1im0BtVuY" + std::to_string(10 + i);
            p.user_id = user->id;
            p.width = 2048, p.height = 1536, p.thumb_width = 480, p.thumb_height = 360;
            p.bytes = 700000;
            app->repository().insert_photos(std::span(&p, 1), nullptr);
        }
        invalidate();
    }
    ~Site() {
        app.reset();
        std::error_code ec;
        fs::remove_all(dir, ec);
    }

    template <class T>
    T run(asio::awaitable<T> work) {
        io.restart();
        auto result = asio::co_spawn(io, std::move(work), asio::use_future);
        io.run();
        return result.get();
    }

    http::Response call(http::Method method, const std::string& target, std::map<std::string, std::string> headers = {}, std::string body = {}) {
        MapHeaders h;
        h.values = std::move(headers);
        http::Request req;
        req.method = method;
        req.method_name = http::to_string(method);
        req.target = target;
        req.path = target;
        req.headers = &h;
        req.body = std::move(body);
        req.client_address = "127.0.0.1";
        req.request_id = "9f2c4e7a1b3d5f60";
        const auto match = router.match(req);
        if (!match.route) throw std::runtime_error("no route for " + target);
        return run(match.route->handler(req));
    }

    void invalidate() { run(app->feed().changed()); }
};

Site& site() {
    static Site s;
    return s;
}

void report(benchmark::State& state, std::size_t bytes) {
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
    state.SetItemsProcessed(state.iterations());
}

void check(const http::Response& res) {
    if (res.status != 200) throw std::runtime_error("status " + std::to_string(res.status));
}

// GET `target` once to warm what it caches, then once per iteration; with `miss`, the feed is
// invalidated (untimed) before every request.
void get(benchmark::State& state, const std::string& target, bool member, bool miss = false) {
    Site& s = site();
    std::map<std::string, std::string> headers;
    if (member) headers["cookie"] = s.session_cookie;
    check(s.call(http::Method::get, target, headers));
    std::size_t bytes = 0;
    for ([[maybe_unused]] auto _ : state) {
        if (miss) {
            state.PauseTiming();
            s.invalidate();
            state.ResumeTiming();
        }
        auto res = s.call(http::Method::get, target, headers);
        bytes += res.body_view().size();
        benchmark::DoNotOptimize(res);
    }
    report(state, bytes);
}

void BM_FrontPageAnonymous(benchmark::State& state) { get(state, "/", false); }
BENCHMARK(BM_FrontPageAnonymous)->Unit(benchmark::kMicrosecond)->UseRealTime()->MeasureProcessCPUTime();

void BM_FrontPageMember(benchmark::State& state) { get(state, "/", true); }
BENCHMARK(BM_FrontPageMember)->Unit(benchmark::kMicrosecond)->UseRealTime()->MeasureProcessCPUTime();

void BM_SessionLookup(benchmark::State& state) { get(state, "/api/v1/session", true); }
BENCHMARK(BM_SessionLookup)->Unit(benchmark::kMicrosecond)->UseRealTime()->MeasureProcessCPUTime();

void BM_FrontPageFeedMiss(benchmark::State& state) { get(state, "/", false, true); }
BENCHMARK(BM_FrontPageFeedMiss)->Unit(benchmark::kMicrosecond)->UseRealTime()->MeasureProcessCPUTime();

void BM_Reference_CopyFrontPage(benchmark::State& state) {
    Site& s = site();
    const auto res = s.call(http::Method::get, "/", {{"cookie", s.session_cookie}});
    const std::string page(res.body_view());
    std::size_t bytes = 0;
    for ([[maybe_unused]] auto _ : state) {
        std::string out = page;
        bytes += out.size();
        benchmark::DoNotOptimize(out);
    }
    report(state, bytes);
}
BENCHMARK(BM_Reference_CopyFrontPage)->Unit(benchmark::kMicrosecond)->UseRealTime()->MeasureProcessCPUTime();

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    try {
        (void)site();  // built before any timing
    } catch (const std::exception& e) {
        (void)std::fprintf(stderr, "templates: %s\n", e.what());
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
