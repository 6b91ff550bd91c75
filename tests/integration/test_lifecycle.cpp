// The process: graceful shutdown on SIGTERM/SIGINT with a request in flight, the run-time
// knobs, sessions that survive a restart, health, readiness and metrics.
#include "support/app.hpp"
#include "support/files.hpp"
#include "support/http_client.hpp"
#include "support/images.hpp"
#include "support/photoshare_server.hpp"
#include "support/ports.hpp"

#include <future>
#include <regex>
#include <sstream>

using namespace pstest;

namespace {

Headers admin(const ServerProcess& s) { return {{"Authorization", "Bearer " + s.admin_token()}}; }

Response set_knobs(const ServerProcess& s, long latency_ms, long cpu_ms = 0) {
    HttpClient c(s.base_url());
    return c.put_json("/admin/knobs",
                      boost::json::serialize(boost::json::object{{"latency_ms", latency_ms}, {"cpu_ms", cpu_ms}}), admin(s));
}

// The value of the first metric line whose name and labels contain all of `parts`; nullopt if
// none (pstest::metric sums them all).
std::optional<double> first_sample(const std::string& text, const std::string& name, const std::vector<std::string>& parts = {}) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with("#") || !line.starts_with(name)) continue;
        const char next = line.size() > name.size() ? line[name.size()] : '\0';
        if (next != '{' && next != ' ') continue;
        bool all = true;
        for (const auto& p : parts) all = all && contains(line, p);
        if (!all) continue;
        return std::stod(line.substr(line.rfind(' ') + 1));
    }
    return std::nullopt;
}

// Waits until a request is being handled besides the /metrics request asking.
// The scrape itself is one request in flight; a request whose answer the client already has
// may still count for a moment. So: first nothing but the scrape, then the request started
// after that call (use `idle_but_the_scrape` before starting it). Every scrape goes over the
// scraper's one keep-alive connection: the server stops counting a request before it reads
// the next one on that connection, so a scrape never sees the previous scrape (with a new
// connection for each, it could, and "two in flight" was then two scrapes: a flaky test).
double in_flight(HttpClient& scraper) {
    auto res = scraper.get("/metrics");
    EXPECT_EQ(res.status, 200) << res.describe();
    return first_sample(res.body, "http_requests_in_flight").value_or(0);
}
bool idle_but_the_scrape(HttpClient& scraper) {
    return eventually([&] { return in_flight(scraper) == 1; }, 10s);
}
bool request_in_flight(HttpClient& scraper) {
    return eventually([&] { return in_flight(scraper) >= 2; }, 10s);
}

bool refuses_connections(int port) {
    try {
        RawConnection c(port);
        c.send("GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        auto r = c.read_response(2s);
        return !r.has_value();
    } catch (const std::exception&) {
        return true;
    }
}

// /readyz says no (503) or nobody answers any more.
bool not_ready(int port) {
    try {
        RawConnection c(port);
        c.send("GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        auto r = c.read_response(2s);
        return !r || r->status != 200;
    } catch (const std::exception&) {
        return true;
    }
}

void graceful_shutdown_with_request_in_flight(int sig, std::vector<std::string> args, bool expect_readyz_503) {
    ServerProcess s({.args = std::move(args)});
    ASSERT_EQ(set_knobs(s, 2500).status, 200);
    HttpClient scraper(s.base_url());
    ASSERT_TRUE(idle_but_the_scrape(scraper));
    auto in_flight = std::async(std::launch::async, [url = s.base_url()] {
        HttpClient c(url);
        return c.get("/");
    });
    ASSERT_TRUE(request_in_flight(scraper));
    const auto signalled = Clock::now();
    s.signal(sig);

    if (expect_readyz_503) {
        // During server.shutdown_delay the server still answers, but not ready.
        HttpClient probe(s.base_url());
        Response ready;
        EXPECT_TRUE(eventually([&] {
            ready = probe.get("/readyz", {{"Authorization", "Bearer " + s.admin_token()}});
            return ready.status != 200;
        }, 3s));
        EXPECT_EQ(ready.status, 503) << ready.describe();
        EXPECT_TRUE(contains(ready.body, "draining")) << "the details, with the admin token, say why: " << ready.body;
    }
    EXPECT_TRUE(eventually([&] { return not_ready(s.port()); }, 5s)) << "/readyz still says ready while draining";
    EXPECT_TRUE(eventually([&] { return refuses_connections(s.port()); }, 10s)) << "the listener stays open during the drain";

    auto res = in_flight.get();
    EXPECT_EQ(res.status, 200) << "the request in flight must complete: " << res.describe();
    EXPECT_TRUE(contains(res.body, "</html>"));
    auto exit = s.wait_exit(20s);
    ASSERT_TRUE(exit.has_value()) << "the server did not exit after the drain";
    EXPECT_TRUE(exit->ok()) << exit->describe();
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - signalled).count(), 15.0);
}

}  // namespace

