// photoshare fsck: the consistency check between photo rows and stored objects, on a disk
// store and SQLite in a temporary directory.
#include "app/fsck.hpp"

#include "app/photo_files.hpp"
#include "blob/blob.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <unistd.h>

using namespace photoshare;
namespace fsck = photoshare::app::fsck;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// A store that delegates to a disk store, and can hide its local paths (as an object store
// would: no age known) or run something when it is listed (a server working meanwhile).
class Wrapped final : public blob::Store {
public:
    explicit Wrapped(blob::Store& inner) : inner_(inner) {}
    void put(const std::string& k, std::string_view d, const blob::ObjectInfo& i) override { inner_.put(k, d, i); }
    std::optional<std::string> get(const std::string& k) override { return inner_.get(k); }
    void remove(const std::string& k) override { inner_.remove(k); }
    bool exists(const std::string& k) override { return inner_.exists(k); }
    std::vector<std::string> list() override {
        auto keys = inner_.list();
        if (on_list) on_list();
        return keys;
    }
    std::optional<fs::path> local_path(const std::string& k) const override {
        if (hide_local_paths) return std::nullopt;
        return inner_.local_path(k);
    }
    void check() override { inner_.check(); }
    std::string describe() const override { return "wrapped " + inner_.describe(); }

    bool hide_local_paths = false;
    std::function<void()> on_list;

private:
    blob::Store& inner_;
};

class Fsck : public ::testing::Test {
protected:
    void SetUp() override {
        char templ[] = "/tmp/ps-fsck-XXXXXX";
        ASSERT_NE(::mkdtemp(templ), nullptr);
        dir_ = templ;
        repo_ = store::open("sqlite://" + (dir_ / "photoshare.db").string(), store::Options{});
        repo_->migrate();
        auto user = repo_->create_user("alice", "not-a-real-hash");
        ASSERT_TRUE(user);
        user_id_ = user->id;
        blobs_ = blob::open_disk(dir_ / "media");
    }
    void TearDown() override {
        repo_.reset();
        blobs_.reset();
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    void put(const std::string& key) { blobs_->put(key, "jpeg bytes", blob::ObjectInfo{"image/jpeg", ""}); }
    // A complete photo: both files, then its row (as an upload does).
    std::string photo(bool display = true, bool thumbnail = true, bool row = true) {
        const std::string id = "photo" + std::to_string(++counter_);
        if (display) put(app::display_key(id));
        if (thumbnail) put(app::thumbnail_key(id));
        if (row) insert_row(id);
        return id;
    }
    void insert_row(const std::string& id) {
        store::NewPhoto p;
        p.id = id;
        p.user_id = user_id_;
        p.width = p.height = p.thumb_width = p.thumb_height = 10;
        p.bytes = 20;
        repo_->insert_photos(std::vector<store::NewPhoto>{p});
    }
    // Options whose clock is `ahead` in the future: the files just written are that old.
    static fsck::Options later(std::chrono::seconds ahead, bool repair = false) {
        fsck::Options o;
        o.repair = repair;
        o.now = [ahead] { return fsck::Clock::now() + ahead; };
        return o;
    }
    static std::vector<std::string> keys_of(const std::vector<fsck::Orphan>& orphans) {
        std::vector<std::string> keys;
        for (const auto& o : orphans) keys.push_back(o.key);
        return keys;
    }

    fs::path dir_;
    std::unique_ptr<store::Repository> repo_;
    std::unique_ptr<blob::Store> blobs_;
    std::int64_t user_id_ = 0;
    int counter_ = 0;
};

}  // namespace

