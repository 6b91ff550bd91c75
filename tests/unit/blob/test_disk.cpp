#include <gtest/gtest.h>

#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>
#include <vector>

#include "blob/blob.hpp"

namespace photoshare::blob {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::vector<std::string> names_in(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        out.push_back(e.path().filename().string());
    }
    return out;
}

class DiskStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "photoshare-blob-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        root = tmpl;
        store = open_disk(root);
    }
    void TearDown() override {
        fs::permissions(root, fs::perms::owner_all, fs::perm_options::add);
        std::error_code ec;
        fs::remove_all(root, ec);
    }
    std::vector<std::string> temp_files() { return names_in(root / ".tmp"); }

    fs::path root;
    std::unique_ptr<Store> store;
};

TEST_F(DiskStoreTest, RoundTrip) {
    const std::string data = std::string("\xff\xd8\xff") + '\0' + "jpeg bytes";  // with a NUL inside
    store->put("abcdef_t.jpg", data, {.content_type = "image/jpeg", .cache_control = ""});
    EXPECT_TRUE(store->exists("abcdef_t.jpg"));
    EXPECT_EQ(store->get("abcdef_t.jpg"), data);
    EXPECT_EQ(store->local_path("abcdef_t.jpg"), root / "ab" / "abcdef_t.jpg");
    std::ifstream file(root / "ab" / "abcdef_t.jpg", std::ios::binary);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(file), {}), data);
    store->remove("abcdef_t.jpg");
    EXPECT_FALSE(store->exists("abcdef_t.jpg"));
    EXPECT_EQ(store->get("abcdef_t.jpg"), std::nullopt);
}

TEST_F(DiskStoreTest, EmptyAndLargeObjects) {
    store->put("empty", "", {});
    EXPECT_EQ(store->get("empty"), "");
    std::string big(5 * 1024 * 1024 + 7, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) {
        big[i] = static_cast<char>(i * 131);
    }
    store->put("big.jpg", big, {});
    EXPECT_EQ(store->get("big.jpg"), big);
}

TEST_F(DiskStoreTest, MissingObjects) {
    EXPECT_EQ(store->get("nothere.jpg"), std::nullopt);
    EXPECT_FALSE(store->exists("nothere.jpg"));
    EXPECT_NO_THROW(store->remove("nothere.jpg"));
    EXPECT_EQ(store->local_path("nothere.jpg"), root / "no" / "nothere.jpg");
}

TEST_F(DiskStoreTest, OverwriteReplacesTheWholeObject) {
    store->put("photo.jpg", std::string(1000, 'a'), {});
    store->put("photo.jpg", "short", {});
    EXPECT_EQ(store->get("photo.jpg"), "short");
    EXPECT_TRUE(temp_files().empty());
}

TEST_F(DiskStoreTest, ReadersNeverSeeAPartialObject) {
    const std::string a(1 << 20, 'a');
    const std::string b((1 << 20) + 4096, 'b');
    store->put("photo.jpg", a, {});
    std::atomic<bool> done{false};
    std::atomic<int> torn{0}, reads{0};
    std::vector<std::thread> readers;
    for (int r = 0; r < 2; ++r) {
        readers.emplace_back([&] {
            while (!done) {
                const auto got = store->get("photo.jpg");
                if (!got || (*got != a && *got != b)) {
                    ++torn;
                }
                ++reads;
            }
        });
    }
    for (int i = 0; i < 100; ++i) {
        store->put("photo.jpg", i % 2 ? a : b, {});
    }
    done = true;
    for (auto& t : readers) {
        t.join();
    }
    EXPECT_EQ(torn.load(), 0) << "of " << reads.load() << " reads";
    EXPECT_GT(reads.load(), 0);
    EXPECT_TRUE(temp_files().empty());
}

TEST_F(DiskStoreTest, ConcurrentWritersLeaveOneCompleteObject) {
    std::vector<std::thread> writers;
    for (char c : std::string("wxyz")) {
        writers.emplace_back([&, c] {
            for (int i = 0; i < 20; ++i) {
                store->put("same.jpg", std::string(64 * 1024, c), {});
            }
        });
    }
    for (auto& t : writers) {
        t.join();
    }
    const auto got = store->get("same.jpg");
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, std::string(64 * 1024, got->front()));
    EXPECT_TRUE(temp_files().empty());
}

TEST_F(DiskStoreTest, InvalidKeysAreRejected) {
    for (const std::string key : {"../escape", "a/b", ".hidden", "", "a..b"}) {
        EXPECT_THROW(store->put(key, "x", {}), std::invalid_argument) << key;
        EXPECT_THROW(store->remove(key), std::invalid_argument) << key;
        EXPECT_EQ(store->get(key), std::nullopt) << key;
        EXPECT_FALSE(store->exists(key)) << key;
        EXPECT_EQ(store->local_path(key), std::nullopt) << key;
    }
    EXPECT_EQ(names_in(root), std::vector<std::string>{".tmp"});
}

TEST_F(DiskStoreTest, ListReturnsEveryKeySortedAndNothingElse) {
    for (const std::string key : {"zz_t.jpg", "abc.png", "a", "ab1.gif", "Q-x.webp"}) {
        store->put(key, "x", {});
    }
    // Things that are not objects: a temp file, a probe, a stray in the wrong shard, a
    // dotfile, a subdirectory, a file at the top.
    std::ofstream(root / ".tmp" / "abc.png.123.0.ffff") << "partial";
    std::ofstream(root / ".probe.1.2.3") << "";
    std::ofstream(root / "ab" / "zz_wrong_shard.jpg") << "";
    std::ofstream(root / "ab" / ".DS_Store") << "";
    fs::create_directory(root / "ab" / "abdir");
    std::ofstream(root / "toplevel.jpg") << "";
    EXPECT_EQ(store->list(),
              (std::vector<std::string>{"Q-x.webp", "a", "ab1.gif", "abc.png", "zz_t.jpg"}));
}

