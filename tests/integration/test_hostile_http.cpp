// Hostile input at the HTTP layer (issue 7): oversized bodies and headers, very long URLs
// and query strings, request smuggling attempts, Expect: 100-continue on requests that
// cannot succeed, HTTP/1.0 and pipelined requests. Every
// case checks the status, that the message says what was wrong, and that a second client is
// served meanwhile. Raw sockets throughout: a well-behaved library cannot send these.
#include "support/app.hpp"
#include "support/http_client.hpp"
#include "support/photoshare_server.hpp"

#include <future>
#include <sstream>

using namespace pstest;

namespace {

constexpr std::uint64_t kUploadLimit = 256 * 1024;

std::string session_cookie(User& u) { return "ps_session=" + u.http().cookie("ps_session").value_or(""); }

std::string chunk(std::string_view data) {
    std::ostringstream out;
    out << std::hex << data.size() << "\r\n" << data << "\r\n";
    return out.str();
}

// The access log line of a path, if the server ever handled a request for it.
bool logged(const ServerProcess& s, std::string_view marker) { return contains(s.log(), marker); }

// The error message of a JSON error, or the body of anything else (HTML pages contain it).
std::string message_of(const RawResponse& r) {
    if (!r.header("Content-Type").starts_with("application/json")) return r.body;
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("error")) return {};
    const auto& e = v.at("error").as_object();
    return e.contains("message") && e.at("message").is_string() ? std::string(e.at("message").as_string()) : std::string();
}

// The request gets exactly one response with one of `statuses`, then the connection is
// closed; the message is not empty.
RawResponse expect_refused_and_closed(const ServerProcess& s, const std::string& request, const std::vector<int>& statuses,
                                      const std::string& what) {
    SCOPED_TRACE(what);
    RawConnection c(s.port());
    c.send(request);
    auto r = c.read_response(10s);
    if (!r) {
        ADD_FAILURE() << "no response; received: " << c.received().substr(0, 300);
        return {};
    }
    EXPECT_TRUE(std::find(statuses.begin(), statuses.end(), r->status) != statuses.end())
        << "expected HTTP " << statuses.front() << ", got HTTP " << r->status << "\n" << r->body;
    EXPECT_FALSE(message_of(*r).empty()) << "the error says what was wrong: " << r->body;
    if (r->status < 400) return *r;  // already reported; do not wait for a close that will not come
    EXPECT_TRUE(c.wait_closed(3s)) << "the connection must be closed after refusing the request";
    // Whatever followed the refused request was not read as another request.
    const auto rest = c.received();
    EXPECT_FALSE(contains(rest, "HTTP/1.1 ")) << "a second response came back: " << rest.substr(0, 300);
    return *r;
}

}  // namespace

PSTEST_SHARED_SERVER_FIXTURE(HostileHttp, .args = {"--set", "limits.max_upload_bytes=256KiB", "--set", "limits.header_timeout=3s", "--set",
                                                  "limits.body_timeout=3s"},
                            .name = "itest-hostile-http");

// ---- oversized bodies ---------------------------------------------------------------------