TEST(FsckKeys, PhotoOfKeyKnowsTheNamesOfVariantsOnly) {
    EXPECT_EQ(app::photo_of_key("abc_d.jpg"), "abc");
    EXPECT_EQ(app::photo_of_key("abc_640.jpg"), "abc");
    EXPECT_EQ(app::photo_of_key("a_b_1024.jpg"), "a_b");
    EXPECT_EQ(app::photo_of_key("a_640_d.jpg"), "a_640");
    EXPECT_EQ(app::photo_of_key("abc_0640.jpg"), std::nullopt);
    EXPECT_EQ(app::photo_of_key("abc_1234567.jpg"), std::nullopt);
    EXPECT_EQ(app::photo_of_key("abc_64x.jpg"), std::nullopt);
    EXPECT_EQ(app::photo_of_key("abc_.jpg"), std::nullopt);
    EXPECT_EQ(app::photo_of_key("a_b-c_t.jpg"), "a_b-c");  // ids may contain '_' and '-'
    EXPECT_EQ(app::photo_of_key("_d.jpg"), std::nullopt);
    EXPECT_EQ(app::photo_of_key("abc_x.jpg"), std::nullopt);
    EXPECT_EQ(app::photo_of_key("abc.jpg"), std::nullopt);
    EXPECT_EQ(app::photo_of_key("abc_d.jpeg"), std::nullopt);
}

// An original's and a full-size file's names: the photo id, then a secret of 32 hex digits.
TEST(FsckKeys, PrivateKeysBelongToTheirPhotoAndCarryASecret) {
    const std::string id = "a_b-c";
    const auto original = app::original_key(id, "heic");
    EXPECT_TRUE(original.starts_with(id + "_o-")) << original;
    EXPECT_TRUE(original.ends_with(".heic")) << original;
    EXPECT_EQ(original.size(), id.size() + 3 + 32 + 5);
    EXPECT_NE(app::original_key(id, "heic"), original) << "the secret is not random";
    EXPECT_TRUE(blob::valid_key(original));
    const auto full = app::full_size_key(original);
    EXPECT_EQ(full, id + "_f-" + original.substr(id.size() + 3, 32) + ".jpg");
    EXPECT_EQ(app::original_key(id, "jpeg").substr(id.size() + 3 + 32), ".jpg");
    EXPECT_THROW(app::original_key(id, "bmp"), std::invalid_argument);
    EXPECT_EQ(app::full_size_key(""), "");

    EXPECT_EQ(app::photo_of_key(original), id);
    EXPECT_EQ(app::photo_of_key(full), id);
    EXPECT_TRUE(app::private_key(original));
    EXPECT_TRUE(app::private_key(full));
    EXPECT_EQ(app::private_keys(original), (std::vector<std::string>{original, full}));
    EXPECT_TRUE(app::private_keys("").empty());
    // Public names, and names that only look alike, are not private.
    EXPECT_FALSE(app::private_key(id + "_d.jpg"));
    EXPECT_FALSE(app::private_key(id + "_o-0123.jpg"));
    EXPECT_FALSE(app::private_key(id + "_o-" + std::string(32, 'G') + ".jpg"));
    EXPECT_EQ(app::photo_of_key(id + "_o-" + std::string(32, 'a') + ".exe"), std::nullopt);
    EXPECT_EQ(app::photo_of_key(id + "_f-" + std::string(32, 'a') + ".heic"), std::nullopt);
    EXPECT_EQ(app::original_type("heic"), "image/heic");
}

TEST(FsckKeys, GraceIsADuration) {
    EXPECT_EQ(fsck::parse_grace("1h"), 3600s);
    EXPECT_EQ(fsck::parse_grace("15m"), 900s);
    EXPECT_EQ(fsck::parse_grace("0"), 0s);
    EXPECT_THROW(fsck::parse_grace("soon"), config::Error);
}

TEST_F(Fsck, ConsistentStoreIsClean) {
    photo();
    photo();
    auto report = fsck::check(*repo_, *blobs_, later(2h));
    EXPECT_EQ(report.rows, 2u);
    EXPECT_EQ(report.objects, 4u);
    EXPECT_EQ(report.complete_rows, 2u);
    EXPECT_EQ(report.problems(), 0u);
    std::ostringstream out;
    fsck::print(out, report, later(2h));
    EXPECT_NE(out.str().find("clean"), std::string::npos) << out.str();
}

