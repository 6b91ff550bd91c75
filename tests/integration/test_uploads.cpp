// POST /api/v1/photos and what is served afterwards: validation by decoding, the error
// statuses, nothing left behind by a refused upload, variants without metadata and
// auto-rotated, immutable caching of media.
#include "support/app.hpp"
#include "support/files.hpp"
#include "support/http_client.hpp"
#include "support/images.hpp"
#include "support/photoshare_server.hpp"
#include "support/process.hpp"

using namespace pstest;

namespace {

const fs::path kCamera = testdata("images/edge/exif-samples/DSCN0010.jpg");  // 640x480, EXIF with GPS
const fs::path kTruncated = testdata("images/edge/pillow/truncated_jpeg.jpg");
const fs::path kCorruptPng = testdata("images/pngsuite/xcrn0g04.png");

// Everything in the data directory but the database itself: media, spool, temporaries.
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

// Nothing half-written: no new file anywhere under the data directory, no new row.
void expect_nothing_left(const ServerProcess& s, const Snapshot& before) {
    // Spool files go when the request ends; the response may come a moment earlier.
    EXPECT_TRUE(eventually([&] { return state_files(s) == before.files; }, 5s)) << [&] {
        std::string msg = "files before:";
        for (auto& f : before.files) msg += " " + f;
        msg += "\nfiles after:";
        for (auto& f : state_files(s)) msg += " " + f;
        return msg;
    }();
    EXPECT_EQ(feed_ids(s), before.feed);
}

// JPEG markers before the scan (APPn, DQT, SOF...).
std::vector<unsigned> jpeg_markers(std::string_view d) {
    std::vector<unsigned> out;
    std::size_t pos = 2;
    while (pos + 4 <= d.size() && static_cast<unsigned char>(d[pos]) == 0xFF) {
        const unsigned marker = static_cast<unsigned char>(d[pos + 1]);
        out.push_back(marker);
        if (marker == 0xDA) break;
        pos += 2 + ((static_cast<unsigned char>(d[pos + 2]) << 8) | static_cast<unsigned char>(d[pos + 3]));
    }
    return out;
}

struct Served {
    std::string id, url, thumbnail_url;
    long width = 0, height = 0;
};

std::vector<Served> photos_of(const Response& res) {
    std::vector<Served> out;
    auto v = res.json();
    if (!v.is_object() || !v.as_object().contains("photos")) return out;
    for (const auto& p : v.at("photos").as_array()) {
        Served s;
        s.id = p.at("id").as_string();
        s.url = p.at("url").as_string();
        s.thumbnail_url = p.at("thumbnail_url").as_string();
        s.width = static_cast<long>(p.at("width").as_int64());
        s.height = static_cast<long>(p.at("height").as_int64());
        out.push_back(s);
    }
    return out;
}

// A served variant: 200, a JPEG that decodes to its header, without metadata.
std::string fetch_variant(const ServerProcess& s, const std::string& url) {
    HttpClient c(s.base_url());
    auto res = c.get(url);
    EXPECT_EQ(res.status, 200) << url << "\n" << res.describe();
    EXPECT_EQ(res.header("Content-Type"), "image/jpeg") << res.describe();
    EXPECT_TRUE(looks_like_jpeg(res.body)) << url << " is not a complete JPEG";
    return res.body;
}

}  // namespace

// Without image jobs (kTestDefaults): they are tested on servers of their own below.
PSTEST_SHARED_SERVER_FIXTURE(Uploads, .name = "itest-uploads");

TEST_F(Uploads, OnePhotoIs201WithItsVariants) {
    auto u = register_user(server());
    auto res = upload_photos(u, {Part::file(kCamera, "holiday.jpg", "image/jpeg")});
    ASSERT_EQ(res.status, 201) << res.describe();
    EXPECT_TRUE(res.header("Content-Type").starts_with("application/json"));
    auto photos = photos_of(res);
    ASSERT_EQ(photos.size(), 1u) << res.body;
    EXPECT_EQ(photos[0].width, 640);
    EXPECT_EQ(photos[0].height, 480);
    EXPECT_EQ(res.json().at("photos").at(0).at("uploaded_by").as_string(), u.username);
    EXPECT_EQ(feed_ids(server()).at(0), photos[0].id);

    auto display = fetch_variant(server(), photos[0].url);
    EXPECT_EQ(jpeg_size(display), (std::pair{640, 480})) << "no upscaling, no cropping";
    auto thumb = fetch_variant(server(), photos[0].thumbnail_url);
    EXPECT_EQ(jpeg_size(thumb), (std::pair{480, 360})) << "thumbnail of about 480 px";
}

