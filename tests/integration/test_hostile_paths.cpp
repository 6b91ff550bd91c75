// Path traversal (issue 7): in the file names of uploads (../, backslashes, absolute,
// percent-encoded, RFC 2231 filename*, NUL) and in media and static URLs (../, encoded,
// double-encoded, overlong UTF-8, backslashes, %00). A file name is never part of a path:
// what is stored lies under DATA/media with a random key, and nothing appears anywhere
// else. A URL never reaches a file outside its directory: 400 or 404. Requests go through
// raw sockets, so that no client library normalises the dots away first.
#include "support/app.hpp"
#include "support/files.hpp"
#include "support/http_client.hpp"
#include "support/photoshare_server.hpp"

#include <fstream>
#include <map>
#include <regex>
#include <set>

using namespace pstest;

namespace {

const fs::path kCamera = testdata("images/edge/exif-samples/DSCN0010.jpg");
const std::string kCanary = "CANARY-7c1f0e-must-never-be-served";

std::string error_message(const Response& r) {
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("error")) return {};
    return std::string(v.at("error").at("message").as_string());
}

// Every regular file under root, with its content hash (size and a cheap checksum), so a
// change anywhere shows.
std::map<std::string, std::pair<std::uintmax_t, std::size_t>> tree(const fs::path& root) {
    std::map<std::string, std::pair<std::uintmax_t, std::size_t>> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_regular_file(ec)) continue;
        out[it->path().string()] = {it->file_size(ec), 0};
    }
    return out;
}

std::size_t hash_file(const fs::path& p) {
    try {
        return std::hash<std::string>{}(read_file(p));
    } catch (const std::exception&) {
        return 0;
    }
}

}  // namespace

PSTEST_SHARED_SERVER_FIXTURE(HostilePaths, .name = "itest-hostile-paths");