TEST(Lifecycle, SigtermFinishesTheRequestInFlightFailsReadinessAndExits0) {
    graceful_shutdown_with_request_in_flight(SIGTERM, {"--set", "server.shutdown_delay=1s"}, true);
}

TEST(Lifecycle, SigintLikewise) { graceful_shutdown_with_request_in_flight(SIGINT, {}, false); }

TEST(Lifecycle, ShutdownDeadlineBoundsTheDrain) {
    ServerProcess s({.args = {"--set", "server.shutdown_timeout=1s"}});
    ASSERT_EQ(set_knobs(s, 30000).status, 200);
    HttpClient scraper(s.base_url());
    ASSERT_TRUE(idle_but_the_scrape(scraper));
    auto stuck = std::async(std::launch::async, [url = s.base_url()] {
        HttpClient c(url);
        c.set_timeout(40s);
        return c.get("/");
    });
    ASSERT_TRUE(request_in_flight(scraper));
    const auto start = Clock::now();
    auto exit = s.stop(SIGTERM, 15s);
    ASSERT_TRUE(exit.has_value()) << "server.shutdown_timeout=1s did not bound the drain";
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 8.0);
    EXPECT_TRUE(exit->exited) << exit->describe();
    auto res = stuck.get();
    EXPECT_NE(res.status, 200) << "a 30 s request cannot have completed";
}

TEST(Lifecycle, IdleKeepAliveConnectionsDoNotDelayShutdown) {
    ServerProcess s;  // idle_timeout 60 s
    RawConnection idle(s.port());
    idle.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = idle.read_response(5s);
    ASSERT_TRUE(r && r->status == 200);
    const auto start = Clock::now();
    auto exit = s.stop(SIGTERM, 20s);
    ASSERT_TRUE(exit.has_value());
    EXPECT_TRUE(exit->ok()) << exit->describe();
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 5.0) << "waited for an idle connection";
    EXPECT_TRUE(idle.wait_closed(5s));
}

TEST(Knobs, LatencyKnobChangesAtRunTime) {
    ServerProcess s;
    HttpClient c(s.base_url());
    EXPECT_EQ(c.get("/").status, 200);

    // The admin endpoint wants the token.
    const auto body = std::string("{\"latency_ms\": 700}");
    EXPECT_JSON_ERROR(c.put_json("/admin/knobs", body), 401);
    EXPECT_JSON_ERROR(c.put_json("/admin/knobs", body, {{"Authorization", "Bearer wrong-token"}}), 401);
    EXPECT_JSON_ERROR(c.put_json("/admin/knobs", body, {{"Authorization", s.admin_token()}}), 401);
    EXPECT_JSON_ERROR(c.get("/admin/knobs"), 401);
    EXPECT_JSON_ERROR(c.get("/admin/knobs", {{"Authorization", "Bearer " + s.admin_token() + "x"}}), 401);
    EXPECT_LT(c.get("/").seconds, 0.6) << "refused requests changed nothing";

    auto set = c.put_json("/admin/knobs", body, admin(s));
    ASSERT_EQ(set.status, 200) << set.describe();
    EXPECT_EQ(set.json().at("latency_ms").as_int64(), 700);
    auto got = c.get("/admin/knobs", admin(s));
    ASSERT_EQ(got.status, 200);
    EXPECT_EQ(got.json().at("latency_ms").as_int64(), 700);

    auto slow = c.get("/");
    EXPECT_EQ(slow.status, 200);
    EXPECT_GE(slow.seconds, 0.68) << "GET / with latency_ms=700";
    // The delay is a timer, not a thread: concurrent requests overlap.
    std::vector<std::future<Response>> many;
    const auto start = Clock::now();
    for (int i = 0; i < 16; ++i)
        many.push_back(std::async(std::launch::async, [url = s.base_url()] {
            HttpClient h(url);
            return h.get("/");
        }));
    for (auto& f : many) EXPECT_EQ(f.get().status, 200);
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 4.0) << "16 delayed requests ran one after another";

    ASSERT_EQ(set_knobs(s, 0).status, 200);
    EXPECT_LT(c.get("/").seconds, 0.5) << "fast again with latency_ms=0";
}

TEST(Knobs, BadKnobValuesAreRefused) {
    ServerProcess s;
    HttpClient c(s.base_url());
    EXPECT_JSON_ERROR(c.put_json("/admin/knobs", "{\"latency_ms\": -1}", admin(s)), 422);
    EXPECT_JSON_ERROR(c.put_json("/admin/knobs", "{\"latency_ms\": \"abc\"}", admin(s)), 422);
    EXPECT_JSON_ERROR(c.put_json("/admin/knobs", "{\"latency_ms\": 99999999}", admin(s)), 422);
    EXPECT_JSON_ERROR(c.put_json("/admin/knobs", "{\"no_such_knob\": 1}", admin(s)), 422);
    EXPECT_JSON_ERROR(c.put_json("/admin/knobs", "not json", admin(s)), 400);
    EXPECT_EQ(c.get("/admin/knobs", admin(s)).json().at("latency_ms").as_int64(), 0);
}