// Each photo is stored at several widths, and pages let the browser pick (srcset): the grid
// up to 640 px, the photo page all of them. A delete removes every one.
TEST_F(Uploads, APhotoIsStoredAtSeveralWidthsAndPagesOfferThemInSrcset) {
    auto u = register_user(server());
    const auto before = state_files(server());
    auto res = upload_photos(u, {Part::bytes(make_png(2000, 1500, true), "wide.png", "image/png")});
    ASSERT_EQ(res.status, 201) << res.describe();
    const auto photo = res.json().at("photos").at(0);
    const std::string id(photo.at("id").as_string());
    std::vector<long> widths;
    std::string grid_srcset, page_srcset;
    for (const auto& v : photo.at("variants").as_array()) {
        const long width = static_cast<long>(v.at("width").as_int64());
        const std::string url(v.at("url").as_string());
        widths.push_back(width);
        const auto jpeg = fetch_variant(server(), url);
        const long height = (width * 3 + 2) / 4;  // the 4:3 shape, rounded
        EXPECT_EQ(jpeg_size(jpeg), (std::pair<int, int>(static_cast<int>(width), static_cast<int>(height)))) << url;
        const std::string entry = (page_srcset.empty() ? "" : ", ") + url + " " + std::to_string(width) + "w";
        page_srcset += entry;
        if (width <= 640) grid_srcset += entry;
    }
    // images.sizes (320, 640, 1024, 1600), the thumbnail (480) and the display variant (2000:
    // never upscaled to 2048).
    EXPECT_EQ(widths, (std::vector<long>{320, 480, 640, 1024, 1600, 2000}));
    EXPECT_EQ(photo.at("url").as_string(), "/media/" + id + "_d.jpg");
    EXPECT_EQ(photo.at("thumbnail_url").as_string(), "/media/" + id + "_t.jpg");

    HttpClient anon(server().base_url());
    const auto front = anon.get("/");
    EXPECT_NE(front.body.find("srcset=\"" + grid_srcset + "\" sizes=\"(max-width: 495px) calc(100vw - 2.5rem), 340px\""),
              std::string::npos)
        << grid_srcset << "\n" << front.body;
    const auto page = anon.get("/photos/" + id);
    EXPECT_NE(page.body.find("srcset=\"" + page_srcset + "\" sizes=\"min(calc(100vw - 2.5rem), 1160px, 106.7vh, 2000px)\""),
              std::string::npos)
        << page_srcset << "\n" << page.body;

    EXPECT_EQ(u.http().del("/api/v1/photos/" + id, u.csrf_header()).status, 204);
    EXPECT_EQ(state_files(server()), before) << "every width of the photo is removed";
}

// The JSON of a photo once its image job has made the further formats (or after 60 s).
boost::json::value photo_with_formats(const ServerProcess& s, const std::string& id) {
    HttpClient c(s.base_url());
    boost::json::value photo;
    eventually([&] {
        photo = c.get("/api/v1/photos/" + id).json();
        return photo.is_object() && photo.at("formats").as_object().size() == 2;
    }, 60s);
    return photo;
}

// AVIF and WebP come later, from an image job: the upload answers with the JPEGs, and soon
// the API and the pages offer every width in both formats (a <picture> with a <source> per
// format, best first). A delete removes those files too.
TEST(UploadJobs, AvifAndWebpOfEveryWidthAreMadeInTheBackgroundAndOffered) {
    ServerProcess s({.args = {"--set", "images.run_jobs=true"}, .name = "itest-jobs"});
    auto server = [&]() -> const ServerProcess& { return s; };
    auto u = register_user(server());
    const auto before = state_files(server());
    auto res = upload_photos(u, {Part::bytes(make_png(1200, 900, true), "wide.png", "image/png")});
    ASSERT_EQ(res.status, 201) << res.describe();
    const std::string id(res.json().at("photos").at(0).at("id").as_string());
    const auto photo = photo_with_formats(server(), id);
    ASSERT_EQ(photo.at("formats").as_object().size(), 2U) << photo;
    HttpClient c(server().base_url());
    std::string grid_sources;
    for (const std::string format : {"avif", "webp"}) {
        SCOPED_TRACE(format);
        std::vector<long> widths;
        std::string srcset;
        for (const auto& v : photo.at("formats").at(format).as_array()) {
            const std::string url(v.at("url").as_string());
            widths.push_back(static_cast<long>(v.at("width").as_int64()));
            srcset += (srcset.empty() ? "" : ", ") + url + " " + std::to_string(widths.back()) + "w";
            const auto file = c.get(url);
            EXPECT_EQ(file.status, 200) << url;
            EXPECT_EQ(file.header("Content-Type"), "image/" + format) << url;
            if (format == "avif") EXPECT_EQ(file.body.substr(4, 8), "ftypavif") << url;
            else EXPECT_TRUE(file.body.starts_with("RIFF") && file.body.substr(8, 4) == "WEBP") << url;
        }
        EXPECT_EQ(widths, (std::vector<long>{320, 480, 640, 1024, 1200}));
        const auto page = c.get("/photos/" + id);
        EXPECT_TRUE(contains(page.body, "<source type=\"image/" + format + "\" srcset=\"" + srcset + "\"")) << page.body;
    }
    const auto front = c.get("/");
    const auto avif = front.body.find("<source type=\"image/avif\" srcset=\"/media/" + id + "_320.avif 320w");
    const auto webp = front.body.find("<source type=\"image/webp\" srcset=\"/media/" + id + "_320.webp 320w");
    EXPECT_NE(avif, std::string::npos) << front.body;
    EXPECT_LT(avif, webp) << "AVIF is offered first";

    // A photo smaller than the thumbnail size: its thumbnail is its display variant, and the
    // job writes both names in each format (fsck expects them).
    auto small = upload_photos(u, {Part::file(testdata("images/pngsuite/basn2c08.png"))});
    ASSERT_EQ(small.status, 201) << small.describe();
    const std::string small_id(small.json().at("photos").at(0).at("id").as_string());
    EXPECT_EQ(photo_with_formats(server(), small_id).at("formats").at("avif").as_array().size(), 1U);
    const auto fsck = run_photoshare({"fsck", "--data-dir", server().data_dir().string(), "--grace", "0"});
    EXPECT_EQ(fsck.exit_code(), 0) << fsck.output;
    EXPECT_TRUE(contains(fsck.output, "image jobs: 0 waiting, 0 given up")) << fsck.output;

    EXPECT_EQ(u.http().del("/api/v1/photos/" + small_id, u.csrf_header()).status, 204);
    EXPECT_EQ(u.http().del("/api/v1/photos/" + id, u.csrf_header()).status, 204);
    EXPECT_EQ(state_files(server()), before) << "every file of every format is removed";
}