TEST_F(Fsck, OldObjectsWithoutARowAreProblemsAndRepairRemovesThem) {
    const auto kept = photo();
    const auto crashed = photo(true, true, false);  // files written, the process died before the row
    auto report = fsck::check(*repo_, *blobs_, later(2h));
    EXPECT_EQ(report.problems(), 2u);
    EXPECT_EQ(keys_of(report.orphans), (std::vector<std::string>{crashed + "_d.jpg", crashed + "_t.jpg"}));
    ASSERT_TRUE(report.orphans[0].age);
    EXPECT_GT(*report.orphans[0].age, 1h);

    fsck::repair(*repo_, *blobs_, later(2h, true), report);
    EXPECT_EQ(report.objects_removed, 2u);
    EXPECT_EQ(report.rows_removed, 0u);
    EXPECT_EQ(report.remaining(), 0u);
    EXPECT_FALSE(blobs_->exists(crashed + "_d.jpg"));
    EXPECT_TRUE(blobs_->exists(kept + "_d.jpg"));
    EXPECT_EQ(fsck::check(*repo_, *blobs_, later(2h)).problems(), 0u);
}

// The further widths a row names are its files too: missing ones break it, and a width the
// row does not name is an orphan even though its photo exists.
TEST_F(Fsck, VariantWidthsOfARowAreItsFiles) {
    const std::string id = "wide";
    for (const auto& key : app::photo_keys(id, {320, 640})) put(key);
    put(app::variant_key(id, 1024));  // not named by the row
    store::NewPhoto p;
    p.id = id;
    p.user_id = user_id_;
    p.width = 2048;
    p.height = 1536;
    p.thumb_width = 480;
    p.thumb_height = 360;
    p.variant_widths = {320, 640};
    repo_->insert_photos(std::vector<store::NewPhoto>{p});
    auto report = fsck::check(*repo_, *blobs_, later(2h));
    EXPECT_EQ(report.complete_rows, 1u);
    EXPECT_EQ(keys_of(report.orphans), std::vector<std::string>{id + "_1024.jpg"});
    EXPECT_TRUE(report.broken_rows.empty());

    blobs_->remove(app::variant_key(id, 640));
    report = fsck::check(*repo_, *blobs_, later(2h));
    ASSERT_EQ(report.broken_rows.size(), 1u);
    EXPECT_EQ(report.broken_rows[0].missing, std::vector<std::string>{id + "_640.jpg"});
}

// A photo whose AVIF or WebP files went missing is still shown (as JPEG): not removed, but
// its image job is queued again and its row forgets the formats.
TEST_F(Fsck, MissingFurtherFormatsAreMadeAgainNotRemoved) {
    const auto id = photo();
    for (const auto& key : app::photo_keys(id, {}, "avif webp"))
        if (!key.ends_with(".jpg")) put(key);
    ASSERT_TRUE(repo_->requeue_image_job(id, 0));
    ASSERT_TRUE(repo_->finish_image_job(id, "avif webp"));
    EXPECT_EQ(fsck::check(*repo_, *blobs_, later(2h)).problems(), 0u);

    blobs_->remove(app::thumbnail_key(id, "webp"));
    auto report = fsck::check(*repo_, *blobs_, later(2h, true));
    EXPECT_TRUE(report.broken_rows.empty());
    ASSERT_EQ(report.missing_formats.size(), 1u);
    EXPECT_EQ(report.missing_formats[0].missing, std::vector<std::string>{id + "_t.webp"});
    fsck::repair(*repo_, *blobs_, later(2h, true), report);
    EXPECT_EQ(report.jobs_queued, 1u);
    EXPECT_EQ(report.rows_removed, 0u);
    EXPECT_EQ(repo_->find_photo(id)->formats, "");
    EXPECT_EQ(repo_->image_job_counts(5).waiting, 1);
    // Its remaining AVIF/WebP files are now named by no row: old ones are orphans, removed.
    report = fsck::check(*repo_, *blobs_, later(2h));
    EXPECT_EQ(report.orphans.size(), 3u);  // _d.avif, _t.avif, _d.webp
    EXPECT_EQ(report.jobs_waiting, 1);
}

TEST_F(Fsck, YoungObjectsWithoutARowAreUploadsInFlightAndStay) {
    const auto in_flight = photo(true, true, false);
    auto options = later(10s, true);  // written 10 s ago; the grace period is an hour
    auto report = fsck::check(*repo_, *blobs_, options);
    EXPECT_EQ(report.problems(), 0u);
    EXPECT_EQ(report.young_orphans.size(), 2u);
    fsck::repair(*repo_, *blobs_, options, report);
    EXPECT_EQ(report.objects_removed, 0u);
    EXPECT_TRUE(blobs_->exists(in_flight + "_d.jpg"));
    EXPECT_TRUE(blobs_->exists(in_flight + "_t.jpg"));

    // A grace period of 0: nothing is young.
    options.grace = 0s;
    options.grace_explicit = true;
    report = fsck::check(*repo_, *blobs_, options);
    EXPECT_EQ(report.orphans.size(), 2u);
}

