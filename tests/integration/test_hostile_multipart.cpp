// Hostile input in upload bodies (issue 7): truncated and malformed multipart (missing
// boundary parameter, the boundary inside the data, no final boundary, thousands of parts,
// huge part headers, bare-LF framing) and wrong or lying Content-Types. Bodies are written
// byte for byte (MultipartBody): curl would not produce them. Every refusal has the right
// status and a message that names the problem, stores nothing, leaves no spool file, and
// a second client is served meanwhile.
#include "support/app.hpp"
#include "support/files.hpp"
#include "support/http_client.hpp"
#include "support/images.hpp"
#include "support/photoshare_server.hpp"

using namespace pstest;

namespace {

const fs::path kCamera = testdata("images/edge/exif-samples/DSCN0010.jpg");  // 640x480

std::vector<std::string> state_files(const ServerProcess& s) {
    std::vector<std::string> out;
    for (auto& f : list_files(s.data_dir()))
        if (!f.starts_with("photoshare.db") && f != "admin.token") out.push_back(f);
    return out;
}

struct Snapshot {
    std::vector<std::string> files;
    std::vector<std::string> feed;
};
Snapshot snapshot(const ServerProcess& s) { return {state_files(s), feed_ids(s)}; }

void expect_nothing_stored(const ServerProcess& s, const Snapshot& before) {
    EXPECT_TRUE(eventually([&] { return state_files(s) == before.files; }, 5s)) << "a file was left behind";
    EXPECT_EQ(feed_ids(s), before.feed) << "a photo was stored";
}

std::string error_message(const Response& r) {
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("error")) return {};
    return std::string(v.at("error").at("message").as_string());
}

// A JSON error with this status (and code) whose message contains `words`.
void expect_refusal_at(const char* file, int line, const Response& r, long status, std::string_view code, std::string_view words) {
    ::testing::ScopedTrace trace(file, line, "refusal");
    expect_json_error_at(file, line, r, status, code);
    if (!words.empty()) EXPECT_TRUE(contains(error_message(r), words)) << "message: " << error_message(r);
}
#define EXPECT_REFUSAL(...) expect_refusal_at(__FILE__, __LINE__, __VA_ARGS__)

Response post_upload(User& u, const std::string& body, const std::string& content_type) {
    return u.http().post_raw("/api/v1/photos", body, content_type, u.csrf_header());
}

Response post_upload(User& u, const MultipartBody& m) { return post_upload(u, m.body, m.content_type()); }

}  // namespace

PSTEST_SHARED_SERVER_FIXTURE(HostileMultipart, .args = {"--set", "limits.max_upload_bytes=4MiB"}, .name = "itest-hostile-multipart");