// A job is a row in the database, queued with the photo: a server that does not run jobs
// (or dies) leaves it, and another server on the same database makes the formats.
TEST(UploadJobs, AQueuedJobSurvivesARestartAndRunsOnAnotherServer) {
    TempDir dir("ps-jobs");
    std::string id;
    {
        ServerProcess a({.args = {"--set", "images.run_jobs=false"}, .name = "no-jobs", .data_dir = dir.path()});
        auto u = register_user(a);
        auto res = upload_photos(u, {Part::file(kCamera)});
        ASSERT_EQ(res.status, 201) << res.describe();
        id = std::string(res.json().at("photos").at(0).at("id").as_string());
        std::this_thread::sleep_for(3s);  // more than images.job_interval
        HttpClient c(a.base_url());
        EXPECT_TRUE(c.get("/api/v1/photos/" + id).json().at("formats").as_object().empty());
        ASSERT_TRUE(a.stop().has_value());
    }
    ServerProcess b({.args = {"--set", "images.run_jobs=true"}, .name = "jobs", .data_dir = dir.path()});
    const auto photo = photo_with_formats(b, id);
    EXPECT_EQ(photo.at("formats").as_object().size(), 2U) << photo << b.log();
    EXPECT_TRUE(contains(b.log(), "photo " + id + ": avif webp made")) << b.log();
}

// Phone photos: HEIC (iPhones) and AVIF, made from a camera JPEG with the vips command
// (libvips-tools), as a phone would write them, with the camera's EXIF inside.
TEST_F(Uploads, PhonePhotosInHeicAndAvifAre201WithJpegVariants) {
    TempDir dir("ps-heic");
    auto u = register_user(server());
    for (const std::string& kind : std::vector<std::string>{"heic", "avif"}) {
        SCOPED_TRACE(kind);
        const auto file = dir.path() / ("IMG_0001." + kind);
        const std::string options = kind == "heic" ? "[compression=hevc,Q=60]" : "[compression=av1,Q=60]";
        auto made = run({"vips", "copy", kCamera.string(), file.string() + options}, 120s);
        ASSERT_TRUE(made.ok()) << made.output;
        auto res = upload_photos(u, {Part::file(file, "IMG_0001." + kind, "image/" + kind)});
        ASSERT_EQ(res.status, 201) << res.describe();
        const auto photos = photos_of(res);
        ASSERT_EQ(photos.size(), 1U);
        EXPECT_EQ(photos[0].width, 640);  // DSCN0010.jpg is 640x480
        EXPECT_EQ(photos[0].height, 480);
        const auto display = fetch_variant(server(), photos[0].url);
        for (unsigned m : jpeg_markers(display)) EXPECT_FALSE((m >= 0xE0 && m <= 0xEF) || m == 0xFE) << "metadata marker " << m;
        EXPECT_TRUE(res.json().at("notes").as_array().empty());
    }
}

// Animations: the first frame is what the site shows, and the uploader is told so.
TEST_F(Uploads, OfAnAnimationOnlyTheFirstFrameIsKeptAndTheUploaderIsTold) {
    auto u = register_user(server());
    const auto webp = testdata("images/edge/image-rs/tests/images/webp/extended_images/anim.webp");
    const auto gif = testdata("images/edge/pillow/dispose_prev.gif");
    auto res = upload_photos(u, {Part::file(webp, "moving.webp"), Part::file(kCamera), Part::file(gif, "loop.gif")});
    ASSERT_EQ(res.status, 201) << res.describe();
    EXPECT_EQ(photos_of(res).size(), 3U);
    const auto notes = res.json().at("notes").as_array();
    ASSERT_EQ(notes.size(), 2U) << res.body;
    EXPECT_EQ(notes[0].as_string(), "'moving.webp' is animated (6 frames): only its first frame is kept.");
    EXPECT_EQ(notes[1].as_string(), "'loop.gif' is animated (5 frames): only its first frame is kept.");
}