TEST_F(Fsck, RowMissingAFileIsRemovedWithItsOtherFile) {
    const auto kept = photo();
    const auto broken = photo(true, false, true);  // the thumbnail is gone
    auto report = fsck::check(*repo_, *blobs_, later(2h));
    ASSERT_EQ(report.broken_rows.size(), 1u);
    EXPECT_EQ(report.broken_rows[0].photo_id, broken);
    EXPECT_EQ(report.broken_rows[0].missing, (std::vector<std::string>{broken + "_t.jpg"}));
    EXPECT_EQ(report.orphans.size(), 0u);

    fsck::repair(*repo_, *blobs_, later(2h, true), report);
    EXPECT_EQ(report.rows_removed, 1u);
    EXPECT_EQ(report.objects_removed, 1u);
    EXPECT_FALSE(repo_->find_photo(broken));
    EXPECT_FALSE(blobs_->exists(broken + "_d.jpg"));
    EXPECT_TRUE(repo_->find_photo(kept));
    EXPECT_EQ(fsck::check(*repo_, *blobs_, later(2h)).problems(), 0u);
}

TEST_F(Fsck, RowWithNoFileAtAllIsRemoved) {
    const auto broken = photo(false, false, true);
    auto report = fsck::check(*repo_, *blobs_, later(0s, true));
    ASSERT_EQ(report.broken_rows.size(), 1u);
    EXPECT_EQ(report.broken_rows[0].missing.size(), 2u);
    fsck::repair(*repo_, *blobs_, later(0s, true), report);
    EXPECT_EQ(report.rows_removed, 1u);
    EXPECT_FALSE(repo_->find_photo(broken));
}

TEST_F(Fsck, KeysThatAreNotPhotoVariantsAreReportedAndNeverRemoved) {
    put("notes.txt");
    auto report = fsck::check(*repo_, *blobs_, later(2h));
    EXPECT_EQ(report.foreign, (std::vector<std::string>{"notes.txt"}));
    EXPECT_EQ(report.problems(), 1u);
    fsck::repair(*repo_, *blobs_, later(2h, true), report);
    EXPECT_TRUE(blobs_->exists("notes.txt"));
    EXPECT_EQ(report.remaining(), 1u);
}

// An object store that does not say how old its objects are: every object without a row is
// a problem, removed only with an explicit --grace 0.
TEST_F(Fsck, ObjectsOfUnknownAgeAreRemovedOnlyWithAnExplicitGraceOfZero) {
    Wrapped s3_like(*blobs_);
    s3_like.hide_local_paths = true;
    const auto orphan = photo(true, true, false);
    auto options = later(0s, true);
    auto report = fsck::check(*repo_, s3_like, options);
    ASSERT_EQ(report.orphans.size(), 2u);
    EXPECT_FALSE(report.orphans[0].age);
    fsck::repair(*repo_, s3_like, options, report);
    EXPECT_EQ(report.objects_removed, 0u);
    EXPECT_EQ(report.remaining(), 2u);
    EXPECT_TRUE(blobs_->exists(orphan + "_d.jpg"));

    options.grace = 0s;
    options.grace_explicit = true;
    report = fsck::check(*repo_, s3_like, options);
    fsck::repair(*repo_, s3_like, options, report);
    EXPECT_EQ(report.objects_removed, 2u);
    EXPECT_EQ(report.remaining(), 0u);
    EXPECT_FALSE(blobs_->exists(orphan + "_d.jpg"));
}

// The site runs while fsck does: an upload commits its row after the row ids were read.
TEST_F(Fsck, AnUploadCommittedDuringTheCheckIsNotAProblem) {
    Wrapped live(*blobs_);
    const auto uploading = photo(true, true, false);
    live.on_list = [&] { insert_row(uploading); };
    auto options = later(2h, true);  // even "old": the row is looked for again
    auto report = fsck::check(*repo_, live, options);
    EXPECT_EQ(report.problems(), 0u) << (report.orphans.empty() ? "" : report.orphans[0].key);
    EXPECT_TRUE(report.young_orphans.empty());
}