TEST_F(HostilePaths, UploadFileNamesNeverBecomePaths) {
    auto u = register_user(server());
    const fs::path work = server().data_dir().parent_path();  // the server's own temporary directory
    const fs::path tmp = work.parent_path();                  // $TMPDIR, where ../ from it would land
    const std::string marker = "esc" + std::to_string(::getpid()) + "x";
    const auto passwd_hash = hash_file("/etc/passwd");
    const auto tree_before = tree(work);
    HealthProbe probe(server());

    // Quoted file names go in as they are (MultipartBody does not escape them).
    const std::vector<std::string> names = {
        "../../etc/passwd",
        "../../../../../../../../../etc/passwd",
        "../../" + marker + "-dotdot.jpg",
        "../../../" + marker + "-dotdot3.jpg",
        "..\\..\\" + marker + "-backslash.jpg",
        "..\\/..\\/" + marker + "-mixed.jpg",
        "/tmp/" + marker + "-absolute.jpg",
        tmp.string() + "/" + marker + "-absolute2.jpg",
        "C:\\Windows\\Temp\\" + marker + "-drive.jpg",
        "%2e%2e%2f%2e%2e%2f" + marker + "-encoded.jpg",
        "..%2F..%2F" + marker + "-encoded2.jpg",
        "..%5c..%5c" + marker + "-encoded3.jpg",
        "....//....//" + marker + "-doubled.jpg",
        "~/" + marker + "-home.jpg",
        "media/../../" + marker + "-inside.jpg",
        std::string(60, '.') + "/" + marker + "-dots.jpg",
        ".",
        "..",
        "/",
        "../../" + marker + "-dir/",
    };
    std::set<std::string> ids;
    for (const auto& name : names) {
        SCOPED_TRACE("filename=\"" + name + "\"");
        MultipartBody m;
        m.file(read_file(kCamera), name, "photo", "image/jpeg").close();
        auto res = u.http().post_raw("/api/v1/photos", m.body, m.content_type(), u.csrf_header());
        if (name.ends_with("/") && res.status == 422) {
            // Nothing after the last separator: taken for a file input left empty.
            EXPECT_JSON_ERROR(res, 422, "no_photo");
            continue;
        }
        ASSERT_EQ(res.status, 201) << res.describe();
        auto p = res.json().at("photos").at(0);
        const std::string id(p.at("id").as_string());
        EXPECT_TRUE(std::regex_match(id, std::regex("[A-Za-z0-9_-]{16,}"))) << id;
        EXPECT_FALSE(contains(std::string(p.at("url").as_string()), "..")) << p.at("url");
        ids.insert(id);
    }
    // RFC 2231 names (filename*=), which are percent-decoded by the server itself.
    for (const std::string& ext : {"UTF-8''..%2F..%2F" + marker + "-star.jpg", "UTF-8''..%5C..%5C" + marker + "-star2.jpg",
                                   std::string("UTF-8''%2Fetc%2Fpasswd"), "iso-8859-1'en'..%2F..%2F" + marker + "-latin.jpg"}) {
        SCOPED_TRACE("filename*=" + ext);
        MultipartBody m;
        m.raw_part("form-data; name=\"photo\"; filename*=" + ext, read_file(kCamera), "Content-Type: image/jpeg\r\n").close();
        auto res = u.http().post_raw("/api/v1/photos", m.body, m.content_type(), u.csrf_header());
        ASSERT_EQ(res.status, 201) << res.describe();
        ids.insert(std::string(res.json().at("photos").at(0).at("id").as_string()));
    }
    // NUL, raw or encoded: refused as malformed (a C string would have stopped there).
    for (const std::string& disposition : {"form-data; name=\"photo\"; filename=\"a.jpg" + std::string(1, '\0') + "../../" + marker + "-nul.jpg\"",
                                           "form-data; name=\"photo\"; filename*=UTF-8''a.jpg%00..%2F..%2F" + marker + "-nul2.jpg"}) {
        SCOPED_TRACE("NUL in the file name");
        MultipartBody m;
        m.raw_part(disposition, read_file(kCamera)).close();
        auto res = u.http().post_raw("/api/v1/photos", m.body, m.content_type(), u.csrf_header());
        EXPECT_JSON_ERROR(res, 400, "bad_multipart");
        EXPECT_FALSE(error_message(res).empty());
    }
    probe.stop();
    EXPECT_TRUE(probe.ok()) << probe.describe();

    // Nothing outside DATA/media: not in the server's directory, not in $TMPDIR, not at /.
    for (const auto& [path, size] : tree(work)) {
        if (tree_before.contains(path)) continue;
        const auto rel = fs::relative(path, work).string();
        SCOPED_TRACE(rel);
        if (rel.starts_with("data/photoshare.db") || rel == "server.log") continue;
        ASSERT_TRUE(rel.starts_with("data/media/")) << "a new file outside DATA/media";
        const std::string file = fs::path(rel).filename().string();
        std::smatch m;
        // A variant, or the original kept for its owner (its name holds a random secret).
        ASSERT_TRUE(std::regex_match(file, m, std::regex("(.+)_(d|t|[1-9][0-9]*)\\.(jpg|avif|webp)")) ||
                    std::regex_match(file, m, std::regex("(.+)_o-[0-9a-f]{32}\\.(jpg|png|gif|webp|heic|heif|avif)")))
            << "not a file named by its key";
        EXPECT_TRUE(ids.contains(m[1].str())) << "named by something other than the photo's random id";
    }
    EXPECT_TRUE(list_files(server().data_dir() / "tmp").empty());
    for (const fs::path& dir : {tmp, fs::path("/tmp"), fs::path("/"), fs::path("/etc"), work, server().data_dir()}) {
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(dir, fs::directory_options::skip_permission_denied, ec))
            EXPECT_FALSE(contains(entry.path().filename().string(), marker)) << entry.path();
    }
    EXPECT_EQ(hash_file("/etc/passwd"), passwd_hash) << "/etc/passwd changed";
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostilePaths, MediaAndStaticUrlsNeverLeaveTheirDirectory) {
    auto u = register_user(server());
    auto up = upload_photos(u, {Part::file(kCamera, "ok.jpg", "image/jpeg")});
    ASSERT_EQ(up.status, 201) << up.describe();
    const std::string key = fs::path(std::string(up.json().at("photos").at(0).at("url").as_string())).filename().string();

    // Canaries in and around the data directory, next to the database and the admin token.
    const fs::path data = server().data_dir();
    for (const fs::path& p : {data / "canary.txt", data / "media" / "canary.txt", data.parent_path() / "canary.txt"}) {
        std::ofstream(p) << kCanary << "\n";
    }
    const std::string token = server().admin_token();
    ASSERT_FALSE(token.empty());

    const std::vector<std::string> targets = {
        "/media/../photoshare.db",
        "/media/../canary.txt",
        "/media/../../canary.txt",
        "/media/..%2fphotoshare.db",
        "/media/%2e%2e%2fphotoshare.db",
        "/media/%2e%2e/photoshare.db",
        "/media/%2E%2E%2Fadmin.token",
        "/media/..%2f..%2fcanary.txt",
        "/media/..%5cphotoshare.db",
        "/media/..\\photoshare.db",
        "/media/..\\..\\canary.txt",
        "/media/%252e%252e%252fphotoshare.db",                 // double-encoded
        "/media/%c0%ae%c0%ae%c0%afphotoshare.db",               // overlong UTF-8 for ../
        "/media/%e0%80%ae%e0%80%ae/photoshare.db",
        "/media/canary.txt%00.jpg",
        "/media/" + key + "%00",
        "/media/" + key + "%00/../../photoshare.db",
        "/media/" + key + "/../../photoshare.db",
        "/media/./canary.txt",
        "/media/.",
        "/media/..",
        "/media/%2e",
        "/media//etc/passwd",
        "/media/%2fetc%2fpasswd",
        "/media/" + key.substr(0, 2) + "%2f" + key,             // the shard directory, encoded
        "/media/" + key.substr(0, 2) + "/" + key,
        "/static/..%2f..%2fsrc",
        "/static/..%2f..%2fsrc%2fmain.cpp",
        "/static/../../src/main.cpp",
        "/static/%2e%2e/%2e%2e/CMakeLists.txt",
        "/static/..%2f..%2fCMakeLists.txt",
        "/static/..\\..\\CMakeLists.txt",
        "/static/%5c..%5c..%5cREADME.md",
        "/static//etc/passwd",
        "/static/app.js%00.png",
        "/static/%00",
        "/static/../templates/layout.mustache",
        "/static/..%2ftemplates%2flayout.mustache",
        "//etc/passwd",
        "/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/photos/..%2f..%2fphotoshare.db",
        "/favicon.ico/..%2f..%2fphotoshare.db",
    };
    HealthProbe probe(server());
    for (const auto& target : targets) {
        SCOPED_TRACE(target);
        bool closed = false;
        auto r = raw_exchange(server().port(), "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5s, &closed);
        ASSERT_TRUE(r.has_value()) << "no response";
        EXPECT_TRUE(r->status == 400 || r->status == 404) << "HTTP " << r->status;
        EXPECT_TRUE(r->header("Content-Type").starts_with("text/html")) << r->header("Content-Type");
        for (const std::string& secret : {std::string("SQLite format 3"), kCanary, token, std::string("root:x:0"),
                                          std::string("cmake_minimum_required"), std::string("#include"), std::string("{{title}}")})
            EXPECT_FALSE(contains(r->body, secret)) << "served something it must not: " << secret;
        EXPECT_FALSE(contains(r->body, "..")) << "the path is not echoed back: " << r->body.substr(0, 200);
    }
    // Absolute-form targets are not a way around the origin-form checks either.
    for (const std::string& target : {std::string("http://x/media/../photoshare.db"), std::string("http://x/../../etc/passwd"),
                                      std::string("*"), std::string("media/../photoshare.db")}) {
        SCOPED_TRACE(target);
        auto r = raw_exchange(server().port(), "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        ASSERT_TRUE(r.has_value());
        EXPECT_TRUE(r->status == 400 || r->status == 404) << r->status;
        EXPECT_FALSE(contains(r->body, "SQLite format 3"));
        EXPECT_FALSE(contains(r->body, "root:x:0"));
    }
    probe.stop();
    EXPECT_TRUE(probe.ok()) << probe.describe();
    // The real media and static files are still served.
    HttpClient c(server().base_url());
    EXPECT_EQ(c.get("/media/" + key).status, 200);
    EXPECT_EQ(c.get("/static/app.js").status, 200);
}