TEST_F(Uploads, PhotosOfSeveralMegabytesAreAccepted) {
    // Well under the 25 MiB default of limits.max_upload_bytes: a phone photo is this big.
    auto u = register_user(server());
    const auto png = make_noise_png(1200, 900);
    ASSERT_GT(png.size(), 3u << 20);
    auto res = upload_photos(u, {Part::bytes(png, "noise.png", "image/png")});
    ASSERT_EQ(res.status, 201) << res.describe();
    auto photos = photos_of(res);
    ASSERT_EQ(photos.size(), 1u);
    EXPECT_EQ(photos[0].width, 1200);
    EXPECT_EQ(photos[0].height, 900);
    // Also through the HTML form, and several medium files in one request (about 6 MB).
    auto form = u.http().upload("/upload", {Part::field("csrf_token", u.csrf), Part::bytes(make_noise_png(1000, 1000, 2), "a.png"),
                                            Part::bytes(make_noise_png(1000, 1000, 3), "b.png")});
    EXPECT_EQ(form.status, 303) << form.describe();
}

TEST_F(Uploads, SeveralPhotosInOneRequest) {
    auto u = register_user(server());
    const auto before = feed_ids(server());
    auto res = upload_photos(u, {
                                    Part::file(kCamera, {}, "image/jpeg"),
                                    Part::file(testdata("images/pngsuite/basn2c08.png")),
                                    Part::file(testdata("images/edge/pillow/dispose_prev.gif")),
                                    Part::file(testdata("images/edge/pillow/hopper_orientation_6.webp")),
                                });
    ASSERT_EQ(res.status, 201) << res.describe();
    auto photos = photos_of(res);
    ASSERT_EQ(photos.size(), 4u) << res.body;
    const auto after = feed_ids(server());
    EXPECT_EQ(after.size(), before.size() + 4);
    for (const auto& p : photos) {
        EXPECT_NE(std::find(after.begin(), after.end(), p.id), after.end()) << p.id;
        fetch_variant(server(), p.url);
        fetch_variant(server(), p.thumbnail_url);
    }
    EXPECT_EQ(photos[1].width, 32);
    EXPECT_EQ(photos[2].width, 100);
}

TEST_F(Uploads, NotLoggedInIs401) {
    const auto before = snapshot(server());
    HttpClient anon(server().base_url());
    EXPECT_JSON_ERROR(anon.upload("/api/v1/photos", {Part::file(kCamera)}), 401, "not_logged_in");
    anon.get("/");  // a visitor token is not a session
    EXPECT_JSON_ERROR(anon.upload("/api/v1/photos", {Part::file(kCamera)}, {{"X-CSRF-Token", anon.cookie("ps_csrf").value_or("")}}),
                      401, "not_logged_in");
    expect_nothing_left(server(), before);
}

TEST_F(Uploads, MissingOrWrongCsrfTokenIs403) {
    auto u = register_user(server());
    auto other = register_user(server());
    const auto before = snapshot(server());
    EXPECT_JSON_ERROR(u.http().upload("/api/v1/photos", {Part::file(kCamera)}), 403, "bad_csrf_token");
    EXPECT_JSON_ERROR(u.http().upload("/api/v1/photos", {Part::file(kCamera)}, {{"X-CSRF-Token", "forged-token-forged-token"}}), 403,
                      "bad_csrf_token");
    EXPECT_JSON_ERROR(u.http().upload("/api/v1/photos", {Part::file(kCamera)}, other.csrf_header()), 403, "bad_csrf_token");
    // The token as a form field does not replace the header on the API.
    EXPECT_JSON_ERROR(u.http().upload("/api/v1/photos", {Part::field("csrf_token", "forged"), Part::file(kCamera)}), 403);
    expect_nothing_left(server(), before);
}

TEST_F(Uploads, WhatIsNotAnImageIs415) {
    auto u = register_user(server());
    const auto before = snapshot(server());
    struct Case {
        const char* what;
        Part part;
    };
    const std::vector<Case> cases = {
        {"a text file", Part::bytes("just some words, not a photo\n", "notes.txt", "text/plain")},
        {"HTML named .png", Part::bytes("<!doctype html><html><script>alert(1)</script></html>", "photo.png", "image/png")},
        {"an empty file", Part::bytes("", "empty.jpg", "image/jpeg")},
        {"a truncated JPEG", Part::file(kTruncated, {}, "image/jpeg")},
        {"a corrupt PNG (xcrn0g04)", Part::file(kCorruptPng, {}, "image/png")},
        {"a PNG signature and nothing else", Part::bytes("\x89PNG\r\n\x1a\n", "sig.png", "image/png")},
        {"SVG", Part::bytes("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>", "x.svg", "image/svg+xml")},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        EXPECT_JSON_ERROR(upload_photos(u, {c.part}), 415);
    }
    expect_nothing_left(server(), before);
}

