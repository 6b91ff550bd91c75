#include <gtest/gtest.h>
#include <cstdlib>

#include "blob/blob.hpp"

namespace photoshare::blob {
namespace {

namespace fs = std::filesystem;

std::string error_of(const std::string& url) {
    try {
        open(url);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "no error";
}

class BlobOpenTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "photoshare-blob-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir = tmpl;
    }
    void TearDown() override { fs::remove_all(dir); }
    fs::path dir;
};

TEST_F(BlobOpenTest, AbsoluteFileUrl) {
    auto store = open("file://" + (dir / "media").string());
    EXPECT_EQ(store->describe(), "file://" + (dir / "media").string());
    store->put("abc.jpg", "x", {});
    EXPECT_TRUE(fs::exists(dir / "media" / "ab" / "abc.jpg"));
}

TEST_F(BlobOpenTest, RelativeFileUrlIsResolvedAtOpen) {
    const fs::path relative = fs::relative(dir / "rel", fs::current_path());
    ASSERT_TRUE(relative.is_relative());
    auto store = open("file://" + relative.string());
    EXPECT_EQ(store->describe(), "file://" + (dir / "rel").string());
}

TEST(BlobOpen, OtherSchemesAndMalformedUrlsAreRejected) {
    EXPECT_NE(error_of("s3://").find("s3://"), std::string::npos);  // no bucket
    EXPECT_NE(error_of("http://example.com/x").find("http://"), std::string::npos);
    EXPECT_NE(error_of("file://").find("directory"), std::string::npos);
    EXPECT_NE(error_of("/var/photos").find("scheme://"), std::string::npos);
    EXPECT_NE(error_of("").find("scheme://"), std::string::npos);
    EXPECT_EQ(error_of("s3:secret@x://y").find("secret"), std::string::npos);
}

}  // namespace
}  // namespace photoshare::blob
