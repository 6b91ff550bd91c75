// The defaults every Store has: streaming reads and "no presigned URLs" for the disk store.
#include <gtest/gtest.h>
#include <cstdlib>

#include "blob/blob.hpp"

namespace photoshare::blob {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class DiskStoreDefaults : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "photoshare-blob-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        root = tmpl;
        store = open_disk(root);
    }
    void TearDown() override { fs::remove_all(root); }
    fs::path root;
    std::unique_ptr<Store> store;
};

TEST_F(DiskStoreDefaults, StreamReadsTheFileInChunks) {
    std::string data(1u << 20, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
    store->put("abc.jpg", data, {});
    ObjectMeta meta;
    std::string got;
    std::size_t chunks = 0;
    bool meta_first = false;
    store->stream("abc.jpg", [&](std::string_view chunk) {
        if (chunks++ == 0) meta_first = meta.size == data.size();
        got += chunk;
        return true;
    }, &meta);
    EXPECT_EQ(got, data);
    EXPECT_EQ(chunks, 4u);  // 256 KiB each
    EXPECT_TRUE(meta_first);
    EXPECT_EQ(meta.content_type, "");

    std::size_t taken = 0;
    store->stream("abc.jpg", [&](std::string_view chunk) { taken += chunk.size(); return false; }, nullptr);
    EXPECT_EQ(taken, 256u * 1024);
}

TEST_F(DiskStoreDefaults, MissingOrInvalidKeysAreNotFound) {
    auto sink = [](std::string_view) { return true; };
    EXPECT_THROW(store->stream("missing.jpg", sink, nullptr), NotFound);
    EXPECT_THROW(store->stream("../etc", sink, nullptr), NotFound);
    store->put("empty.jpg", "", {});
    ObjectMeta meta{.size = 5};
    int calls = 0;
    store->stream("empty.jpg", [&](std::string_view) { ++calls; return true; }, &meta);
    EXPECT_EQ(calls, 0);
    EXPECT_EQ(meta.size, 0u);
}

TEST_F(DiskStoreDefaults, NoPresignedUrls) {
    store->put("abc.jpg", "x", {});
    EXPECT_EQ(store->presigned_url("abc.jpg", 60s), std::nullopt);
}

}  // namespace
}  // namespace photoshare::blob