TEST_F(Uploads, TheRightContentTypeDoesNotMatterOnlyTheBytes) {
    auto u = register_user(server());
    // A real JPEG with a misleading name and type is still a JPEG.
    auto res = upload_photos(u, {Part::file(kCamera, "document.txt", "text/plain")});
    EXPECT_EQ(res.status, 201) << res.describe();
}

TEST_F(Uploads, BodyThatIsNotMultipartIs415) {
    auto u = register_user(server());
    const auto before = snapshot(server());
    EXPECT_JSON_ERROR(u.http().post_raw("/api/v1/photos", read_file(kCamera), "image/jpeg", u.csrf_header()), 415);
    EXPECT_JSON_ERROR(u.http().post_raw("/api/v1/photos", "{}", "application/json", u.csrf_header()), 415);
    expect_nothing_left(server(), before);
}

TEST_F(Uploads, NoPhotoFieldIs422) {
    auto u = register_user(server());
    const auto before = snapshot(server());
    EXPECT_JSON_ERROR(u.http().upload("/api/v1/photos", {Part::field("comment", "hello")}, u.csrf_header()), 422);
    // A file under another field name is not a photo either.
    EXPECT_JSON_ERROR(u.http().upload("/api/v1/photos", {[] {
                                                              auto p = Part::file(kCamera);
                                                              p.name = "picture";
                                                              return p;
                                                          }()},
                                      u.csrf_header()),
                      422);
    expect_nothing_left(server(), before);
}

TEST_F(Uploads, OneBadFileRefusesTheWholeRequestAndLeavesNothing) {
    auto u = register_user(server());
    const auto before = snapshot(server());
    EXPECT_JSON_ERROR(upload_photos(u, {Part::file(kCamera), Part::file(kTruncated)}), 415);
    expect_nothing_left(server(), before);
    EXPECT_JSON_ERROR(upload_photos(u, {Part::file(kCamera), Part::file(kCamera), Part::file(kCorruptPng)}), 415);
    expect_nothing_left(server(), before);
}

TEST_F(Uploads, PixelBombIs422) {
    auto u = register_user(server());
    const auto before = snapshot(server());
    // 8000x8000 = 64 MP, over the default 50 MP; about 100 KB of PNG.
    const auto bomb = make_png(8000, 8000);
    ASSERT_LT(bomb.size(), 2u << 20);
    EXPECT_JSON_ERROR(upload_photos(u, {Part::bytes(bomb, "bomb.png", "image/png")}), 422, "image_too_large");
    expect_nothing_left(server(), before);
    // Pillow's GIF bomb declares a huge canvas; its header is truncated, so it may be refused
    // as unreadable (415) before its size is believed (422). Either way: refused, nothing kept.
    auto gif = upload_photos(u, {Part::file(testdata("images/edge/pillow/decompression_bomb.gif"))});
    EXPECT_TRUE(gif.status == 415 || gif.status == 422) << gif.describe();
    EXPECT_JSON_ERROR(gif, gif.status);
    expect_nothing_left(server(), before);
}

TEST(UploadLimits, PixelLimitIsConfigurable) {
    ServerProcess s({.args = {"--set", "limits.max_pixels=10000"}});
    auto u = register_user(s);
    const auto before = snapshot(s);
    EXPECT_JSON_ERROR(upload_photos(u, {Part::bytes(make_png(101, 100), "big.png", "image/png")}), 422, "image_too_large");
    expect_nothing_left(s, before);
    EXPECT_EQ(upload_photos(u, {Part::bytes(make_png(100, 100), "ok.png", "image/png")}).status, 201);
}

TEST(UploadLimits, TooManyFilesInOneRequestIsRefused) {
    ServerProcess s({.args = {"--set", "limits.max_files_per_upload=2"}});
    auto u = register_user(s);
    const auto before = snapshot(s);
    auto res = upload_photos(u, {Part::bytes(make_png(8, 8, false, 1), "a.png"), Part::bytes(make_png(8, 8, false, 2), "b.png"),
                                 Part::bytes(make_png(8, 8, false, 3), "c.png")});
    EXPECT_TRUE(res.status == 413 || res.status == 422) << res.describe();
    EXPECT_JSON_ERROR(res, res.status);
    expect_nothing_left(s, before);
    EXPECT_EQ(upload_photos(u, {Part::bytes(make_png(8, 8, false, 1), "a.png"), Part::bytes(make_png(8, 8, false, 2), "b.png")}).status,
              201);
}

