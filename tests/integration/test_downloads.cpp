// GET /photos/ID/original and /photos/ID/full: the owner's original as uploaded (with its
// metadata, so nobody else ever gets it) and the full-resolution JPEG without metadata,
// made on the first download; who may have which, and that a delete takes them along.
#include "support/app.hpp"
#include "support/files.hpp"
#include "support/http_client.hpp"
#include "support/images.hpp"
#include "support/photoshare_server.hpp"
#include "support/process.hpp"

using namespace pstest;
using namespace std::chrono_literals;

namespace {

const fs::path kCamera = testdata("images/edge/exif-samples/DSCN0010.jpg");  // 640x480, EXIF with GPS

// JPEG markers before the scan (APPn, COM...): what metadata a JPEG carries.
std::vector<unsigned> metadata_markers(std::string_view d) {
    std::vector<unsigned> out;
    std::size_t pos = 2;
    while (pos + 4 <= d.size() && static_cast<unsigned char>(d[pos]) == 0xFF) {
        const unsigned marker = static_cast<unsigned char>(d[pos + 1]);
        if (marker == 0xDA) break;
        if ((marker >= 0xE0 && marker <= 0xEF) || marker == 0xFE) out.push_back(marker);
        pos += 2 + ((static_cast<unsigned char>(d[pos + 2]) << 8) | static_cast<unsigned char>(d[pos + 3]));
    }
    return out;
}

// The files of the photo in the media directory (any name that starts with its id).
std::vector<std::string> files_of(const ServerProcess& s, const std::string& id) {
    std::vector<std::string> out;
    for (const auto& f : list_files(s.data_dir() / "media"))
        if (fs::path(f).filename().string().starts_with(id + "_")) out.push_back(fs::path(f).filename().string());
    return out;
}

std::string only_file_like(const ServerProcess& s, const std::string& id, const std::string& part) {
    std::string found;
    for (const auto& f : files_of(s, id))
        if (f.find(part) != std::string::npos) found = f;
    return found;
}

std::string uploaded_id(const Response& res) { return std::string(res.json().at("photos").at(0).at("id").as_string()); }

// A camera photo at 3200x2400, with the camera's EXIF (GPS included): larger than the
// display variant, so its full size is a file of its own.
fs::path large_camera_photo(const fs::path& dir) {
    const auto out = dir / "large.jpg";
    auto made = run({"vips", "resize", kCamera.string(), out.string(), "5"}, 120s);
    EXPECT_TRUE(made.ok()) << made.output;
    return out;
}

}  // namespace

PSTEST_SHARED_SERVER_FIXTURE(Downloads, .name = "itest-downloads");

TEST_F(Downloads, TheOwnerGetsTheOriginalAsUploadedAndNobodyElseDoes) {
    auto owner = register_user(server());
    auto res = upload_photos(owner, {Part::file(kCamera, "Été à Québec.jpg", "image/jpeg")});
    ASSERT_EQ(res.status, 201) << res.describe();
    const auto id = uploaded_id(res);
    const auto sent = read_file(kCamera);

    auto original = owner.http().get("/photos/" + id + "/original");
    ASSERT_EQ(original.status, 200) << original.describe();
    EXPECT_EQ(original.body, sent) << "not the file as uploaded";
    EXPECT_TRUE(contains(original.body, "Exif")) << "its metadata is its owner's";
    EXPECT_EQ(original.header("Content-Type"), "image/jpeg");
    EXPECT_EQ(original.header("Content-Disposition"),
              "attachment; filename=\"_t_ _ Qu_bec.jpg\"; filename*=UTF-8''%C3%89t%C3%A9%20%C3%A0%20Qu%C3%A9bec.jpg");
    EXPECT_EQ(original.header("Cache-Control"), "private, no-cache");

    auto api = owner.http().get("/api/v1/photos/" + id);
    ASSERT_EQ(api.status, 200);
    const auto api_json = api.json();
    const auto& offered = api_json.at("downloads").as_object();
    ASSERT_TRUE(offered.contains("original")) << api.body;
    EXPECT_EQ(offered.at("original").at("name").as_string(), "Été à Québec.jpg");
    EXPECT_EQ(offered.at("original").at("bytes").as_int64(), static_cast<std::int64_t>(sent.size()));
    EXPECT_EQ(offered.at("original").at("type").as_string(), "image/jpeg");
    EXPECT_TRUE(contains(owner.http().get("/photos/" + id).body, "/photos/" + id + "/original\""));

    auto other = register_user(server());
    EXPECT_EQ(other.http().get("/photos/" + id + "/original").status, 403);
    HttpClient anon(server().base_url());
    EXPECT_EQ(anon.get("/photos/" + id + "/original").status, 403);
    EXPECT_FALSE(other.http().get("/api/v1/photos/" + id).json().at("downloads").as_object().contains("original"));
    EXPECT_FALSE(contains(anon.get("/photos/" + id).body, "/original")) << "the page offers the original to a stranger";

    // Its name in the store is not for /media/, even to someone who learnt it.
    const auto stored = only_file_like(server(), id, "_o-");
    ASSERT_FALSE(stored.empty()) << "no original in the store";
    EXPECT_EQ(anon.get("/media/" + stored).status, 404);
    EXPECT_EQ(anon.get("/photos/NoSuchPhotoAtAll000000/original").status, 404);
}