TEST_F(DiskStoreTest, CheckPassesOnAWritableDirectoryAndLeavesNothing) {
    EXPECT_NO_THROW(store->check());
    EXPECT_EQ(names_in(root), std::vector<std::string>{".tmp"});
    EXPECT_TRUE(temp_files().empty());
}

TEST_F(DiskStoreTest, CheckFailsWhenTheDirectoryIsGone) {
    fs::remove_all(root);
    EXPECT_THROW(store->check(), Unavailable);
    EXPECT_THROW(store->put("abc", "x", {}), Unavailable);
    fs::create_directories(root);  // for TearDown
}

// Injected failure that works for root too: the final name is taken by a non-empty
// directory, so the rename (the last step) fails after everything was written.
TEST_F(DiskStoreTest, FailedRenameLeavesNoTempFile) {
    fs::create_directories(root / "ab" / "abc.jpg" / "child");
    try {
        store->put("abc.jpg", std::string(10000, 'x'), {});
        FAIL() << "put should have failed";
    } catch (const Unavailable& e) {
        EXPECT_NE(std::string(e.what()).find("abc.jpg"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(temp_files().empty());
    EXPECT_EQ(store->get("abc.jpg"), std::nullopt);
}

// Injected write error that works for root too: a file size limit makes write() fail
// part-way (EFBIG), like a full disk does (ENOSPC).
TEST_F(DiskStoreTest, FailedWriteKeepsTheOldObjectAndLeavesNoTempFile) {
    store->put("abc.jpg", "old", {});
    struct rlimit saved {};
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
    auto* old_handler = ::signal(SIGXFSZ, SIG_IGN);  // get EFBIG instead of being killed
    ASSERT_NE(old_handler, SIG_ERR);
    struct rlimit limited = saved;
    limited.rlim_cur = 4096;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limited), 0);
    std::string message;
    try {
        store->put("abc.jpg", std::string(64 * 1024, 'n'), {});
    } catch (const Unavailable& e) {
        message = e.what();
    }
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
    EXPECT_NE(::signal(SIGXFSZ, old_handler), SIG_ERR);
    EXPECT_NE(message.find("cannot write abc.jpg: File too large"), std::string::npos) << message;
    EXPECT_NE(message.find("file://" + root.string()), std::string::npos) << message;
    EXPECT_EQ(store->get("abc.jpg"), "old");
    EXPECT_TRUE(temp_files().empty());
}

// Permission bits do not stop root (or CAP_DAC_OVERRIDE); there the directory is made
// read-only by a read-only bind mount of itself instead (EROFS rather than EACCES).
TEST_F(DiskStoreTest, ReadOnlyDirectoryIsUnavailable) {
    store->put("abc.jpg", "old", {});
    fs::permissions(root / ".tmp", fs::perms::owner_read | fs::perms::owner_exec);
    fs::permissions(root, fs::perms::owner_read | fs::perms::owner_exec);
    bool mounted = false;
    if (::access((root / ".tmp").c_str(), W_OK) == 0) {
        ASSERT_EQ(::mount(root.c_str(), root.c_str(), nullptr, MS_BIND, nullptr), 0)
            << "neither permission bits nor a read-only bind mount can make a directory read-only here: " << std::strerror(errno);
        mounted = true;
        ASSERT_EQ(::mount(nullptr, root.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr), 0) << std::strerror(errno);
    }
    EXPECT_THROW(store->check(), Unavailable);
    EXPECT_THROW(store->put("abc.jpg", "new", {}), Unavailable);
    EXPECT_THROW(store->put("zzz.jpg", "new", {}), Unavailable);
    if (mounted) ::umount2(root.c_str(), MNT_DETACH);
    fs::permissions(root / ".tmp", fs::perms::owner_all);
    fs::permissions(root, fs::perms::owner_all);
    EXPECT_EQ(store->get("abc.jpg"), "old");
    EXPECT_TRUE(temp_files().empty());
}

TEST_F(DiskStoreTest, OpenRemovesOnlyStaleTempFiles) {
    const fs::path stale = root / ".tmp" / "abc.jpg.99.1.dead";
    const fs::path young = root / ".tmp" / "abc.jpg.99.2.beef";
    const fs::path stale_probe = root / ".probe.99.3.f00d";
    std::ofstream(stale) << "half";
    std::ofstream(young) << "being written by another server";
    std::ofstream(stale_probe) << "";
    fs::last_write_time(stale, fs::file_time_type::clock::now() - 1h);
    fs::last_write_time(stale_probe, fs::file_time_type::clock::now() - 1h);
    auto reopened = open_disk(root);
    EXPECT_FALSE(fs::exists(stale));
    EXPECT_FALSE(fs::exists(stale_probe));
    EXPECT_TRUE(fs::exists(young));
}

TEST_F(DiskStoreTest, ObjectsSurviveReopening) {
    store->put("abc.jpg", "kept", {});
    store.reset();
    auto reopened = open_disk(root);
    EXPECT_EQ(reopened->get("abc.jpg"), "kept");
    EXPECT_EQ(reopened->list(), std::vector<std::string>{"abc.jpg"});
}

TEST_F(DiskStoreTest, OpenCreatesTheDirectoryAndDescribesIt) {
    const fs::path nested = root / "media" / "photos";
    auto s = open_disk(nested);
    EXPECT_TRUE(fs::is_directory(nested));
    EXPECT_EQ(s->describe(), "file://" + nested.string());
    EXPECT_EQ(open_disk(nested.string() + "/")->describe(), "file://" + nested.string());
}

}  // namespace
}  // namespace photoshare::blob