TEST_F(Uploads, TheUsersFileNameIsNeverPartOfAPath) {
    auto u = register_user(server());
    auto res = upload_photos(u, {Part::file(kCamera, "../../../../escaped-upload.jpg"),
                                 Part::file(kCamera, "..\\..\\evil-upload.jpg"), Part::file(kCamera, "/tmp/absolute-upload.jpg")});
    ASSERT_EQ(res.status, 201) << res.describe();
    for (const auto& f : list_files(server().data_dir().parent_path()))
        EXPECT_FALSE(contains(f, "escaped") || contains(f, "evil") || contains(f, "absolute")) << f;
    EXPECT_FALSE(fs::exists("/tmp/absolute-upload.jpg"));
    for (const auto& p : photos_of(res)) {
        EXPECT_FALSE(contains(p.url, "upload")) << p.url;
        EXPECT_GE(p.id.size(), 16u) << "ids are not guessable";
    }
    auto ids = photos_of(res);
    ASSERT_EQ(ids.size(), 3u);
    EXPECT_NE(ids[0].id, ids[1].id);
}

TEST_F(Uploads, ServedVariantsCarryNoMetadata) {
    auto u = register_user(server());
    ASSERT_TRUE(contains(read_file(kCamera), "Exif"));
    auto res = upload_photos(u, {Part::file(kCamera), Part::file(testdata("images/edge/pillow/exif_gps.jpg"))});
    ASSERT_EQ(res.status, 201) << res.describe();
    for (const auto& p : photos_of(res)) {
        for (const auto& url : {p.url, p.thumbnail_url}) {
            SCOPED_TRACE(url);
            auto data = fetch_variant(server(), url);
            EXPECT_FALSE(contains(data, "Exif"));
            EXPECT_FALSE(contains(data, "GPS"));
            EXPECT_FALSE(contains(data, "NIKON")) << "camera make from the EXIF of DSCN0010";
            for (unsigned m : jpeg_markers(data)) EXPECT_NE(m, 0xE1u) << "an APP1 (EXIF/XMP) segment is left";
        }
    }
}

TEST_F(Uploads, ExifOrientationIsApplied) {
    auto u = register_user(server());
    // DSCN0010 (640x480, landscape) told to be rotated 90° clockwise: shown 480x640.
    auto rotated = with_exif_orientation(read_file(kCamera), 6);
    ASSERT_TRUE(rotated.has_value()) << "DSCN0010.jpg has an Orientation tag";
    auto res = upload_photos(u, {Part::bytes(*rotated, "portrait.jpg", "image/jpeg")});
    ASSERT_EQ(res.status, 201) << res.describe();
    auto p = photos_of(res).at(0);
    EXPECT_EQ(p.width, 480);
    EXPECT_EQ(p.height, 640);
    auto display = fetch_variant(server(), p.url);
    EXPECT_EQ(jpeg_size(display), (std::pair{480, 640})) << "pixels rotated, not just a tag";
    EXPECT_FALSE(contains(display, "Exif")) << "no orientation tag left to rotate it twice";
    auto thumb = fetch_variant(server(), p.thumbnail_url);
    EXPECT_EQ(jpeg_size(thumb), (std::pair{360, 480}));

    // Pillow's hopper with orientation 6 (square, so only the decode can be checked).
    auto hopper = upload_photos(u, {Part::file(testdata("images/edge/pillow/hopper_orientation_6.jpg"))});
    ASSERT_EQ(hopper.status, 201) << hopper.describe();
    auto h = photos_of(hopper).at(0);
    EXPECT_EQ(h.width, 128);
    EXPECT_EQ(h.height, 128);
    EXPECT_EQ(jpeg_size(fetch_variant(server(), h.url)), (std::pair{128, 128}));
}

TEST_F(Uploads, DisplayVariantIsAtMost2048AndThumbnailAbout480) {
    auto u = register_user(server());
    auto res = upload_photos(u, {Part::bytes(make_png(3000, 1000, true), "wide.png", "image/png")});
    ASSERT_EQ(res.status, 201) << res.describe();
    auto p = photos_of(res).at(0);
    EXPECT_EQ(p.width, 2048);
    EXPECT_NEAR(p.height, 683, 1);
    auto display = jpeg_size(fetch_variant(server(), p.url));
    ASSERT_TRUE(display);
    EXPECT_EQ(display->first, p.width);
    EXPECT_EQ(display->second, p.height);
    auto thumb = jpeg_size(fetch_variant(server(), p.thumbnail_url));
    ASSERT_TRUE(thumb);
    EXPECT_EQ(thumb->first, 480);
    EXPECT_NEAR(thumb->second, 160, 1);
}