// ... and a delete removes a row and then its files between the two reads.
TEST_F(Fsck, APhotoDeletedDuringTheCheckIsNotAProblem) {
    Wrapped live(*blobs_);
    const auto deleting = photo();
    // The row ids are read with the photo; then it is deleted (row, then files) before the
    // objects are listed: its row seems to miss both files, but looked at again it is gone.
    live.on_list = [&] { repo_->delete_photo(deleting, user_id_); };
    blobs_->remove(deleting + "_t.jpg");
    blobs_->remove(deleting + "_d.jpg");
    auto report = fsck::check(*repo_, live, later(2h));
    EXPECT_TRUE(report.broken_rows.empty());
    EXPECT_EQ(report.problems(), 0u);
}

// Between check() and repair(), a row appears for objects found without one: they stay.
TEST_F(Fsck, RepairLooksForTheRowAgainBeforeRemoving) {
    const auto late = photo(true, true, false);
    auto options = later(2h, true);
    auto report = fsck::check(*repo_, *blobs_, options);
    ASSERT_EQ(report.orphans.size(), 2u);
    insert_row(late);
    fsck::repair(*repo_, *blobs_, options, report);
    EXPECT_EQ(report.objects_removed, 0u);
    EXPECT_TRUE(blobs_->exists(late + "_d.jpg"));
    EXPECT_TRUE(blobs_->exists(late + "_t.jpg"));
}

TEST(FsckFeed, RemovingRowsBumpsTheFeedGeneration) {
    auto cache = kv::open("memory://");
    config::Config cfg;
    cfg.cache.url = "memcached://127.0.0.1:1";  // as if shared; the store passed in is used
    cache->set("feed:generation", "1700000000000000000", 0s);
    auto note = fsck::invalidate_feed(cache.get(), cfg);
    EXPECT_EQ(cache->get("feed:generation"), "1700000000000000001") << note;
    EXPECT_NE(note.find("invalidated"), std::string::npos) << note;

    // A counter that had vanished is not recreated from 1.
    cache->erase("feed:generation");
    fsck::invalidate_feed(cache.get(), cfg);
    auto v = cache->get("feed:generation");
    ASSERT_TRUE(v);
    EXPECT_GT(std::stoll(*v), 1'000'000'000'000'000LL);
}

TEST(FsckFeed, InProcessCachesExpireByThemselves) {
    config::Config cfg;  // memory://, 60 s
    auto note = fsck::invalidate_feed(nullptr, cfg);
    EXPECT_NE(note.find("60 s"), std::string::npos) << note;
}

TEST_F(Fsck, RunOpensWhatTheConfigurationNamesAndSaysSoInItsExitStatus) {
    config::Config cfg;
    cfg.server.data_dir = dir_.string();
    cfg.database.url = "sqlite://" + (dir_ / "photoshare.db").string();
    cfg.storage.url = "file://" + (dir_ / "media").string();
    photo();
    std::ostringstream out, err;
    EXPECT_EQ(fsck::run(cfg, later(2h), out, err), 0) << out.str() << err.str();
    EXPECT_NE(out.str().find("1 photo rows, 2 objects"), std::string::npos) << out.str();

    photo(true, false, false);
    out.str("");
    EXPECT_EQ(fsck::run(cfg, later(2h), out, err), 1) << out.str() << err.str();
    EXPECT_NE(out.str().find("objects without a row: 1"), std::string::npos) << out.str();
    EXPECT_NE(out.str().find("--repair"), std::string::npos) << out.str();

    out.str("");
    EXPECT_EQ(fsck::run(cfg, later(2h, true), out, err), 0) << out.str() << err.str();
    EXPECT_NE(out.str().find("removed 0 rows and 1 objects"), std::string::npos) << out.str();

    out.str("");
    cfg.database.url = "sqlite://" + (dir_ / "empty.db").string();
    EXPECT_EQ(fsck::run(cfg, later(2h), out, err), 3);
    EXPECT_NE(err.str().find("no schema"), std::string::npos) << err.str();
}