TEST(Knobs, CpuKnobAddsComputation) {
    ServerProcess s;
    HttpClient c(s.base_url());
    ASSERT_EQ(set_knobs(s, 0, 300).status, 200);
    auto slow = c.get("/");
    EXPECT_EQ(slow.status, 200);
    EXPECT_GE(slow.seconds, 0.28);
    ASSERT_EQ(set_knobs(s, 0, 0).status, 200);
    EXPECT_LT(c.get("/").seconds, 0.5);
}

TEST(Knobs, ConfiguredAdminTokenIsUsed) {
    ServerProcess s({.args = {"--set", "admin.token=a-configured-token-0123456789"}});
    HttpClient c(s.base_url());
    EXPECT_EQ(c.get("/admin/knobs", {{"Authorization", "Bearer a-configured-token-0123456789"}}).status, 200);
    EXPECT_EQ(c.get("/admin/knobs", {{"Authorization", "Bearer not-it"}}).status, 401);
    EXPECT_FALSE(contains(s.log(), "a-configured-token-0123456789")) << "a secret in the log";
}

TEST(Lifecycle, LoginAndPhotosSurviveARestart) {
    ServerProcess s;
    auto u = register_user(s);
    auto up = upload_photos(u, {Part::bytes(make_png(40, 30, true), "a.png", "image/png")});
    ASSERT_EQ(up.status, 201) << up.describe();
    const std::string id(up.json().at("photos").at(0).at("id").as_string());
    const std::string url(up.json().at("photos").at(0).at("url").as_string());
    const auto token = s.admin_token();

    auto exit = s.stop(SIGTERM, 20s);
    ASSERT_TRUE(exit && exit->ok()) << (exit ? exit->describe() : "did not exit");
    s.restart();

    u.http().set_base_url(s.base_url());
    auto who = u.http().get("/api/v1/session");
    ASSERT_EQ(who.status, 200) << "the session is in the database: " << who.describe();
    EXPECT_EQ(who.json().at("username").as_string(), u.username);
    EXPECT_EQ(feed_ids(s).at(0), id);
    HttpClient anon(s.base_url());
    EXPECT_EQ(anon.get(url).status, 200);
    EXPECT_EQ(upload_photos(u, {Part::bytes(make_png(20, 20), "b.png", "image/png")}).status, 201) << "same CSRF token after restart";
    EXPECT_EQ(s.admin_token(), token);
}

// libvips and its seventy libraries live in libphotoshare-image.so, loaded at the first upload
// (src/image/module.hpp): an idle server has none of them mapped. Without the module beside
// the binary, the server refuses to start and says what is missing.
bool maps_contain(pid_t pid, const std::string& needle) {
    return read_file("/proc/" + std::to_string(pid) + "/maps").find(needle) != std::string::npos;
}

TEST(Lifecycle, TheImageModuleIsLoadedAtTheFirstUpload) {
    ServerProcess s;
    auto u = register_user(s);
    EXPECT_FALSE(maps_contain(s.pid(), "libvips")) << "libvips loaded before any upload";
    EXPECT_FALSE(maps_contain(s.pid(), "libphotoshare-image.so"));
    auto up = upload_photos(u, {Part::bytes(make_png(40, 30, true), "a.png", "image/png")});
    ASSERT_EQ(up.status, 201) << up.describe();
    EXPECT_TRUE(maps_contain(s.pid(), "libphotoshare-image.so"));
    EXPECT_TRUE(maps_contain(s.pid(), "libvips"));
    EXPECT_EQ(upload_photos(u, {Part::bytes(make_png(20, 20), "b.png", "image/png")}).status, 201);
}