TEST_F(Uploads, MediaIsImmutablyCachedWithValidators) {
    auto u = register_user(server());
    auto res = upload_photos(u, {Part::file(kCamera)});
    ASSERT_EQ(res.status, 201);
    auto p = photos_of(res).at(0);
    HttpClient c(server().base_url());
    for (const auto& url : {p.url, p.thumbnail_url}) {
        SCOPED_TRACE(url);
        auto first = c.get(url);
        ASSERT_EQ(first.status, 200);
        // storage.cache_max_age's default: a day, the bound on a deleted photo in caches.
        EXPECT_EQ(first.header("Cache-Control"), "public, max-age=86400, immutable");
        const auto etag = first.header("ETag");
        ASSERT_FALSE(etag.empty()) << first.describe();
        auto again = c.get(url, {{"If-None-Match", etag}});
        EXPECT_EQ(again.status, 304) << again.describe();
        EXPECT_TRUE(again.body.empty());
        EXPECT_EQ(again.header("ETag"), etag);
        auto other = c.get(url, {{"If-None-Match", "\"something-else\""}});
        EXPECT_EQ(other.status, 200);
        EXPECT_EQ(other.body, first.body);
    }
    HttpClient anon(server().base_url());
    EXPECT_EQ(anon.get("/media/NoSuchKey_d.jpg").status, 404);
    EXPECT_EQ(anon.get("/media/" + p.id + "_x.jpg").status, 404);
}

// How long caches keep a photo is a setting, because it is how long a deleted photo can
// still be seen by whoever holds its address; the store itself forgets it at once.
TEST(MediaCaching, ADeletedPhotoIsGoneFromTheServerAtOnceAndFromCachesWithinTheirMaxAge) {
    ServerProcess s({.args = {"--set", "storage.cache_max_age=90s"}, .name = "itest-max-age"});
    auto u = register_user(s);
    auto res = upload_photos(u, {Part::file(kCamera)});
    ASSERT_EQ(res.status, 201) << res.describe();
    const auto p = photos_of(res).at(0);
    HttpClient c(s.base_url());
    std::vector<std::string> etags;
    for (const auto& url : {p.url, p.thumbnail_url}) {
        auto img = c.get(url);
        ASSERT_EQ(img.status, 200) << img.describe();
        EXPECT_EQ(img.header("Cache-Control"), "public, max-age=90, immutable") << url;
        etags.push_back(img.header("ETag"));
        auto revalidated = c.get(url, {{"If-None-Match", etags.back()}});
        EXPECT_EQ(revalidated.status, 304);
        EXPECT_EQ(revalidated.header("Cache-Control"), "public, max-age=90, immutable") << url;
    }
    ASSERT_EQ(u.http().del("/api/v1/photos/" + p.id, u.csrf_header()).status, 204);
    // A cache that revalidates after max-age is told the photo is gone, not "unchanged".
    for (const auto& url : {p.url, p.thumbnail_url}) {
        EXPECT_EQ(c.get(url).status, 404) << url;
    }
    EXPECT_EQ(c.get(p.url, {{"If-None-Match", etags.front()}}).status, 404) << "a revalidation kept a deleted photo alive";
}

// A video-style player or a resumed download asks for part of a photo: 206 with exactly
// those bytes, 416 past the end, and the whole photo when If-Range names another version.
TEST_F(Uploads, MediaAnswersRangeRequests) {
    auto u = register_user(server());
    auto res = upload_photos(u, {Part::file(kCamera)});
    ASSERT_EQ(res.status, 201);
    auto p = photos_of(res).at(0);
    HttpClient c(server().base_url());
    auto whole = c.get(p.url);
    ASSERT_EQ(whole.status, 200);
    EXPECT_EQ(whole.header("Accept-Ranges"), "bytes");
    const auto size = whole.body.size();
    ASSERT_GT(size, 1000U);
    const auto etag = whole.header("ETag");

    auto first = c.get(p.url, {{"Range", "bytes=0-99"}});
    EXPECT_EQ(first.status, 206) << first.describe();
    EXPECT_EQ(first.body, whole.body.substr(0, 100));
    EXPECT_EQ(first.header("Content-Range"), "bytes 0-99/" + std::to_string(size));
    EXPECT_EQ(first.header("Content-Length"), "100");
    auto tail = c.get(p.url, {{"Range", "bytes=-10"}});
    EXPECT_EQ(tail.status, 206);
    EXPECT_EQ(tail.body, whole.body.substr(size - 10));
    auto rest = c.get(p.url, {{"Range", "bytes=1000-"}, {"If-Range", etag}});
    EXPECT_EQ(rest.status, 206);
    EXPECT_EQ(rest.body, whole.body.substr(1000));

    auto beyond = c.get(p.url, {{"Range", "bytes=" + std::to_string(size) + "-"}});
    EXPECT_EQ(beyond.status, 416) << beyond.describe();
    EXPECT_EQ(beyond.header("Content-Range"), "bytes */" + std::to_string(size));
    auto changed = c.get(p.url, {{"Range", "bytes=0-99"}, {"If-Range", "\"another-version\""}});
    EXPECT_EQ(changed.status, 200);
    EXPECT_EQ(changed.body, whole.body);
    auto several = c.get(p.url, {{"Range", "bytes=0-1,5-6"}});
    EXPECT_EQ(several.status, 200) << "several ranges are answered with the whole photo";
    EXPECT_EQ(several.body.size(), size);
    // The connection is still in step after all of that.
    EXPECT_EQ(c.get(p.thumbnail_url, {{"Range", "bytes=0-0"}}).body.size(), 1U);
    HttpClient head(server().base_url());
    auto h = head.request("HEAD", p.url, std::nullopt, {{"Range", "bytes=0-9"}});
    EXPECT_EQ(h.status, 200) << "HEAD ignores Range";
    EXPECT_TRUE(h.body.empty());
}