TEST_F(HostileHttp, EveryRouteRefusesADeclaredBodyOverItsLimitBeforeReadingIt) {
    auto u = register_user(server());
    const std::string auth = "Cookie: " + session_cookie(u) + "\r\nX-CSRF-Token: " + u.csrf + "\r\n";
    struct Case {
        std::string method, path, type;
        std::uint64_t length;
    };
    const std::vector<Case> cases = {
        {"POST", "/api/v1/users", "application/json", 64 * 1024 + 1},
        {"POST", "/api/v1/session", "application/json", 10'000'000},
        {"DELETE", "/api/v1/session", "application/json", 1'000'000},
        {"POST", "/login", "application/x-www-form-urlencoded", 65 * 1024},
        {"POST", "/register", "application/x-www-form-urlencoded", 1ULL << 40},
        {"POST", "/logout", "application/x-www-form-urlencoded", 200'000},
        {"POST", "/photos/abc/delete", "application/x-www-form-urlencoded", 200'000},
        {"POST", "/api/v1/photos", "multipart/form-data; boundary=b", kUploadLimit + 1},
        {"POST", "/upload", "multipart/form-data; boundary=b", 1ULL << 50},
        {"GET", "/", "text/plain", 1'000'000},
        {"GET", "/api/v1/photos", "text/plain", 1'000'000},
    };
    HealthProbe probe(server());
    std::vector<std::future<void>> runs;
    for (int round = 0; round < 4; ++round) {
        runs.push_back(std::async(std::launch::async, [&] {
            for (const auto& c : cases) {
                const std::string what = c.method + " " + c.path + " Content-Length " + std::to_string(c.length);
                auto r = expect_refused_and_closed(server(),
                                                   c.method + " " + c.path + " HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: " + c.type +
                                                       "\r\nContent-Length: " + std::to_string(c.length) + "\r\n\r\n",
                                                   {413}, what);
                if (c.path.starts_with("/api/")) EXPECT_TRUE(r.header("Content-Type").starts_with("application/json")) << what;
                EXPECT_TRUE(contains(message_of(r), "larger")) << what << ": " << message_of(r);
            }
        }));
    }
    for (auto& r : runs) r.get();
    probe.stop();
    EXPECT_TRUE(probe.ok()) << probe.describe();
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileHttp, ABodyStreamedPastTheLimitIsCutOffAt413) {
    // No declared length: the server counts. 2 MiB of chunks at a form route (limit 64 KiB).
    HealthProbe probe(server());
    RawConnection c(server().port());
    ASSERT_TRUE(c.send("POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n"));
    const std::string block = chunk(std::string(16 * 1024, 'a'));
    for (int i = 0; i < 128; ++i)
        if (!c.send(block)) break;  // the server may stop reading and close: that is fine
    auto r = c.read_response(10s);
    ASSERT_TRUE(r.has_value()) << c.received().substr(0, 300);
    EXPECT_EQ(r->status, 413) << r->body;
    EXPECT_TRUE(c.wait_closed(10s));
    probe.stop();
    EXPECT_TRUE(probe.ok()) << probe.describe();
}

// ---- Expect: 100-continue ---------------------------------------------------------------

// A request its route refuses gets its final status at once, without a 100 Continue first,
// so the client never sends the body (RFC 9110 §10.1.1): before authentication, CSRF and
// the content type are checked, a 100 would invite megabytes that are then thrown away.
TEST_F(HostileHttp, Expect100ContinueIsAnsweredWithTheRefusalWhenTheRequestCannotSucceed) {
    auto u = register_user(server());
    const std::string cookie = "Cookie: " + session_cookie(u) + "\r\n";
    struct Case {
        std::string what, head;
        int status;
    };
    const std::string upload = "POST /api/v1/photos HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n";
    const std::vector<Case> cases = {
        {"upload without a session", upload + "Content-Length: 200000\r\n", 401},
        {"upload with a wrong CSRF token", upload + cookie + "X-CSRF-Token: wrong\r\nContent-Length: 200000\r\n", 403},
        {"form upload with a wrong CSRF header", "POST /upload HTTP/1.1\r\nHost: x\r\n" + cookie +
             "X-CSRF-Token: wrong\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 200000\r\n", 403},
        {"upload over the limit", upload + cookie + "X-CSRF-Token: " + u.csrf + "\r\nContent-Length: 300000\r\n", 413},
        {"upload that is not multipart", "POST /api/v1/photos HTTP/1.1\r\nHost: x\r\n" + cookie + "X-CSRF-Token: " + u.csrf +
             "\r\nContent-Type: image/jpeg\r\nContent-Length: 200000\r\n", 415},
        {"JSON sent as text", "POST /api/v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n", 415},
        {"knobs without the admin token", "PUT /admin/knobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n", 401},
        {"logout without a session", "DELETE /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n", 401},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        RawConnection conn(server().port());
        ASSERT_TRUE(conn.send(c.head + "Expect: 100-continue\r\n\r\n"));
        // The refusal, then the close; read as sent (read_response would skip a 100).
        EXPECT_TRUE(conn.wait_closed(5s)) << "the connection stays open waiting for a body";
        EXPECT_TRUE(conn.received().starts_with("HTTP/1.1 " + std::to_string(c.status) + " "))
            << "expected the final status at once, got: " << conn.received().substr(0, 300);
        EXPECT_FALSE(contains(conn.received(), "100 Continue")) << "a 100 Continue invited a body that could not be used";
    }
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileHttp, Expect100ContinueGetsA100OnceTheRequestCanSucceedAndTheBodyIsThenRead) {
    const std::string body = "{\"username\":\"" + unique_username("expect") + "\",\"password\":\"" + std::string(kPassword) + "\"}";
    RawConnection conn(server().port());
    ASSERT_TRUE(conn.send("POST /api/v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\nExpect: 100-continue\r\n\r\n"));
    EXPECT_FALSE(conn.wait_closed(1s));
    EXPECT_EQ(conn.received(), "HTTP/1.1 100 Continue\r\n\r\n") << "the server waits for the body after its 100";
    ASSERT_TRUE(conn.send(body));
    auto r = conn.read_response(10s);
    ASSERT_TRUE(r) << conn.received().substr(0, 300);
    EXPECT_EQ(r->status, 201) << r->body;
}

TEST_F(HostileHttp, ContentLengthThatIsNotANumberOrOverflowsIs400) {
    for (const std::string& length : {std::string("99999999999999999999999999"), std::string("-1"), std::string("12abc"),
                                      std::string("0x10"), std::string("")}) {
        expect_refused_and_closed(server(),
                                  "POST /api/v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + length +
                                      "\r\n\r\n{}",
                                  {400, 413}, "Content-Length: '" + length + "'");
    }
    EXPECT_STILL_SERVING(server());
}

// ---- oversized headers ----------------------------------------------------------------------

TEST_F(HostileHttp, AMegabyteHeaderIs431AtOnceAndNotBuffered) {
    HealthProbe probe(server());
    RawConnection c(server().port());
    const auto start = Clock::now();
    c.send("GET / HTTP/1.1\r\nHost: x\r\nX-Huge: ");
    // 1 MiB of header value; the server stops reading at its limit (16 KiB).
    const std::string piece(64 * 1024, 'h');
    for (int i = 0; i < 16; ++i)
        if (!c.send(piece)) break;
    c.send("\r\n\r\n");
    auto r = c.read_response(10s);
    ASSERT_TRUE(r.has_value()) << c.received().substr(0, 300);
    EXPECT_EQ(r->status, 431);
    EXPECT_TRUE(contains(r->body, "headers are larger")) << r->body;
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 5.0);
    EXPECT_TRUE(c.wait_closed(5s));
    probe.stop();
    EXPECT_TRUE(probe.ok()) << probe.describe();
}

TEST_F(HostileHttp, TenThousandTinyHeadersAre431) {
    std::string req = "GET /api/v1/photos HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 10'000; ++i) req += "a:\r\n";
    req += "\r\n";
    expect_refused_and_closed(server(), req, {431}, "10000 headers");
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileHttp, RequestsRefusedBeforeRoutingAreJsonErrorsOnApiUrls) {
    // docs/API.md: every error under /api/v1 is {"error": {...}}. Also the ones the HTTP
    // layer answers before a route is found, when the request line was complete.
    std::string many = "GET /api/v1/photos HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 10'000; ++i) many += "a:\r\n";
    many += "\r\n";
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"431: 10000 headers", many},
        {"400: a DEL in a header value", "GET /api/v1/photos HTTP/1.1\r\nHost: x\r\nX-Bad: a\x7f" "b\r\n\r\n"},
        {"400: a header line without a colon", "GET /api/v1/session HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n"},
    };
    for (const auto& [what, request] : cases) {
        auto r = expect_refused_and_closed(server(), request, {400, 431}, what);
        EXPECT_TRUE(r.header("Content-Type").starts_with("application/json")) << what << ": an /api/ URL gets a JSON error, not "
                                                                              << r.header("Content-Type");
    }
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileHttp, ARequestLineWithoutEndIs431Or414) {
    // Never a CRLF: the request line itself grows past every limit.
    RawConnection c(server().port());
    c.send("GET /");
    const std::string piece(32 * 1024, 'a');
    for (int i = 0; i < 8; ++i)
        if (!c.send(piece)) break;
    auto r = c.read_response(10s);
    ASSERT_TRUE(r.has_value()) << c.received().substr(0, 200);
    EXPECT_TRUE(r->status == 431 || r->status == 414) << r->status;
    EXPECT_TRUE(c.wait_closed(5s));
    EXPECT_STILL_SERVING(server());
}