TEST(Lifecycle, WithoutTheImageModuleTheServerRefusesToStart) {
    TempDir dir("ps-itest-nomodule");
    const fs::path alone = dir.path() / "photoshare";
    fs::copy_file(server_binary(), alone);
    fs::permissions(alone, fs::perms::owner_all);
    const std::string saved = server_binary();
    ::setenv("PHOTOSHARE_BINARY", alone.c_str(), 1);
    const auto result = run_photoshare({"serve", "--listen", "127.0.0.1:" + std::to_string(free_port()), "--data-dir",
                                        (dir.path() / "data").string()},
                                       {}, 20s);
    ::setenv("PHOTOSHARE_BINARY", saved.c_str(), 1);
    EXPECT_FALSE(result.timed_out) << "it started (and ran) without its image module";
    EXPECT_TRUE(result.status.exited && result.status.code != 0) << result.status.describe();
    EXPECT_NE(result.output.find("libphotoshare-image.so"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("is missing"), std::string::npos) << result.output;
}

TEST(Operations, HealthzAndReadyz) {
    ServerProcess s;
    HttpClient c(s.base_url());
    auto health = c.get("/healthz");
    EXPECT_EQ(health.status, 200) << health.describe();
    // Anyone gets the verdict, nothing more: no addresses, no error text.
    auto ready = c.get("/readyz");
    ASSERT_EQ(ready.status, 200) << ready.describe();
    EXPECT_EQ(ready.body, "{\"status\":\"ready\"}") << ready.describe();
    EXPECT_EQ(c.get("/readyz", {{"Authorization", "Bearer not-the-token"}}).body, ready.body) << "a wrong token sees no more";
    // With the admin token, every check and what it said.
    auto detailed = c.get("/readyz", {{"Authorization", "Bearer " + s.admin_token()}});
    ASSERT_EQ(detailed.status, 200) << detailed.describe();
    auto v = detailed.json();
    ASSERT_TRUE(v.is_object());
    ASSERT_TRUE(v.as_object().contains("checks")) << detailed.body;
    const auto& checks = v.at("checks").as_object();
    EXPECT_TRUE(checks.contains("database")) << detailed.body;
    EXPECT_TRUE(checks.contains("storage")) << detailed.body;
    for (const auto& [name, value] : checks) EXPECT_EQ(value, "ok") << name;
}

TEST(Operations, MetricsInPrometheusTextFormat) {
    ServerProcess s;
    HttpClient c(s.base_url());
    ASSERT_EQ(c.get("/").status, 200);  // feed cache miss
    ASSERT_EQ(c.get("/").status, 200);  // hit
    auto u = register_user(s);
    ASSERT_EQ(upload_photos(u, {Part::bytes(make_png(16, 16), "a.png", "image/png")}).status, 201);
    EXPECT_EQ(upload_photos(u, {Part::bytes("not an image", "a.png", "image/png")}).status, 415);
    EXPECT_EQ(c.get("/no/such/page").status, 404);

    auto res = c.get("/metrics");
    ASSERT_EQ(res.status, 200);
    EXPECT_TRUE(res.header("Content-Type").starts_with("text/plain")) << res.describe();
    const auto& m = res.body;
    EXPECT_GE(first_sample(m, "http_requests_total", {"route=\"/\"", "method=\"GET\"", "status=\"200\""}).value_or(0), 2) << m;
    EXPECT_GE(first_sample(m, "http_requests_total", {"method=\"POST\"", "status=\"201\""}).value_or(0), 1) << m;
    EXPECT_GE(first_sample(m, "http_requests_total", {"status=\"404\""}).value_or(0), 1) << m;
    EXPECT_TRUE(first_sample(m, "http_request_duration_seconds_bucket", {"route=\"/\"", "le=\"+Inf\""}).has_value()) << m;
    EXPECT_TRUE(first_sample(m, "http_request_duration_seconds_sum", {"route=\"/\""}).has_value()) << m;
    EXPECT_GE(first_sample(m, "http_request_duration_seconds_count", {"route=\"/\""}).value_or(0), 2) << m;
    EXPECT_GE(first_sample(m, "photoshare_feed_cache_requests_total", {"hit"}).value_or(0), 1) << m;
    EXPECT_GE(first_sample(m, "photoshare_feed_cache_requests_total", {"miss"}).value_or(0), 1) << m;
    EXPECT_TRUE(first_sample(m, "photoshare_db_query_duration_seconds_bucket").has_value() ||
                first_sample(m, "photoshare_db_query_duration_seconds_count").has_value())
        << m;
    EXPECT_GE(first_sample(m, "photoshare_uploads_total", {"accepted"}).value_or(0), 1) << m;
    EXPECT_GE(first_sample(m, "photoshare_uploads_total", {"rejected"}).value_or(0), 1) << m;
    EXPECT_GE(first_sample(m, "http_requests_in_flight").value_or(0), 1) << m;
    EXPECT_TRUE(contains(m, "# TYPE http_request_duration_seconds histogram")) << m;
    EXPECT_TRUE(contains(m, "# TYPE http_requests_total counter")) << m;
}

TEST(Operations, AccessLogHasALinePerRequest) {
    ServerProcess s;
    HttpClient c(s.base_url());
    ASSERT_EQ(c.get("/api/v1/photos?limit=3").status, 200);
    EXPECT_TRUE(eventually([&] { return contains(s.log(), "/api/v1/photos"); }, 5s)) << s.log();
    std::smatch m;
    const auto log = s.log();
    EXPECT_TRUE(std::regex_search(log, m, std::regex("GET /api/v1/photos\\S* 200"))) << log;
}