// ---------------------------------------------------------------------------------------
// Retries: the same Idempotency-Key from the same user stores once and answers the same.

TEST_F(Uploads, ARetryWithTheSameIdempotencyKeyStoresNothingTwice) {
    const auto feed_before = feed_ids(server()).size();
    auto u = register_user(server());
    Headers headers = u.csrf_header();
    headers.emplace_back("Idempotency-Key", "upload-7f3a");
    const std::vector<Part> parts{Part::file(kCamera, "a.jpg", "image/jpeg"), Part::file(kCamera, "b.jpg", "image/jpeg")};
    auto first = u.http().upload("/api/v1/photos", parts, headers);
    ASSERT_EQ(first.status, 201) << first.describe();
    const auto before = snapshot(server());

    auto again = u.http().upload("/api/v1/photos", parts, headers);
    ASSERT_EQ(again.status, 201) << again.describe();
    EXPECT_EQ(again.header("Idempotency-Replayed"), "true");
    EXPECT_EQ(again.json().at("photos"), first.json().at("photos"));
    expect_nothing_left(server(), before);  // no new files, no new rows
    EXPECT_EQ(feed_ids(server()).size(), feed_before + 2);

    // Another key, or no key, is another upload.
    headers.back().second = "upload-7f3b";
    EXPECT_EQ(u.http().upload("/api/v1/photos", parts, headers).status, 201);
    EXPECT_EQ(upload_photos(u, parts).status, 201);
    EXPECT_EQ(feed_ids(server()).size(), feed_before + 6);
}

TEST_F(Uploads, IdempotencyKeysBelongToTheirUser) {
    auto alice = register_user(server());
    auto bob = register_user(server());
    const std::vector<Part> parts{Part::file(kCamera, "a.jpg", "image/jpeg")};
    auto with_key = [](User& u) {
        Headers h = u.csrf_header();
        h.emplace_back("Idempotency-Key", "shared-name");
        return h;
    };
    auto a = alice.http().upload("/api/v1/photos", parts, with_key(alice));
    auto b = bob.http().upload("/api/v1/photos", parts, with_key(bob));
    ASSERT_EQ(a.status, 201);
    ASSERT_EQ(b.status, 201);
    EXPECT_TRUE(b.header("Idempotency-Replayed").empty());
    EXPECT_NE(a.json().at("photos"), b.json().at("photos"));
    EXPECT_EQ(b.json().at("photos").at(0).at("uploaded_by").as_string(), bob.username);
}

TEST_F(Uploads, ConcurrentDuplicatesStoreOnce) {
    auto media_files = [&] {
        int n = 0;
        for (auto& f : state_files(server())) n += f.starts_with("media/") && f.ends_with(".jpg");
        return n;
    };
    const int media_before = media_files();
    const auto feed_before = feed_ids(server()).size();
    auto u = register_user(server());
    const std::vector<Part> parts{Part::file(kCamera, "a.jpg", "image/jpeg")};
    std::vector<std::thread> threads;
    std::vector<Response> results(4);
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([&, i] {
            auto client = login(server(), u.username, u.password);  // a connection of its own
            Headers h = client.csrf_header();
            h.emplace_back("Idempotency-Key", "burst-1");
            results[i] = client.http().upload("/api/v1/photos", parts, h);
        });
    }
    for (auto& t : threads) t.join();
    for (auto& r : results) {
        ASSERT_EQ(r.status, 201) << r.describe();
        EXPECT_EQ(r.json().at("photos"), results[0].json().at("photos"));
    }
    EXPECT_EQ(feed_ids(server()).size(), feed_before + 1);
    // The losers' files were removed: only the variants and the original of one photo were
    // added.
    const auto variants = static_cast<int>(results[0].json().at("photos").at(0).at("variants").as_array().size());
    EXPECT_EQ(variants, 3);  // 640x480: the display variant, the thumbnail and 320 px
    EXPECT_TRUE(eventually([&] { return media_files() == media_before + variants + 1; }, 5s));
}

TEST_F(Uploads, AMalformedIdempotencyKeyIs400) {
    auto u = register_user(server());
    Headers h = u.csrf_header();
    h.emplace_back("Idempotency-Key", std::string(200, 'k'));
    EXPECT_JSON_ERROR(u.http().upload("/api/v1/photos", {Part::file(kCamera, "a.jpg", "image/jpeg")}, h), 400, "bad_idempotency_key");
}