TEST_F(HostileMultipart, AMissingOrInvalidBoundaryParameterIs415) {
    auto u = register_user(server());
    const auto before = snapshot(server());
    HealthProbe probe(server());
    MultipartBody m;
    m.boundary = "b";
    m.file(read_file(kCamera), "a.jpg").close();
    for (const std::string& type : {std::string("multipart/form-data"), std::string("multipart/form-data; boundary="),
                                    std::string("multipart/form-data; boundary=\"\""), std::string("multipart/form-data;boundary"),
                                    "multipart/form-data; boundary=" + std::string(71, 'b'),  // RFC 2046: at most 70
                                    std::string("multipart/form-data; boundary=b; boundary=c"),  // which one?
                                    std::string("multipart/form-data; boundary=a{b"),            // not a bchar
                                    std::string("multipart/mixed; boundary=b"),
                                    std::string("multipart/form-data ; boundary=b ; boundary=b")}) {
        SCOPED_TRACE("Content-Type: " + type);
        EXPECT_REFUSAL(post_upload(u, m.body, type), 415, "", "multipart/form-data");
    }
    probe.stop();
    EXPECT_TRUE(probe.ok()) << probe.describe();
    expect_nothing_stored(server(), before);
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileMultipart, ABodyWithoutBoundaryLinesIs400) {
    auto u = register_user(server());
    const auto before = snapshot(server());
    const std::string type = "multipart/form-data; boundary=b";
    EXPECT_REFUSAL(post_upload(u, read_file(kCamera), type), 400, "bad_multipart", "no boundary");
    EXPECT_REFUSAL(post_upload(u, "", type), 400, "bad_multipart", "");
    EXPECT_REFUSAL(post_upload(u, "--c\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a\"\r\n\r\nx\r\n--c--\r\n", type), 400,
                   "bad_multipart", "no boundary");
    expect_nothing_stored(server(), before);
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileMultipart, ABodyThatEndsBeforeItsFinalBoundaryIs400AndStoresNothing) {
    auto u = register_user(server());
    const auto before = snapshot(server());
    HealthProbe probe(server());
    const std::string jpeg = read_file(kCamera);
    MultipartBody whole;
    whole.file(jpeg, "a.jpg", "photo", "image/jpeg").file(jpeg, "b.jpg", "photo", "image/jpeg");
    {
        SCOPED_TRACE("two complete files, no closing delimiter");
        EXPECT_REFUSAL(post_upload(u, whole), 400, "bad_multipart", "closing boundary");
    }
    {
        SCOPED_TRACE("cut in the middle of the second file");
        EXPECT_REFUSAL(post_upload(u, whole.body.substr(0, whole.body.size() - 50'000), whole.content_type()), 400, "bad_multipart",
                       "closing boundary");
    }
    {
        SCOPED_TRACE("cut inside a part's headers");
        MultipartBody m;
        m.file(jpeg, "a.jpg");
        m.body += "--" + m.boundary + "\r\nContent-Disposition: form-data; name=\"photo\"; filen";
        EXPECT_REFUSAL(post_upload(u, m), 400, "bad_multipart", "");
    }
    {
        SCOPED_TRACE("cut inside the closing delimiter");
        MultipartBody m;
        m.file(jpeg, "a.jpg");
        m.body += "--" + m.boundary.substr(0, 5);
        EXPECT_REFUSAL(post_upload(u, m), 400, "bad_multipart", "");
    }
    {
        SCOPED_TRACE("the HTML form route");
        auto form = u.http().post_raw("/upload", whole.body, whole.content_type());
        EXPECT_EQ(form.status, 400) << form.describe();
        EXPECT_TRUE(form.header("Content-Type").starts_with("text/html")) << form.describe();
        EXPECT_TRUE(contains(form.body, "closing boundary")) << form.body;
    }
    probe.stop();
    EXPECT_TRUE(probe.ok()) << probe.describe();
    expect_nothing_stored(server(), before);
}

TEST_F(HostileMultipart, BoundaryLookalikesInsideTheDataAreData) {
    auto u = register_user(server());
    MultipartBody m;
    const std::string& b = m.boundary;
    // A JPEG comment full of near-boundaries: any of them taken for a delimiter would cut
    // the JPEG and make it undecodable (415).
    const std::string comment = "--" + b + " \r\n--" + b + "x \r\n--" + b + "--x \r\n--" + b + " \tx \r\n--" + b + "\r \n" + b + "\r\n" + "\r\n--" +
                                b.substr(0, b.size() - 1) + "\r\n--" + b + "-\r\n";
    const std::string jpeg = with_jpeg_comment(read_file(kCamera), comment);
    m.file(jpeg, "lookalikes.jpg", "photo", "image/jpeg").close();
    auto res = post_upload(u, m);
    ASSERT_EQ(res.status, 201) << res.describe();
    auto photo = res.json().at("photos").at(0);
    EXPECT_EQ(photo.at("width").as_int64(), 640);
    EXPECT_EQ(photo.at("height").as_int64(), 480);
    // Split across every possible chunk boundary by the network, the same: send it slowly.
    RawConnection c(server().port());
    const std::string head = "POST /api/v1/photos HTTP/1.1\r\nHost: x\r\nCookie: ps_session=" + u.http().cookie("ps_session").value_or("") +
                             "\r\nX-CSRF-Token: " + u.csrf + "\r\nContent-Type: " + m.content_type() +
                             "\r\nContent-Length: " + std::to_string(m.body.size()) + "\r\nConnection: close\r\n\r\n";
    ASSERT_TRUE(c.send(head));
    // The start (with the comment) 7 bytes at a time, so that near-boundaries straddle reads.
    for (std::size_t i = 0; i < 2000; i += 7) {
        ASSERT_TRUE(c.send(std::string_view(m.body).substr(i, 7)));
        std::this_thread::sleep_for(1ms);
    }
    ASSERT_TRUE(c.send(std::string_view(m.body).substr(2002)));
    auto raw = c.read_response(15s);
    ASSERT_TRUE(raw.has_value()) << c.received().substr(0, 300);
    EXPECT_EQ(raw->status, 201) << raw->body;
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileMultipart, ABoundaryLineInsideAFileEndsItAndTheUploadIsRefused) {
    // A client that picked a boundary which occurs in its data: the file is cut there.
    auto u = register_user(server());
    const auto before = snapshot(server());
    const std::string jpeg = read_file(kCamera);
    {
        MultipartBody m;
        const std::string cut = jpeg.substr(0, 20'000) + "\r\n--" + m.boundary + "--\r\n" + jpeg.substr(20'000);
        m.file(cut, "closes-early.jpg", "photo", "image/jpeg").close();
        auto res = post_upload(u, m);
        EXPECT_REFUSAL(res, 415, "unsupported_image", "closes-early.jpg");
    }
    {
        MultipartBody m;
        const std::string cut = jpeg.substr(0, 20'000) + "\r\n--" + m.boundary + "\r\n" + jpeg.substr(20'000);
        m.file(cut, "splits.jpg", "photo", "image/jpeg").close();
        auto res = post_upload(u, m);
        EXPECT_REFUSAL(res, 400, "bad_multipart", "");  // what follows the stray delimiter is no header block
    }
    expect_nothing_stored(server(), before);
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileMultipart, ThousandsOfPartsAre413) {
    auto u = register_user(server());
    const auto before = snapshot(server());
    HealthProbe probe(server());
    {
        SCOPED_TRACE("5000 fields");
        MultipartBody m;
        for (int i = 0; i < 5000; ++i) m.field("f" + std::to_string(i), "v");
        m.file(read_file(kCamera), "a.jpg").close();
        EXPECT_REFUSAL(post_upload(u, m), 413, "", "parts");
    }
    {
        SCOPED_TRACE("1000 one-byte files");
        MultipartBody m;
        for (int i = 0; i < 1000; ++i) m.file("x", "f" + std::to_string(i) + ".jpg");
        m.close();
        EXPECT_REFUSAL(post_upload(u, m), 413, "too_many_files", "at most 20");
    }
    {
        SCOPED_TRACE("3000 empty file inputs (skipped) and one photo");
        MultipartBody m;
        for (int i = 0; i < 3000; ++i) m.file("", "");
        m.file(read_file(kCamera), "a.jpg").close();
        EXPECT_REFUSAL(post_upload(u, m), 413, "", "parts");
    }
    probe.stop();
    EXPECT_TRUE(probe.ok()) << probe.describe();
    expect_nothing_stored(server(), before);
    EXPECT_TRUE(eventually([&] { return list_files(server().data_dir() / "tmp").empty(); }, 5s)) << "spool files left";
}

TEST_F(HostileMultipart, HugePartHeadersAre400) {
    auto u = register_user(server());
    const auto before = snapshot(server());
    HealthProbe probe(server());
    const std::string jpeg = read_file(kCamera);
    {
        SCOPED_TRACE("a 100 KB file name");
        MultipartBody m;
        m.file(jpeg, std::string(100'000, 'n') + ".jpg").close();
        EXPECT_REFUSAL(post_upload(u, m), 400, "bad_multipart", "larger than");
    }
    {
        SCOPED_TRACE("5000 header lines in one part");
        std::string extra;
        for (int i = 0; i < 5000; ++i) extra += "X-Pad-" + std::to_string(i) + ": y\r\n";
        MultipartBody m;
        m.raw_part("form-data; name=\"photo\"; filename=\"a.jpg\"", jpeg, extra).close();
        EXPECT_REFUSAL(post_upload(u, m), 400, "bad_multipart", "larger than");
    }
    {
        SCOPED_TRACE("a header block that never ends");
        MultipartBody m;
        m.body = "--" + m.boundary + "\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\r\nX-Endless: " +
                 std::string(1'000'000, 'e');
        EXPECT_REFUSAL(post_upload(u, m), 400, "bad_multipart", "larger than");
    }
    {
        SCOPED_TRACE("a file name under the limit is shown cut short");
        MultipartBody m;
        m.file("not an image", std::string(10'000, 'n') + ".jpg").close();
        auto res = post_upload(u, m);
        EXPECT_REFUSAL(res, 415, "unsupported_image", "");
        EXPECT_LT(error_message(res).size(), 400u) << "the message does not carry the whole name";
    }
    probe.stop();
    EXPECT_TRUE(probe.ok()) << probe.describe();
    expect_nothing_stored(server(), before);
}

TEST_F(HostileMultipart, BareLfFramingIs400) {
    auto u = register_user(server());
    const auto before = snapshot(server());
    const std::string jpeg = read_file(kCamera);
    MultipartBody m;
    const std::string& b = m.boundary;
    {
        SCOPED_TRACE("everything LF");
        const std::string body = "--" + b + "\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\n\n" + jpeg + "\n--" + b + "--\n";
        EXPECT_REFUSAL(post_upload(u, body, m.content_type()), 400, "bad_multipart", "LF");
    }
    {
        SCOPED_TRACE("LF in the part headers only");
        const std::string body = "--" + b + "\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\nContent-Type: image/jpeg\r\n\r\n" +
                                 jpeg + "\r\n--" + b + "--\r\n";
        EXPECT_REFUSAL(post_upload(u, body, m.content_type()), 400, "bad_multipart", "LF");
    }
    {
        SCOPED_TRACE("LF after the delimiters only");
        const std::string body = "--" + b + "\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\r\n\r\n" + jpeg + "\r\n--" + b + "--\r\n";
        // By RFC 2046 "--b" + LF is no delimiter line: everything up to the closing one is
        // preamble. Refused either way: as malformed or as an upload without a photo.
        auto res = post_upload(u, body, m.content_type());
        EXPECT_TRUE(res.status == 400 || res.status == 422) << res.describe();
        EXPECT_JSON_ERROR(res, res.status);
    }
    expect_nothing_stored(server(), before);
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileMultipart, MalformedPartHeadersAre400) {
    auto u = register_user(server());
    const auto before = snapshot(server());
    const std::string jpeg = read_file(kCamera);
    struct Case {
        const char* what;
        std::string disposition, extra;
        std::string_view words;
    };
    const std::vector<Case> cases = {
        {"no Content-Disposition", "", "", "Content-Disposition"},
        {"two Content-Dispositions", "form-data; name=\"photo\"; filename=\"a.jpg\"",
         "Content-Disposition: form-data; name=\"photo\"; filename=\"b.jpg\"\r\n", "repeats"},
        {"base64 transfer encoding", "form-data; name=\"photo\"; filename=\"a.jpg\"", "Content-Transfer-Encoding: base64\r\n",
         "Content-Transfer-Encoding"},
        {"a control character", "form-data; name=\"photo\"; filename=\"a\x01.jpg\"", "", "control"},
        {"a header without a colon", "form-data; name=\"photo\"; filename=\"a.jpg\"", "Nonsense\r\n", ""},
        {"an unterminated quote", "form-data; name=\"photo; filename=\"a.jpg", "", ""},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        MultipartBody m;
        if (c.disposition.empty())
            m.body = "--" + m.boundary + "\r\nContent-Type: image/jpeg\r\n\r\n" + jpeg + "\r\n";
        else
            m.raw_part(c.disposition, jpeg, c.extra);
        m.close();
        EXPECT_REFUSAL(post_upload(u, m), 400, "bad_multipart", c.words);
    }
    expect_nothing_stored(server(), before);
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileMultipart, WrongOrLyingContentTypesAreRefusedByWhatTheBytesAre) {
    auto u = register_user(server());
    const auto before = snapshot(server());
    const std::string json = boost::json::serialize(boost::json::object{{"username", unique_username("ct")}, {"password", kPassword}});
    MultipartBody m;
    m.file(read_file(kCamera), "a.jpg", "photo", "image/jpeg").close();
    // The request says multipart, the body is JSON: no boundary line in it.
    EXPECT_REFUSAL(post_upload(u, json, "multipart/form-data; boundary=b"), 400, "bad_multipart", "");
    // The body is multipart, the request says something else.
    EXPECT_REFUSAL(post_upload(u, m.body, "application/json"), 415, "", "multipart/form-data");
    EXPECT_REFUSAL(post_upload(u, m.body, "application/x-www-form-urlencoded"), 415, "", "multipart/form-data");
    EXPECT_REFUSAL(post_upload(u, m.body, "image/jpeg"), 415, "", "multipart/form-data");
    EXPECT_REFUSAL(post_upload(u, m.body, ""), 415, "", "multipart/form-data");
    expect_nothing_stored(server(), before);
    MultipartBody small;
    small.file(make_png(8, 8), "a.png", "photo", "image/png").close();
    // The JSON API says JSON but gets a form or multipart: not JSON.
    HttpClient c(server().base_url());
    EXPECT_REFUSAL(c.post_raw("/api/v1/users", "username=abc&password=" + std::string(kPassword), "application/json"), 400, "bad_json", "");
    EXPECT_REFUSAL(c.post_raw("/api/v1/users", small.body, "application/json"), 400, "bad_json", "");
    EXPECT_REFUSAL(c.post_raw("/api/v1/users", json, small.content_type()), 415, "", "application/json");
    // A form route given multipart or JSON.
    auto page = c.get("/");
    auto form = c.post_raw("/login", small.body, small.content_type());
    EXPECT_EQ(form.status, 415) << form.describe();
    EXPECT_TRUE(form.header("Content-Type").starts_with("text/html"));
    EXPECT_TRUE(contains(form.body, "x-www-form-urlencoded")) << form.body;
    // A real JPEG whose part says text/html is still only a JPEG, and is served as one.
    MultipartBody html_typed;
    html_typed.file(read_file(kCamera), "page.html", "photo", "text/html").close();
    auto ok = post_upload(u, html_typed);
    ASSERT_EQ(ok.status, 201) << ok.describe();
    auto media = c.get(std::string(ok.json().at("photos").at(0).at("url").as_string()));
    EXPECT_EQ(media.header("Content-Type"), "image/jpeg");
    EXPECT_EQ(media.header("X-Content-Type-Options"), "nosniff");
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileMultipart, ATypeThatOnlyStartsLikeJsonIsNotJson) {
    // application/jsonp, application/json-patch+json, application/jsonfoo: not
    // application/json (parameters such as "; charset=utf-8" are fine).
    HttpClient c(server().base_url());
    const auto name = unique_username("ct");
    const std::string json = boost::json::serialize(boost::json::object{{"username", name}, {"password", kPassword}});
    EXPECT_EQ(c.post_raw("/api/v1/users", json, "application/json; charset=utf-8").status, 201);
    for (const char* type : {"application/jsonp", "application/json-patch+json", "application/jsonfoo"}) {
        SCOPED_TRACE(type);
        EXPECT_REFUSAL(c.post_raw("/api/v1/session", json, type), 415, "", "application/json");
        EXPECT_REFUSAL(c.post_raw("/api/v1/users", boost::json::serialize(boost::json::object{{"username", unique_username("ct")},
                                                                                              {"password", kPassword}}),
                                  type),
                       415, "", "application/json");
    }
    EXPECT_STILL_SERVING(server());
}