// ---- very long URLs and query strings -------------------------------------------------------

TEST_F(HostileHttp, VeryLongUrlsAndQueryStringsAre414Or431AndTheServerGoesOn) {
    HealthProbe probe(server());
    struct Case {
        std::string target;
        int status;
        bool json;
    };
    const std::vector<Case> cases = {
        {"/" + std::string(10'000, 'a'), 414, false},                                // over the 8 KiB target limit
        {"/api/v1/photos/" + std::string(10'000, 'b'), 414, true},                   // the API answers JSON
        {"/api/v1/photos?limit=10&x=" + std::string(10'000, 'c'), 414, true},        // long query string
        {"/?q=" + std::string(9'000, '%') , 414, false},                             // long and malformed
        {"/" + std::string(40'000, 'd'), 431, false},                                // over the header limit too
        {"/api/v1/photos?" + std::string(100'000, 'e'), 431, false},  // over the header limit: the path is not known
    };
    for (const auto& c : cases) {
        const std::string what = c.target.substr(0, 30) + "... (" + std::to_string(c.target.size()) + " bytes)";
        auto r = expect_refused_and_closed(server(), "GET " + c.target + " HTTP/1.1\r\nHost: x\r\n\r\n", {c.status}, what);
        if (c.json) EXPECT_TRUE(r.header("Content-Type").starts_with("application/json")) << what;
        if (c.status == 414) EXPECT_TRUE(contains(message_of(r), "URL is longer")) << what << ": " << message_of(r);
        EXPECT_LT(r.body.size(), 20'000u) << "the error page does not echo the URL: " << what;
        EXPECT_FALSE(contains(r.body, std::string(200, c.target.back()))) << "the URL is not echoed back: " << what;
    }
    // Just under the limit still works.
    HttpClient ok(server().base_url());
    EXPECT_EQ(ok.get("/api/v1/photos?limit=5&pad=" + std::string(7'000, 'p')).status, 200);
    probe.stop();
    EXPECT_TRUE(probe.ok()) << probe.describe();
}

// ---- request smuggling ------------------------------------------------------------------------

TEST_F(HostileHttp, SmugglingAttemptsAre400AndCloseTheConnection) {
    const std::string json = "{\"username\":\"x\",\"password\":\"y\"}";
    int n = 0;
    struct Case {
        std::string what, headers, body;
        std::vector<int> statuses = {400};
    };
    auto smuggled = [&](int i) { return "GET /api/v1/photos/SMUGGLED" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n"; };
    std::vector<Case> cases = {
        {"Content-Length and Transfer-Encoding", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"},
        {"Transfer-Encoding and Content-Length", "Transfer-Encoding: chunked\r\nContent-Length: 40\r\n", "0\r\n\r\n"},
        {"two different Content-Lengths", "Content-Length: 2\r\nContent-Length: 40\r\n", "{}"},
        {"a Content-Length list", "Content-Length: 2, 40\r\n", "{}"},
        {"Content-Length with a sign", "Content-Length: +2\r\n", "{}"},
        {"a space before the colon", "Transfer-Encoding : chunked\r\nContent-Length: 2\r\n", "{}"},
        {"chunked twice", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"},
        {"chunked then identity", "Transfer-Encoding: chunked, identity\r\n", "0\r\n\r\n"},
        {"gzip without chunked", "Transfer-Encoding: gzip\r\n", "0\r\n\r\n"},
        {"an unknown coding", "Transfer-Encoding: xchunked\r\n", "0\r\n\r\n"},
        {"a non-hex chunk size", "Transfer-Encoding: chunked\r\n", "zz\r\n" + json + "\r\n0\r\n\r\n"},
        {"a negative chunk size", "Transfer-Encoding: chunked\r\n", "-1\r\n" + json + "\r\n0\r\n\r\n"},
        {"a 0x chunk size", "Transfer-Encoding: chunked\r\n", "0x20\r\n" + json + "\r\n0\r\n\r\n"},
        {"an overflowing chunk size", "Transfer-Encoding: chunked\r\n", "fffffffffffffffffffffff1\r\n" + json + "\r\n0\r\n\r\n"},
        {"a chunk longer than its size", "Transfer-Encoding: chunked\r\n", "2\r\n" + json + "\r\n0\r\n\r\n"},
        {"a chunk without its CRLF", "Transfer-Encoding: chunked\r\n", "2\r\n{}XX0\r\n\r\n"},
        {"a chunk size with spaces", "Transfer-Encoding: chunked\r\n", " 2 \r\n{}\r\n0\r\n\r\n"},
        // RFC 9112 §5.2 lets a server unfold instead; a proxy in front may not, so: refused.
        {"a folded header line", "X-Folded: a\r\n b\r\n", "{}"},
        {"a line folded with a tab", "Content-Length: 2\r\nX-Folded: a\r\n\tb\r\n", "{}"},
    };
    for (const auto& c : cases) {
        ++n;
        std::string req = "POST /api/v1/users HTTP/1.1\r\nHost: x\r\n";
        if (!contains(c.headers, "Content-Type")) req += "Content-Type: application/json\r\n";
        req += c.headers + "\r\n" + c.body + smuggled(n);
        expect_refused_and_closed(server(), req, c.statuses, c.what);
    }
    // The smuggled requests never reached a handler (the access log has every request).
    std::this_thread::sleep_for(200ms);  // the access log is written every 50 ms
    EXPECT_FALSE(logged(server(), "SMUGGLED")) << server().log();
    EXPECT_STILL_SERVING(server());
}

// Framing is the same for every method: a GET or HEAD with a Transfer-Encoding this server
// does not read gets 400 and a close, so what follows its headers is never read as the next
// request (it was: a GET with "xchunked" was answered 200 and its "body" parsed as a request).
TEST_F(HostileHttp, EveryMethodWithATransferEncodingItCannotReadIs400AndClosed) {
    const std::vector<std::pair<std::string, std::string>> codings = {
        {"an unknown coding", "Transfer-Encoding: xchunked\r\n"},
        {"identity", "Transfer-Encoding: identity\r\n"},
        {"gzip alone", "Transfer-Encoding: gzip\r\n"},
        {"chunked, then identity", "Transfer-Encoding: chunked, identity\r\n"},
        {"chunked twice in one field", "Transfer-Encoding: chunked, chunked\r\n"},
        {"chunked in two fields", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"},
        {"chunked with Content-Length", "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"},
        {"an empty coding", "Transfer-Encoding: \r\n"},
    };
    int n = 0;
    for (const std::string method : {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"}) {
        for (const auto& [what, header] : codings) {
            SCOPED_TRACE(method + " with " + what);
            const std::string marker = "SMUGGLED-TE" + std::to_string(++n);
            const std::string path = method == "POST" ? "/api/v1/users" : method == "DELETE" ? "/api/v1/photos/x" : "/";
            RawConnection c(server().port());
            c.send(method + " " + path + " HTTP/1.1\r\nHost: x\r\n" + header + "\r\n0\r\n\r\nGET /api/v1/photos/" + marker +
                   " HTTP/1.1\r\nHost: x\r\n\r\n");
            // HEAD's answer has no body to read: take whatever comes until the close.
            EXPECT_TRUE(c.wait_closed(5s)) << "the connection must be closed";
            const auto& got = c.received();
            EXPECT_TRUE(got.starts_with("HTTP/1.1 400 ")) << got.substr(0, 200);
            EXPECT_EQ(got.find("HTTP/1.1 ", 1), std::string::npos) << "a second response came back: " << got.substr(0, 400);
        }
    }
    std::this_thread::sleep_for(200ms);  // the access log is written every 50 ms
    EXPECT_FALSE(logged(server(), "SMUGGLED-TE")) << server().log();
    // A well-formed chunked body still works.
    RawConnection ok(server().port());
    ok.send("POST /api/v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding:  Chunked \r\n\r\n" +
            chunk(R"({"username":")" + pstest::unique_username("te") + R"(","password":"correct horse battery"})") + "0\r\n\r\n");
    auto r = ok.read_response(10s);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 201) << r->body;
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileHttp, ABodyRefusedWithoutReadingIsNeverParsedAsTheNextRequest) {
    // A 413 from Content-Length: what the client sent as "body" must not be read as a request.
    auto u = register_user(server());
    RawConnection c(server().port());
    const std::string inner = "GET /api/v1/photos/SMUGGLED-BODY HTTP/1.1\r\nHost: x\r\n\r\n";
    c.send("POST /api/v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n" + inner + inner);
    auto r = c.read_response(10s);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 413);
    EXPECT_TRUE(c.wait_closed(5s));
    EXPECT_FALSE(contains(c.received(), "HTTP/1.1 404"));
    // And a malformed request followed by a good one: only the 400.
    expect_refused_and_closed(server(), "GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n" + inner, {400}, "malformed header line");
    std::this_thread::sleep_for(200ms);
    EXPECT_FALSE(logged(server(), "SMUGGLED-BODY"));
    EXPECT_STILL_SERVING(server());
}

// ---- HTTP/1.0 and pipelining ------------------------------------------------------------------

TEST_F(HostileHttp, Http10IsAnsweredAndClosedUnlessKeepAliveIsAsked) {
    {
        bool closed = false;
        auto r = raw_exchange(server().port(), "GET /healthz HTTP/1.0\r\n\r\n", 5s, &closed);
        ASSERT_TRUE(r.has_value());
        EXPECT_EQ(r->status, 200);
        EXPECT_TRUE(closed) << "HTTP/1.0 without keep-alive: closed after the response";
    }
    {
        RawConnection c(server().port());
        c.send("GET /api/v1/photos HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        auto r = c.read_response(5s);
        ASSERT_TRUE(r.has_value());
        EXPECT_EQ(r->status, 200);
        EXPECT_FALSE(r->header("Content-Length").empty()) << "an HTTP/1.0 client cannot take chunks";
        EXPECT_TRUE(contains(r->header("Connection"), "keep-alive")) << "keep-alive is confirmed to an HTTP/1.0 client";
        c.send("GET /healthz HTTP/1.0\r\n\r\n");
        auto again = c.read_response(5s);
        ASSERT_TRUE(again.has_value()) << "the kept-alive connection takes a second request";
        EXPECT_EQ(again->status, 200);
        EXPECT_TRUE(c.wait_closed(5s));
    }
    {
        // A page, a form post and an error page over HTTP/1.0.
        auto page = raw_exchange(server().port(), "GET / HTTP/1.0\r\n\r\n");
        ASSERT_TRUE(page.has_value());
        EXPECT_EQ(page->status, 200);
        EXPECT_TRUE(contains(page->body, "</html>")) << "the whole page arrives";
        const std::string body = "{\"username\":\"" + unique_username("h10") + "\",\"password\":\"" + kPassword + "\"}";
        auto reg = raw_exchange(server().port(), "POST /api/v1/users HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: " +
                                                     std::to_string(body.size()) + "\r\n\r\n" + body);
        ASSERT_TRUE(reg.has_value());
        EXPECT_EQ(reg->status, 201) << reg->body;
        auto missing = raw_exchange(server().port(), "GET /no/such/page HTTP/1.0\r\n\r\n");
        ASSERT_TRUE(missing.has_value());
        EXPECT_EQ(missing->status, 404);
    }
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileHttp, TransferEncodingInHttp10IsFaultyFramingAndClosesTheConnection) {
    // RFC 9112 §6.1: a server that receives an HTTP/1.0 message with Transfer-Encoding
    // "MUST treat the message as if the framing is faulty ... and close the connection after
    // processing the message": nothing behind it may be read as another request.
    expect_refused_and_closed(server(),
                              "POST /api/v1/users HTTP/1.0\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                              "Connection: keep-alive\r\n\r\n2\r\n{}\r\n0\r\n\r\nGET /api/v1/photos/SMUGGLED-10 HTTP/1.0\r\n\r\n",
                              {400, 411, 422, 501}, "chunked HTTP/1.0 with keep-alive");
    std::this_thread::sleep_for(200ms);
    EXPECT_FALSE(logged(server(), "SMUGGLED-10"));
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileHttp, UnknownProtocolVersionsAndMethodsAreRefused) {
    for (const std::string& line : {std::string("GET / HTTP/2.0"), std::string("GET / HTTP/0.9"), std::string("GET / HTTP/1.1 extra"),
                                    std::string("GET /"), std::string("GET  / HTTP/1.1"), std::string("G\x01T / HTTP/1.1")}) {
        expect_refused_and_closed(server(), line + "\r\nHost: x\r\n\r\n", {400, 505}, "request line '" + line + "'");
    }
    auto brew = raw_exchange(server().port(), "BREW /api/v1/photos HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ASSERT_TRUE(brew.has_value());
    EXPECT_TRUE(brew->status == 405 || brew->status == 400 || brew->status == 501) << brew->status;
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileHttp, Http11WithoutHostIs400) {
    // RFC 9112 §3.2: "A server MUST respond with a 400 to any HTTP/1.1 request message that
    // lacks a Host header field".
    expect_refused_and_closed(server(), "GET /api/v1/photos HTTP/1.1\r\n\r\n", {400}, "no Host");
    expect_refused_and_closed(server(), "GET /api/v1/photos HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", {400}, "two Hosts");
    // §3.2: "... or more than one Host header line or a Host header field with an invalid
    // field value".
    for (const char* host : {"a b", "x:99999", "x/y", "user@x", "[::1", "x:8o"})
        expect_refused_and_closed(server(), std::string("GET /api/v1/photos HTTP/1.1\r\nHost: ") + host + "\r\n\r\n", {400}, host);
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileHttp, PipelinedRequestsAreAnsweredInOrder) {
    auto u = register_user(server());
    RawConnection c(server().port());
    const std::string body = "{\"username\":\"" + unique_username("pipe") + "\",\"password\":\"" + kPassword + "\"}";
    std::string batch;
    batch += "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    batch += "POST /api/v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\n\r\n" + body;
    batch += "GET /api/v1/photos/NoSuchPhoto HTTP/1.1\r\nHost: x\r\n\r\n";
    batch += "GET /api/v1/session HTTP/1.1\r\nHost: x\r\nCookie: " + session_cookie(u) + "\r\n\r\n";
    batch += "GET /api/v1/photos?limit=1 HTTP/1.1\r\nHost: x\r\n\r\n";
    batch += "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n";
    batch += "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ASSERT_TRUE(c.send(batch));  // one write: the requests arrive together
    const std::vector<int> expected{200, 201, 404, 200, 200};
    for (std::size_t i = 0; i < expected.size(); ++i) {
        auto r = c.read_response(10s);
        ASSERT_TRUE(r.has_value()) << "response " << i + 1 << " missing; received: " << c.received().substr(0, 300);
        EXPECT_EQ(r->status, expected[i]) << "response " << i + 1 << ": " << r->body.substr(0, 200);
        if (i == 3) EXPECT_TRUE(contains(r->body, u.username)) << r->body;
    }
    // HEAD: headers only (whatever its Content-Length says), then the last response.
    ASSERT_TRUE(c.wait_closed(10s)) << "Connection: close on the last request";
    const std::string rest = c.received();
    ASSERT_TRUE(rest.starts_with("HTTP/1.1 200")) << rest.substr(0, 300);
    const auto head_end = rest.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos);
    EXPECT_TRUE(rest.substr(head_end + 4).starts_with("HTTP/1.1 200")) << "a HEAD response carries no body:\n" << rest.substr(0, 600);
    EXPECT_TRUE(rest.ends_with("ok\n") || contains(rest.substr(head_end + 4), "Connection: close")) << rest.substr(head_end + 4, 400);

    // 100 pipelined requests in one write, all answered.
    RawConnection many(server().port());
    std::string hundred;
    for (int i = 0; i < 100; ++i) hundred += "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_TRUE(many.send(hundred));
    for (int i = 0; i < 100; ++i) {
        auto r = many.read_response(10s);
        ASSERT_TRUE(r.has_value()) << "pipelined response " << i + 1 << " of 100";
        EXPECT_EQ(r->status, 200);
    }
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileHttp, PipelinedRequestsAfterARefusedOneAreNotAnswered) {
    RawConnection c(server().port());
    c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
           "POST /api/v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 999999\r\n\r\n"
           "GET /api/v1/photos/SMUGGLED-PIPE HTTP/1.1\r\nHost: x\r\n\r\n");
    auto first = c.read_response(5s);
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->status, 200);
    auto second = c.read_response(5s);
    ASSERT_TRUE(second.has_value());
    EXPECT_EQ(second->status, 413);
    EXPECT_TRUE(c.wait_closed(5s));
    EXPECT_FALSE(contains(c.received(), "HTTP/1.1")) << c.received().substr(0, 200);
    std::this_thread::sleep_for(200ms);
    EXPECT_FALSE(logged(server(), "SMUGGLED-PIPE"));
    EXPECT_STILL_SERVING(server());
}
