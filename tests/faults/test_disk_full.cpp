// The photo directory fills up (a small tmpfs, mounted here as root): an upload gets 507
// Insufficient Storage with a clear message, leaves no file (not even the display size
// written before the thumbnail failed) and no row; once space is freed, uploads work again
// without restarting photoshare.
#include "faults.hpp"
#include "support/app.hpp"
#include "support/files.hpp"
#include "support/http_client.hpp"
#include "support/images.hpp"
#include "support/photoshare_server.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstring>

namespace {

using namespace faults;
using namespace pstest;

class Tmpfs {
public:
    Tmpfs(const fs::path& dir, const std::string& size) : dir_(dir) {
        fs::create_directories(dir_);
        const std::string options = "size=" + size + ",mode=0755";
        if (::mount("tmpfs", dir_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) == 0)
            mounted_ = true;
        else
            error_ = std::strerror(errno);
    }
    ~Tmpfs() {
        if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    }
    bool mounted() const { return mounted_; }
    const std::string& error() const { return error_; }
    std::uint64_t free_bytes() const {
        struct statvfs s {};
        if (::statvfs(dir_.c_str(), &s) != 0) return 0;
        return static_cast<std::uint64_t>(s.f_bavail) * s.f_frsize;
    }

private:
    fs::path dir_;
    bool mounted_ = false;
    std::string error_;
};

// Space a file takes (tmpfs: whole pages).
std::uint64_t allocated(const fs::path& file) {
    struct stat st {};
    return ::stat(file.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_blocks) * 512 : 0;
}

// A file that takes all the free space of its filesystem but `leave` bytes.
class Filler {
public:
    Filler(fs::path path) : path_(std::move(path)) {}
    ~Filler() { fs::remove(path_); }
    void leave(const Tmpfs& fs, std::uint64_t bytes) {
        const auto free = fs.free_bytes();
        const auto size = allocated(path_);
        const std::uint64_t want = free + size > bytes ? free + size - bytes : 0;
        const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT, 0644);
        if (fd < 0) FAIL() << "open " << path_ << ": " << std::strerror(errno);
        int error = 0;  // asserted once fd is closed
        if (want < size) {
            if (::ftruncate(fd, static_cast<off_t>(want)) != 0) error = errno;
        } else {
            // tmpfs has no fallocate limits of its own: write the bytes (and so the pages).
            std::string chunk(64 * 1024, 'x');
            ::lseek(fd, static_cast<off_t>(size), SEEK_SET);
            for (std::uint64_t written = size; written < want;) {
                const auto n = ::write(fd, chunk.data(), std::min<std::uint64_t>(chunk.size(), want - written));
                if (n <= 0) break;
                written += static_cast<std::uint64_t>(n);
            }
        }
        ::close(fd);
        ASSERT_EQ(error, 0) << "ftruncate: " << std::strerror(error);
    }
    void remove() { fs::remove(path_); }

private:
    fs::path path_;
};