TEST_F(Downloads, TheFullSizeIsTheWholeImageWithoutMetadataAndGoesWithADelete) {
    TempDir dir("ps-full");
    const auto large = large_camera_photo(dir.path());
    auto owner = register_user(server());
    auto res = upload_photos(owner, {Part::file(large, "DSCN0010.JPG", "image/jpeg")});
    ASSERT_EQ(res.status, 201) << res.describe();
    const auto id = uploaded_id(res);
    EXPECT_EQ(res.json().at("photos").at(0).at("width").as_int64(), 2048) << "the display variant";

    auto api = owner.http().get("/api/v1/photos/" + id);
    const auto api_json = api.json();
    const auto& full_offer = api_json.at("downloads").at("full");
    EXPECT_EQ(full_offer.at("width").as_int64(), 3200);
    EXPECT_EQ(full_offer.at("height").as_int64(), 2400);
    EXPECT_EQ(full_offer.at("url").as_string(), "/photos/" + id + "/full");

    auto full = owner.http().get("/photos/" + id + "/full");
    ASSERT_EQ(full.status, 200) << full.describe();
    EXPECT_EQ(full.header("Content-Type"), "image/jpeg");
    EXPECT_EQ(full.header("Content-Disposition"), "attachment; filename=\"DSCN0010.jpg\"; filename*=UTF-8''DSCN0010.jpg");
    ASSERT_TRUE(looks_like_jpeg(full.body));
    const auto size = jpeg_size(full.body);
    ASSERT_TRUE(size.has_value());
    EXPECT_EQ(size->first, 3200);
    EXPECT_EQ(size->second, 2400);
    EXPECT_TRUE(metadata_markers(full.body).empty()) << "metadata in the full-size download";
    EXPECT_FALSE(contains(full.body, "Exif"));
    // Made once, kept beside the original: the next download is the same file.
    EXPECT_FALSE(only_file_like(server(), id, "_f-").empty()) << "the full-size file was not kept";
    EXPECT_EQ(owner.http().get("/photos/" + id + "/full").body, full.body);

    // Only the owner, unless the site says otherwise (below).
    auto other = register_user(server());
    EXPECT_EQ(other.http().get("/photos/" + id + "/full").status, 403);
    EXPECT_FALSE(other.http().get("/api/v1/photos/" + id).json().at("downloads").as_object().contains("full"));

    const auto fsck = run_photoshare({"fsck", "--data-dir", server().data_dir().string(), "--grace", "0"});
    EXPECT_EQ(fsck.exit_code(), 0) << "the original and full-size files are the photo's own\n" << fsck.output;

    ASSERT_EQ(owner.http().del("/api/v1/photos/" + id, owner.csrf_header()).status, 204);
    EXPECT_EQ(files_of(server(), id), std::vector<std::string>{}) << "a file of the deleted photo is left";
    EXPECT_EQ(owner.http().get("/photos/" + id + "/full").status, 404);
    EXPECT_EQ(owner.http().get("/photos/" + id + "/original").status, 404);
}

// A photo no larger than the display variant: that variant is its full size.
TEST_F(Downloads, OfASmallPhotoTheFullSizeIsItsDisplayVariant) {
    auto owner = register_user(server());
    auto res = upload_photos(owner, {Part::file(kCamera)});
    ASSERT_EQ(res.status, 201) << res.describe();
    const auto id = uploaded_id(res);
    auto full = owner.http().get("/photos/" + id + "/full");
    ASSERT_EQ(full.status, 200) << full.describe();
    EXPECT_EQ(full.body, owner.http().get("/media/" + id + "_d.jpg").body);
    EXPECT_TRUE(only_file_like(server(), id, "_f-").empty()) << "a copy of the display variant was stored";
}

TEST(DownloadSettings, EveryoneMayDownloadTheFullSizeWhenTheSiteSaysSoButNeverTheOriginal) {
    ServerProcess s({.args = {"--set", "images.full_size_download=everyone"}, .name = "itest-full-everyone"});
    auto owner = register_user(s);
    auto res = upload_photos(owner, {Part::file(kCamera)});
    ASSERT_EQ(res.status, 201) << res.describe();
    const auto id = uploaded_id(res);
    HttpClient anon(s.base_url());
    EXPECT_EQ(anon.get("/photos/" + id + "/full").status, 200);
    EXPECT_EQ(anon.get("/photos/" + id + "/original").status, 403);
    const auto page = anon.get("/photos/" + id).body;
    EXPECT_TRUE(contains(page, "/photos/" + id + "/full\"")) << page;
    EXPECT_FALSE(contains(page, "/original"));
}

TEST(DownloadSettings, WithoutKeptOriginalsThereIsNoOriginalAndTheFullSizeIsTheDisplayVariant) {
    TempDir dir("ps-no-originals");
    const auto large = large_camera_photo(dir.path());
    ServerProcess s({.args = {"--set", "images.keep_originals=false"}, .name = "itest-no-originals"});
    auto owner = register_user(s);
    auto res = upload_photos(owner, {Part::file(large)});
    ASSERT_EQ(res.status, 201) << res.describe();
    const auto id = uploaded_id(res);
    EXPECT_TRUE(only_file_like(s, id, "_o-").empty()) << "an original was kept";
    EXPECT_EQ(owner.http().get("/photos/" + id + "/original").status, 404);
    auto full = owner.http().get("/photos/" + id + "/full");
    ASSERT_EQ(full.status, 200);
    EXPECT_EQ(jpeg_size(full.body), (std::pair<int, int>{2048, 1536}));
    EXPECT_FALSE(owner.http().get("/api/v1/photos/" + id).json().at("downloads").as_object().contains("original"));
}