TEST(DiskFull, UploadGets507LeavesNothingAndWorksAgainOnceSpaceIsFreed) {
    pstest::TempDir work("ps-faults-disk");
    Tmpfs disk(work.path() / "disk", "8m");
    if (!disk.mounted())
        GTEST_SKIP() << "cannot mount a tmpfs here (" << disk.error() << "): run as root to test a full disk";
    const auto media = work.path() / "disk" / "media";
    ServerProcess server(ServerOptions{.args = {"--set", "storage.url=file://" + media.string()}, .name = "faults-disk",
                                       .data_dir = work.path() / "data"});
    const pid_t pid = server.pid();
    auto user = pstest::register_user(server);
    // Random pixels: JPEG cannot make them small, so the two variants are a few hundred KiB.
    const std::string image = pstest::make_noise_png(1200, 900, 7);
    auto send = [&] { return pstest::upload_photos(user, {Part::bytes(image, "noise.png", "image/png")}); };

    // How much room the variants of this image take (the same bytes every time).
    auto first = send();
    ASSERT_EQ(first.status, 201) << first.describe();
    const std::string id(first.json().at("photos").as_array()[0].at("id").as_string());
    const auto shard = media / id.substr(0, 2);
    const auto display = allocated(shard / (id + "_d.jpg")), thumbnail = allocated(shard / (id + "_t.jpg"));
    ASSERT_GT(display, 16384u);
    ASSERT_GT(thumbnail, 16384u);
    auto del = user.http().del("/api/v1/photos/" + id, user.csrf_header());
    ASSERT_TRUE(del.status == 200 || del.status == 204) << del.describe();
    const auto feed_before = pstest::feed_ids(server);

    Filler filler(work.path() / "disk" / "filler");  // beside media/, on the same filesystem
    struct Case {
        const char* what;
        std::uint64_t room;
        const char* failing_key_suffix;
    };
    for (const Case& c : {Case{"no room for the display size", display / 2, "_d.jpg"},
                          Case{"room for the display size, not the thumbnail", display + thumbnail / 2, "_t.jpg"}}) {
        SCOPED_TRACE(c.what);
        filler.leave(disk, c.room);
        auto res = send();
        EXPECT_JSON_ERROR(res, 507, "insufficient_storage");
        EXPECT_TRUE(pstest::contains(res.body, "storage is full")) << res.describe();
        EXPECT_EQ(pstest::list_files(media), std::vector<std::string>{}) << "a failed upload left files (or temporary files) behind";
        EXPECT_EQ(pstest::feed_ids(server), feed_before) << "a failed upload left a row";
        EXPECT_TRUE(pstest::contains(server.log(), std::string(c.failing_key_suffix) + ": No space left on device"))
            << "the failure was not where this case meant it to be";
        EXPECT_TRUE(server.alive());
    }
    // The upload form gets the same status, as a page.
    {
        auto page = user.http().upload("/upload", {Part::bytes(image, "noise.png", "image/png"), Part::field("csrf_token", user.csrf)});
        EXPECT_EQ(page.status, 507) << page.describe();
        EXPECT_TRUE(pstest::contains(page.header("Content-Type"), "text/html")) << page.describe();
    }

    filler.remove();
    auto again = send();
    EXPECT_EQ(again.status, 201) << "after space was freed: " << again.describe();
    EXPECT_EQ(server.pid(), pid);
    auto check = run_fsck({"--data-dir", (work.path() / "data").string(), "--grace", "0", "--set", "storage.url=file://" + media.string()});
    EXPECT_EQ(check.exit_code, 0) << check.output();
    EXPECT_EQ(check.rows, 1) << check.output();
    // Every JPEG width of the photo (image jobs are off: kTestDefaults), and its original.
    EXPECT_EQ(check.objects, static_cast<long>(again.json().at("photos").at(0).at("variants").as_array().size()) + 1) << check.output();

    note("disk full (tmpfs of 8 MiB for the photos; variants of " + std::to_string(display / 1024) + " + " + std::to_string(thumbnail / 1024) +
         " KiB): 507 insufficient_storage when the display size does not fit and when only the thumbnail does not (its display file undone); " +
         "no file, temporary file or row left; 201 again once space was freed, same process; fsck clean");
}

// The temporary directory the multipart body is spooled to fills up (DATA/tmp on a small
// tmpfs): 507 as for a full photo store, the partial temporary file removed, no row; a photo
// that fits still goes through, same process.
TEST(DiskFull, AFullSpoolDirectoryGets507AndLeavesNothing) {
    pstest::TempDir work("ps-faults-spool");
    const auto data = work.path() / "data";
    Tmpfs spool(data / "tmp", "1m");
    if (!spool.mounted())
        GTEST_SKIP() << "cannot mount a tmpfs here (" << spool.error() << "): run as root to test a full disk";
    const auto media = work.path() / "media";
    ServerProcess server(ServerOptions{.args = {"--set", "storage.url=file://" + media.string()}, .name = "faults-spool",
                                       .data_dir = data});
    const pid_t pid = server.pid();
    auto user = pstest::register_user(server);
    const auto feed_before = pstest::feed_ids(server);

    const std::string big = pstest::make_noise_png(1200, 900, 11);  // about 3 MiB: cannot fit in 1 MiB
    ASSERT_GT(big.size(), 2u << 20);
    auto res = pstest::upload_photos(user, {Part::bytes(big, "big.png", "image/png")});
    EXPECT_JSON_ERROR(res, 507, "insufficient_storage");
    EXPECT_TRUE(pstest::contains(server.log(), "No space left on device")) << "the failure was not the full spool directory";
    EXPECT_EQ(pstest::list_files(data / "tmp"), std::vector<std::string>{}) << "the partial temporary file was left behind";
    EXPECT_EQ(pstest::list_files(media), std::vector<std::string>{});
    EXPECT_EQ(pstest::feed_ids(server), feed_before);

    auto small = pstest::upload_photos(user, {Part::bytes(pstest::make_noise_png(200, 150, 12), "small.png", "image/png")});
    EXPECT_EQ(small.status, 201) << small.describe();
    EXPECT_EQ(server.pid(), pid);
    note("spool directory full (tmpfs of 1 MiB for DATA/tmp, a " + std::to_string(big.size() / 1024) +
         " KiB upload): 507 insufficient_storage, temporary file removed, no row; a small photo stored after it, same process");
}

}  // namespace
