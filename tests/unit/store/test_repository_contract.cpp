// The behaviour every database backend must show, written once. A backend joins by
// instantiating RepositoryContract with its Backend (see backend.hpp).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "backend.hpp"

namespace photoshare::store::testing {
namespace {

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

NewPhoto new_photo(std::string id, std::int64_t user_id) {
    return NewPhoto{.id = std::move(id),
                    .user_id = user_id,
                    .width = 1600,
                    .height = 1200,
                    .thumb_width = 400,
                    .thumb_height = 300,
                    .bytes = 123456};
}

std::vector<std::string> ids_of(const std::vector<Photo>& photos) {
    std::vector<std::string> ids;
    for (const Photo& photo : photos) {
        ids.push_back(photo.id);
    }
    return ids;
}

// Collects failures from worker threads: gtest assertions belong on the main thread.
class Failures {
public:
    void add(const std::string& what) {
        std::lock_guard lock(mutex_);
        messages_.push_back(what);
    }
    std::vector<std::string> all() {
        std::lock_guard lock(mutex_);
        return messages_;
    }

private:
    std::mutex mutex_;
    std::vector<std::string> messages_;
};

// ---- photos ----

TEST_P(RepositoryContract, APhotosVariantWidthsComeBackEverywhereItIsRead) {
    auto repo = open_migrated();
    const auto alice = repo->create_user("alice", "h");
    ASSERT_TRUE(alice);
    auto wide = new_photo("wide", alice->id);
    wide.variant_widths = {320, 640, 1024, 1600};
    const auto plain = new_photo("plain", alice->id);  // none: a photo from before schema 4
    const auto stored = repo->insert_photos(std::vector<NewPhoto>{wide, plain});
    ASSERT_EQ(stored.size(), 2u);
    EXPECT_EQ(stored[0].variant_widths, wide.variant_widths);
    EXPECT_EQ(repo->find_photo("wide")->variant_widths, wide.variant_widths);
    EXPECT_TRUE(repo->find_photo("plain")->variant_widths.empty());
    const auto latest = repo->latest_photos(std::nullopt, 10);
    ASSERT_EQ(latest.size(), 2u);
    EXPECT_EQ(latest[1].variant_widths, wide.variant_widths);
    const auto files = repo->all_photo_files();
    ASSERT_EQ(files.size(), 2u);
    EXPECT_EQ(files[0].id, "wide");
    EXPECT_EQ(files[0].variant_widths, wide.variant_widths);
    EXPECT_TRUE(files[1].variant_widths.empty());
}

// The original's description: a name of any UTF-8 and sizes, back as stored wherever the
// photo is read; none for a photo without (schema 6's defaults).
TEST_P(RepositoryContract, APhotosOriginalComesBackEverywhereItIsRead) {
    auto repo = open_migrated();
    const auto alice = repo->create_user("alice", "h");
    ASSERT_TRUE(alice);
    auto kept = new_photo("kept", alice->id);
    kept.original = Original{.key = "kept_o-0123456789abcdef0123456789abcdef.heic",
                             .type = "image/heic",
                             .name = "Été \"à\" Québec 📷.HEIC",
                             .bytes = 31'234'567,
                             .width = 4032,
                             .height = 3024};
    const auto none = new_photo("none", alice->id);
    const auto stored = repo->insert_photos(std::vector<NewPhoto>{kept, none});
    ASSERT_EQ(stored.size(), 2u);
    auto same = [](const Original& a, const Original& b) {
        return a.key == b.key && a.type == b.type && a.name == b.name && a.bytes == b.bytes && a.width == b.width && a.height == b.height;
    };
    EXPECT_TRUE(same(stored[0].original, kept.original));
    EXPECT_TRUE(same(repo->find_photo("kept")->original, kept.original));
    EXPECT_TRUE(same(repo->latest_photos(std::nullopt, 10).at(1).original, kept.original));
    EXPECT_TRUE(same(repo->find_photo("none")->original, Original{}));
    const auto files = repo->all_photo_files();
    ASSERT_EQ(files.size(), 2u);
    EXPECT_EQ(files[0].original_key, kept.original.key);
    EXPECT_EQ(files[1].original_key, "");
}

// Image jobs: queued with the photo, taken by one caller at a time for a lease, retried,
// given up after max_attempts, finished with the photo's formats, gone with the photo.
TEST_P(RepositoryContract, ImageJobsAreQueuedLeasedRetriedAndFinished) {
    auto repo = open_migrated();
    const auto alice = repo->create_user("alice", "h");
    ASSERT_TRUE(alice);
    auto queued = new_photo("queued", alice->id);
    queued.queue_formats = true;
    const auto deleted = [&] {
        auto p = new_photo("deleted", alice->id);
        p.queue_formats = true;
        return p;
    }();
    repo->insert_photos(std::vector<NewPhoto>{queued, new_photo("plain", alice->id), deleted});
    const std::int64_t now = now_seconds() + 10;  // the jobs were queued before
    EXPECT_EQ(repo->image_job_counts(3).waiting, 2);

    ASSERT_TRUE(repo->delete_photo("deleted", alice->id));  // its job goes with it
    EXPECT_EQ(repo->image_job_counts(3).waiting, 1);

    const auto job = repo->claim_image_job(now, now + 100, 3);
    ASSERT_TRUE(job);
    EXPECT_EQ(job->photo_id, "queued");
    EXPECT_EQ(job->attempts, 1);
    EXPECT_FALSE(repo->claim_image_job(now, now + 100, 3)) << "leased to the first caller";
    const auto again = repo->claim_image_job(now + 100, now + 200, 3);  // the lease ran out
    ASSERT_TRUE(again);
    EXPECT_EQ(again->attempts, 2);

    repo->retry_image_job("queued", now + 300, "it failed");
    EXPECT_FALSE(repo->claim_image_job(now + 299, now + 400, 3));
    const auto third = repo->claim_image_job(now + 300, now + 400, 3);
    ASSERT_TRUE(third);
    EXPECT_EQ(third->attempts, 3);
    repo->retry_image_job("queued", now + 400, "failed again");
    EXPECT_FALSE(repo->claim_image_job(now + 1000, now + 2000, 3)) << "given up after 3 attempts";
    EXPECT_EQ(repo->image_job_counts(3).failed, 1);
    EXPECT_EQ(repo->image_job_counts(3).waiting, 0);

    ASSERT_TRUE(repo->requeue_image_job("queued", now));
    EXPECT_EQ(repo->image_job_counts(3).waiting, 1);
    const auto fresh = repo->claim_image_job(now, now + 100, 3);
    ASSERT_TRUE(fresh);
    EXPECT_EQ(fresh->attempts, 1);
    EXPECT_TRUE(repo->finish_image_job("queued", "avif webp"));
    EXPECT_EQ(repo->find_photo("queued")->formats, "avif webp");
    EXPECT_EQ(repo->find_photo("plain")->formats, "");
    EXPECT_EQ(repo->all_photo_files().at(0).formats, "avif webp");
    EXPECT_EQ(repo->image_job_counts(3).waiting + repo->image_job_counts(3).failed, 0);
    EXPECT_FALSE(repo->finish_image_job("deleted", "avif webp")) << "the photo is gone";
    EXPECT_FALSE(repo->requeue_image_job("deleted", now));
}

// ---- users ----

TEST_P(RepositoryContract, CreatesAndFindsAUser) {
    auto repo = open_migrated();
    const std::int64_t before = now_seconds();
    const auto created = repo->create_user("Alice", "hash-a");
    ASSERT_TRUE(created.has_value());
    EXPECT_GT(created->id, 0);
    EXPECT_EQ(created->username, "Alice");
    EXPECT_EQ(created->password_hash, "hash-a");
    EXPECT_GE(created->created_at, before);
    EXPECT_LE(created->created_at, now_seconds());

    const auto found = repo->find_user("Alice");
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->id, created->id);
    EXPECT_EQ(found->username, "Alice");
    EXPECT_EQ(found->password_hash, "hash-a");
    EXPECT_EQ(found->created_at, created->created_at);

    EXPECT_FALSE(repo->find_user("bob").has_value());
}

TEST_P(RepositoryContract, ASharedSecretIsTheFirstOneStoredForEveryCaller) {
    auto repo = open_migrated();
    EXPECT_EQ(repo->shared_secret("visitor_csrf", "first"), "first");
    EXPECT_EQ(repo->shared_secret("visitor_csrf", "second"), "first") << "a later candidate must not replace it";
    EXPECT_EQ(repo->shared_secret("other", "x"), "x") << "each name has its own";
    auto another_server = open_migrated();  // the same database, as a second server opens it
    EXPECT_EQ(another_server->shared_secret("visitor_csrf", "third"), "first");
}

TEST_P(RepositoryContract, UsernamesAreUniqueRegardlessOfCase) {
    auto repo = open_migrated();
    const auto alice = repo->create_user("Alice", "hash-a");
    ASSERT_TRUE(alice.has_value());
    EXPECT_FALSE(repo->create_user("Alice", "hash-b").has_value());
    EXPECT_FALSE(repo->create_user("alice", "hash-b").has_value());
    EXPECT_FALSE(repo->create_user("ALICE", "hash-b").has_value());

    // Lookup ignores case and returns the spelling the user chose.
    const auto found = repo->find_user("aLiCe");
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->id, alice->id);
    EXPECT_EQ(found->username, "Alice");
    EXPECT_EQ(found->password_hash, "hash-a");

    const auto bob = repo->create_user("bob", "hash-c");
    ASSERT_TRUE(bob.has_value());
    EXPECT_NE(bob->id, alice->id);
}

TEST_P(RepositoryContract, StoresHostileUsernamesVerbatim) {
    auto repo = open_migrated();
    const std::vector<std::string> names{
        "Robert'); DROP TABLE users;--",
        "x' OR '1'='1",
        "\" OR 1=1 --",
        "a?b?c",
        "$1 $2",
        "%_\\",
        "line\nbreak\ttab",
        std::string("nul\0inside", 10),
        "\xc3\xa9l\xc3\xa8ve \xe2\x9c\x93",  // UTF-8
    };
    for (const std::string& name : names) {
        const auto created = repo->create_user(name, "hash:" + name);
        ASSERT_TRUE(created.has_value()) << name;
    }
    for (const std::string& name : names) {
        const auto found = repo->find_user(name);
        ASSERT_TRUE(found.has_value()) << name;
        EXPECT_EQ(found->username, name);
        EXPECT_EQ(found->password_hash, "hash:" + name);
    }
    // A LIKE pattern is not a wildcard.
    EXPECT_FALSE(repo->find_user("%").has_value());
    // Nothing was dropped on the way.
    EXPECT_TRUE(repo->create_user("after", "h").has_value());
    EXPECT_TRUE(repo->find_user("after").has_value());
}

// The repository stores bytes. Only ASCII letters fold for uniqueness; everything else is
// compared exactly, byte for byte, on every backend (no collation, no normalisation, no
// trimming), so the application's own username rules decide what is allowed.
TEST_P(RepositoryContract, UsernamesAreBytesFoldedOnlyForAsciiLetters) {
    auto repo = open_migrated();
    const std::string e_acute = "\xc3\xa9";        // U+00E9, precomposed
    const std::string e_combining = "e\xcc\x81";   // e + U+0301
    const std::vector<std::string> distinct{
        "\xc3\x89l\xc3\xa8ve",        // Élève
        "\xc3\xa9l\xc3\xa8ve",        // élève: only ASCII letters fold
        "caf" + e_acute,
        "caf" + e_combining,           // the same text to a human, other bytes
        "stra\u00dfe",                 // straße (U+00DF, UTF-8 C3 9F)
        "STRASSE",
        "alice",
        "alice ",                      // trailing space is significant
        " alice",
        "\xf0\x9f\x99\x82",             // a 4-byte UTF-8 emoji
        "\xff\xfe not UTF-8 \x80",     // not text at all
    };
    for (const std::string& name : distinct) {
        const auto created = repo->create_user(name, "h:" + name);
        ASSERT_TRUE(created.has_value()) << "could not create [" << name << "]";
    }
    for (const std::string& name : distinct) {
        const auto found = repo->find_user(name);
        ASSERT_TRUE(found.has_value()) << name;
        EXPECT_EQ(found->username, name);
        EXPECT_EQ(found->password_hash, "h:" + name);
    }
    // ASCII letters inside a non-ASCII name still fold; the rest must match exactly.
    EXPECT_FALSE(repo->create_user("\xc3\xa9L\xc3\xa8VE", "h").has_value());  // élève with L, V, E upper
    const auto folded = repo->find_user("CAF" + e_acute);
    ASSERT_TRUE(folded.has_value());
    EXPECT_EQ(folded->username, "caf" + e_acute);
    EXPECT_FALSE(repo->find_user("\xc3\x89L\xc3\x88VE").has_value());  // ÉLÈVE: É, È do not fold
    EXPECT_FALSE(repo->find_user("alice  ").has_value());
    EXPECT_FALSE(repo->find_user("\xff\xfe not UTF-8").has_value());
}

// Every column, not just the username, takes any bytes and gives them back unchanged.
TEST_P(RepositoryContract, StoresHostileValuesInEveryColumnVerbatim) {
    auto repo = open_migrated();
    const std::vector<std::string> hostile{
        "x'); DROP TABLE photos; --",
        "'; DELETE FROM users WHERE '1'='1",
        "\\'\\\"`",
        "?", "$1", "%s%n", "' || pg_sleep(5) || '", "' AND SLEEP(5) AND '",
        std::string("a\0b", 3),
        "\xff\xfe",
    };
    int n = 0;
    for (const std::string& value : hostile) {
        const std::string tag = std::to_string(n++);
        const auto user = repo->create_user("u" + tag + value, value);
        ASSERT_TRUE(user.has_value()) << tag;
        EXPECT_EQ(repo->find_user("u" + tag + value)->password_hash, value) << tag;

        const auto stored = repo->insert_photos(std::vector<NewPhoto>{new_photo("p" + tag + value, user->id)});
        ASSERT_EQ(stored.size(), 1u);
        const auto photo = repo->find_photo("p" + tag + value);
        ASSERT_TRUE(photo.has_value()) << tag;
        EXPECT_EQ(photo->id, "p" + tag + value);
        EXPECT_EQ(photo->username, "u" + tag + value);

        repo->put_session(Session{.id_hash = "s" + tag + value, .user_id = user->id, .username = "u" + tag + value,
                                  .csrf_token = value, .expires_at = 4'000'000'000});
        const auto session = repo->find_session("s" + tag + value, 1);
        ASSERT_TRUE(session.has_value()) << tag;
        EXPECT_EQ(session->csrf_token, value);
        EXPECT_EQ(session->username, "u" + tag + value);

        EXPECT_FALSE(repo->delete_photo("p" + tag + value, user->id + 1000));
    }
    EXPECT_EQ(repo->all_photo_ids().size(), hostile.size());
    EXPECT_EQ(repo->latest_photos(std::nullopt, 100).size(), hostile.size());
    for (std::size_t i = 0; i < hostile.size(); ++i) {
        const std::string tag = std::to_string(i);
        repo->delete_session("s" + tag + hostile[i]);
        EXPECT_FALSE(repo->find_session("s" + tag + hostile[i], 1).has_value()) << tag;
    }
}

// ---- photos ----

TEST_P(RepositoryContract, InsertsABatchWithIncreasingSeq) {
    auto repo = open_migrated();
    const auto alice = repo->create_user("alice", "h").value();
    const std::vector<NewPhoto> batch{new_photo("p1", alice.id), new_photo("p2", alice.id),
                                      new_photo("p3", alice.id)};
    const std::int64_t before = now_seconds();
    const auto stored = repo->insert_photos(batch);
    ASSERT_EQ(stored.size(), 3u);
    for (std::size_t i = 0; i < stored.size(); ++i) {
        EXPECT_EQ(stored[i].id, batch[i].id);
        EXPECT_EQ(stored[i].user_id, alice.id);
        EXPECT_EQ(stored[i].username, "alice");
        EXPECT_EQ(stored[i].width, 1600);
        EXPECT_EQ(stored[i].height, 1200);
        EXPECT_EQ(stored[i].thumb_width, 400);
        EXPECT_EQ(stored[i].thumb_height, 300);
        EXPECT_EQ(stored[i].bytes, 123456);
        EXPECT_GE(stored[i].created_at, before);
        EXPECT_LE(stored[i].created_at, now_seconds());
        if (i > 0) {
            EXPECT_GT(stored[i].seq, stored[i - 1].seq);
        }
    }
    const auto more = repo->insert_photos(std::vector<NewPhoto>{new_photo("p4", alice.id)});
    ASSERT_EQ(more.size(), 1u);
    EXPECT_GT(more[0].seq, stored.back().seq);

    EXPECT_TRUE(repo->insert_photos({}).empty());
}

TEST_P(RepositoryContract, ListsNewestFirstAndPagesBack) {
    auto repo = open_migrated();
    const auto alice = repo->create_user("alice", "h").value();
    const auto bob = repo->create_user("Bob", "h").value();
    repo->insert_photos(std::vector<NewPhoto>{new_photo("p1", alice.id), new_photo("p2", bob.id)});
    repo->insert_photos(std::vector<NewPhoto>{new_photo("p3", alice.id)});
    repo->insert_photos(std::vector<NewPhoto>{new_photo("p4", bob.id), new_photo("p5", alice.id)});

    const auto all = repo->latest_photos(std::nullopt, 100);
    EXPECT_EQ(ids_of(all), (std::vector<std::string>{"p5", "p4", "p3", "p2", "p1"}));
    ASSERT_EQ(all.size(), 5u);
    EXPECT_EQ(all[1].username, "Bob");
    EXPECT_EQ(all[1].user_id, bob.id);

    const auto page1 = repo->latest_photos(std::nullopt, 2);
    EXPECT_EQ(ids_of(page1), (std::vector<std::string>{"p5", "p4"}));
    const auto page2 = repo->latest_photos(page1.back().seq, 2);
    EXPECT_EQ(ids_of(page2), (std::vector<std::string>{"p3", "p2"}));
    const auto page3 = repo->latest_photos(page2.back().seq, 2);
    EXPECT_EQ(ids_of(page3), (std::vector<std::string>{"p1"}));
    EXPECT_TRUE(repo->latest_photos(page3.back().seq, 2).empty());

    EXPECT_TRUE(repo->latest_photos(std::nullopt, 0).empty());
    EXPECT_EQ(repo->latest_photos(std::nullopt, 1).size(), 1u);
    EXPECT_THROW(repo->latest_photos(std::nullopt, -1), std::invalid_argument);
}

TEST_P(RepositoryContract, PagesOneUsersPhotosAndStepsBackTowardsTheNewest) {
    auto repo = open_migrated();
    const auto alice = repo->create_user("alice", "h").value();
    const auto bob = repo->create_user("bob", "h").value();
    std::vector<NewPhoto> batch;
    for (int i = 1; i <= 7; ++i) batch.push_back(new_photo("p" + std::to_string(i), i % 2 == 1 ? alice.id : bob.id));
    const auto stored = repo->insert_photos(batch);  // alice: p1 p3 p5 p7, bob: p2 p4 p6
    const auto seq = [&](int i) { return stored.at(static_cast<std::size_t>(i - 1)).seq; };

    EXPECT_EQ(ids_of(repo->photos({.user_id = alice.id, .limit = 10})), (std::vector<std::string>{"p7", "p5", "p3", "p1"}));
    EXPECT_EQ(ids_of(repo->photos({.user_id = bob.id, .limit = 2})), (std::vector<std::string>{"p6", "p4"}));
    EXPECT_EQ(ids_of(repo->photos({.user_id = bob.id, .before = seq(4), .limit = 2})), (std::vector<std::string>{"p2"}));
    EXPECT_TRUE(repo->photos({.user_id = bob.id + alice.id + 100, .limit = 5}).empty());

    // `after`: the `limit` nearest above the cursor, still newest first.
    EXPECT_EQ(ids_of(repo->photos({.after = seq(2), .limit = 2})), (std::vector<std::string>{"p4", "p3"}));
    EXPECT_EQ(ids_of(repo->photos({.after = seq(5), .limit = 10})), (std::vector<std::string>{"p7", "p6"}));
    EXPECT_EQ(ids_of(repo->photos({.user_id = alice.id, .after = seq(1), .limit = 2})), (std::vector<std::string>{"p5", "p3"}));
    EXPECT_TRUE(repo->photos({.after = seq(7), .limit = 3}).empty());
    // Neighbours of a photo, as its page links them.
    EXPECT_EQ(ids_of(repo->photos({.user_id = alice.id, .after = seq(3), .limit = 1})), (std::vector<std::string>{"p5"}));
    EXPECT_EQ(ids_of(repo->photos({.user_id = alice.id, .before = seq(3), .limit = 1})), (std::vector<std::string>{"p1"}));

    EXPECT_THROW(repo->photos({.before = seq(3), .after = seq(1), .limit = 1}), std::invalid_argument);
    EXPECT_THROW(repo->photos({.after = seq(1), .limit = -1}), std::invalid_argument);
}

TEST_P(RepositoryContract, ACaptionIsStoredReadEverywhereAndChangedOnlyByTheOwner) {
    auto repo = open_migrated();
    const auto alice = repo->create_user("alice", "h").value();
    const auto bob = repo->create_user("bob", "h").value();
    auto photo = new_photo("cap", alice.id);
    photo.caption = "Sunset at the pier\nwith <b>friends</b> & 'family' \xf0\x9f\x8c\x85";
    const auto stored = repo->insert_photos(std::vector<NewPhoto>{photo, new_photo("plain", alice.id)});
    EXPECT_EQ(stored.at(0).caption, photo.caption);
    EXPECT_EQ(repo->find_photo("cap")->caption, photo.caption);
    EXPECT_EQ(repo->latest_photos(std::nullopt, 10).at(1).caption, photo.caption);
    EXPECT_EQ(repo->find_photo("plain")->caption, "");

    EXPECT_FALSE(repo->set_caption("cap", bob.id, "mine now"));
    EXPECT_FALSE(repo->set_caption("nope", alice.id, "x"));
    EXPECT_EQ(repo->find_photo("cap")->caption, photo.caption);
    EXPECT_TRUE(repo->set_caption("cap", alice.id, "new words"));
    EXPECT_TRUE(repo->set_caption("cap", alice.id, "new words")) << "the same caption again is still the owner's change";
    EXPECT_EQ(repo->photos({.user_id = alice.id, .limit = 5}).at(1).caption, "new words");
    const std::string longest(8000, 'x');  // 2000 characters of 4 bytes each fit
    EXPECT_TRUE(repo->set_caption("cap", alice.id, longest));
    EXPECT_EQ(repo->find_photo("cap")->caption, longest);
    EXPECT_TRUE(repo->set_caption("cap", alice.id, ""));
    EXPECT_EQ(repo->find_photo("cap")->caption, "");
}

TEST_P(RepositoryContract, FindsAPhotoById) {
    auto repo = open_migrated();
    const auto alice = repo->create_user("Alice", "h").value();
    const auto stored = repo->insert_photos(std::vector<NewPhoto>{new_photo("abc_-123", alice.id)});
    const auto found = repo->find_photo("abc_-123");
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->seq, stored[0].seq);
    EXPECT_EQ(found->username, "Alice");
    EXPECT_EQ(found->created_at, stored[0].created_at);
    EXPECT_EQ(found->bytes, 123456);
    EXPECT_FALSE(repo->find_photo("nope").has_value());
    EXPECT_FALSE(repo->find_photo("abc_-123' OR '1'='1").has_value());
}

TEST_P(RepositoryContract, DeletesOnlyTheOwnersPhoto) {
    auto repo = open_migrated();
    const auto alice = repo->create_user("alice", "h").value();
    const auto bob = repo->create_user("bob", "h").value();
    repo->insert_photos(std::vector<NewPhoto>{new_photo("a1", alice.id), new_photo("a2", alice.id)});

    EXPECT_FALSE(repo->delete_photo("a1", bob.id));
    EXPECT_TRUE(repo->find_photo("a1").has_value());
    EXPECT_TRUE(repo->delete_photo("a1", alice.id));
    EXPECT_FALSE(repo->find_photo("a1").has_value());
    EXPECT_FALSE(repo->delete_photo("a1", alice.id));
    EXPECT_FALSE(repo->delete_photo("missing", alice.id));
    EXPECT_EQ(repo->all_photo_ids(), std::vector<std::string>{"a2"});
}

TEST_P(RepositoryContract, SeqKeepsGrowingAfterADelete) {
    auto repo = open_migrated();
    const auto alice = repo->create_user("alice", "h").value();
    const auto first = repo->insert_photos(std::vector<NewPhoto>{new_photo("a1", alice.id)});
    ASSERT_TRUE(repo->delete_photo("a1", alice.id));
    const auto second = repo->insert_photos(std::vector<NewPhoto>{new_photo("a2", alice.id)});
    // A reused seq would make an old cursor skip or repeat photos.
    EXPECT_GT(second[0].seq, first[0].seq);
}

TEST_P(RepositoryContract, ListsAllPhotoIds) {
    auto repo = open_migrated();
    EXPECT_TRUE(repo->all_photo_ids().empty());
    const auto alice = repo->create_user("alice", "h").value();
    const auto bob = repo->create_user("bob", "h").value();
    repo->insert_photos(std::vector<NewPhoto>{new_photo("x", alice.id), new_photo("y", bob.id)});
    repo->insert_photos(std::vector<NewPhoto>{new_photo("z", alice.id)});
    auto ids = repo->all_photo_ids();
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, (std::vector<std::string>{"x", "y", "z"}));
}

TEST_P(RepositoryContract, ABatchWithADuplicateIdInsertsNothing) {
    auto repo = open_migrated();
    const auto alice = repo->create_user("alice", "h").value();
    const std::vector<NewPhoto> batch{new_photo("p1", alice.id), new_photo("p2", alice.id),
                                      new_photo("p1", alice.id)};
    EXPECT_THROW(repo->insert_photos(batch), std::invalid_argument);
    EXPECT_TRUE(repo->all_photo_ids().empty());
    EXPECT_TRUE(repo->latest_photos(std::nullopt, 10).empty());

    // Nor does one clashing with a stored photo, and the stored one is untouched.
    repo->insert_photos(std::vector<NewPhoto>{new_photo("kept", alice.id)});
    EXPECT_THROW(repo->insert_photos(std::vector<NewPhoto>{new_photo("fresh", alice.id), new_photo("kept", alice.id)}),
                 std::invalid_argument);
    EXPECT_EQ(repo->all_photo_ids(), std::vector<std::string>{"kept"});

    // The connection that saw the failure is fine for the next caller.
    EXPECT_EQ(repo->insert_photos(std::vector<NewPhoto>{new_photo("fresh", alice.id)}).size(), 1u);
}

TEST_P(RepositoryContract, AnUploadKeyStoresNothingTwice) {
    auto repo = open_migrated();
    const auto alice = repo->create_user("alice", "h").value();
    const auto bob = repo->create_user("bob", "h").value();
    const UploadKey key{alice.id, "retry-me-1"};
    EXPECT_FALSE(repo->find_upload_key(key).has_value());

    const std::vector<NewPhoto> first{new_photo("a1", alice.id), new_photo("a2", alice.id)};
    const auto stored = repo->insert_photos(first, &key);
    ASSERT_EQ(stored.size(), 2u);
    EXPECT_EQ(repo->find_upload_key(key), (std::vector<std::string>{"a1", "a2"}));

    // The retry brings new ids (new files); the key refuses it and nothing is added.
    const std::vector<NewPhoto> retry{new_photo("b1", alice.id), new_photo("b2", alice.id)};
    EXPECT_THROW(repo->insert_photos(retry, &key), DuplicateUploadKey);
    EXPECT_EQ(repo->all_photo_ids(), (std::vector<std::string>{"a1", "a2"}));

    // Keys belong to a user: bob may use the same string.
    const UploadKey bobs{bob.id, "retry-me-1"};
    EXPECT_EQ(repo->insert_photos(std::vector<NewPhoto>{new_photo("c1", bob.id)}, &bobs).size(), 1u);
    EXPECT_EQ(repo->find_upload_key(bobs), std::vector<std::string>{"c1"});

    // Hostile key text is stored verbatim.
    const UploadKey odd{alice.id, "'; DROP TABLE photos; -- \xE2\x98\x83"};
    repo->insert_photos(std::vector<NewPhoto>{new_photo("d1", alice.id)}, &odd);
    EXPECT_EQ(repo->find_upload_key(odd), std::vector<std::string>{"d1"});

    // Old keys are forgotten.
    EXPECT_EQ(repo->purge_upload_keys(now_seconds() - 3600), 0);
    EXPECT_EQ(repo->purge_upload_keys(now_seconds() + 1), 3);
    EXPECT_FALSE(repo->find_upload_key(key).has_value());
}

TEST_P(RepositoryContract, ConcurrentUploadsWithOneKeyStoreOnce) {
    auto repo = open_migrated();
    const auto alice = repo->create_user("alice", "h").value();
    const UploadKey key{alice.id, "same-key"};
    std::atomic<int> stored{0}, refused{0};
    Failures failures;
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
        threads.emplace_back([&, t] {
            try {
                repo->insert_photos(std::vector<NewPhoto>{new_photo("t" + std::to_string(t), alice.id)}, &key);
                ++stored;
            } catch (const DuplicateUploadKey&) {
                ++refused;
            } catch (const std::exception& e) {
                failures.add(e.what());
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_TRUE(failures.all().empty()) << failures.all().front();
    EXPECT_EQ(stored.load(), 1);
    EXPECT_EQ(refused.load(), 5);
    EXPECT_EQ(repo->all_photo_ids().size(), 1u);
}

TEST_P(RepositoryContract, ABatchForAnUnknownUserInsertsNothing) {
    auto repo = open_migrated();
    const auto alice = repo->create_user("alice", "h").value();
    EXPECT_THROW(repo->insert_photos(std::vector<NewPhoto>{new_photo("p1", alice.id), new_photo("p2", alice.id + 99)}),
                 std::invalid_argument);
    EXPECT_TRUE(repo->all_photo_ids().empty());
}

// ---- sessions ----

TEST_P(RepositoryContract, StoresFindsAndDeletesSessions) {
    auto repo = open_migrated();
    const auto alice = repo->create_user("Alice", "h").value();
    const std::int64_t now = 1'700'000'000;
    const Session session{.id_hash = "hash1", .user_id = alice.id, .username = "Alice",
                          .csrf_token = "csrf1", .expires_at = now + 3600};
    repo->put_session(session);

    const auto found = repo->find_session("hash1", now);
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->id_hash, "hash1");
    EXPECT_EQ(found->user_id, alice.id);
    EXPECT_EQ(found->username, "Alice");
    EXPECT_EQ(found->csrf_token, "csrf1");
    EXPECT_EQ(found->expires_at, now + 3600);
    EXPECT_FALSE(repo->find_session("hash2", now).has_value());

    // Putting again replaces (a renewed expiry, a rotated CSRF token).
    Session renewed = session;
    renewed.csrf_token = "csrf2";
    renewed.expires_at = now + 7200;
    repo->put_session(renewed);
    const auto refound = repo->find_session("hash1", now + 5000);
    ASSERT_TRUE(refound.has_value());
    EXPECT_EQ(refound->csrf_token, "csrf2");

    repo->delete_session("hash1");
    EXPECT_FALSE(repo->find_session("hash1", now).has_value());
    repo->delete_session("hash1");  // deleting twice is fine
}

TEST_P(RepositoryContract, ExpiredSessionsAreNotFoundAndPurged) {
    auto repo = open_migrated();
    const auto alice = repo->create_user("alice", "h").value();
    const std::int64_t now = 1'700'000'000;
    for (int i = 0; i < 5; ++i) {
        repo->put_session(Session{.id_hash = "s" + std::to_string(i), .user_id = alice.id, .username = "alice",
                                  .csrf_token = "c", .expires_at = now - 2 + i});
    }
    // s0, s1 expired; s2 expires exactly now, which counts as expired.
    EXPECT_FALSE(repo->find_session("s0", now).has_value());
    EXPECT_FALSE(repo->find_session("s2", now).has_value());
    EXPECT_TRUE(repo->find_session("s3", now).has_value());

    EXPECT_EQ(repo->purge_expired_sessions(now), 3);
    EXPECT_EQ(repo->purge_expired_sessions(now), 0);
    // Purged rows are gone even for a caller whose clock is behind.
    EXPECT_FALSE(repo->find_session("s0", now - 100).has_value());
    EXPECT_TRUE(repo->find_session("s3", now - 100).has_value());
    EXPECT_TRUE(repo->find_session("s4", now).has_value());
}

// The I/O thread's shortcut: answered at once only where nothing can wait on a network (an
// SQLite file with an idle connection), and then exactly as find_session answers.
TEST_P(RepositoryContract, FindSessionAtOnceAnswersLikeFindSessionOrNotAtAll) {
    auto repo = open_migrated();
    const auto alice = repo->create_user("alice", "h").value();
    const std::int64_t now = 1'700'000'000;
    repo->put_session(Session{.id_hash = "live", .user_id = alice.id, .username = "alice",
                              .csrf_token = "c1", .expires_at = now + 60});
    repo->put_session(Session{.id_hash = "old", .user_id = alice.id, .username = "alice",
                              .csrf_token = "c2", .expires_at = now});
    const bool local = GetParam().name == "sqlite";
    for (const char* id : {"live", "old", "missing"}) {
        SCOPED_TRACE(id);
        std::optional<Session> at_once{Session{.id_hash = "untouched"}};
        ASSERT_EQ(repo->find_session_at_once(id, now, at_once), local);
        if (!local) {
            EXPECT_EQ(at_once->id_hash, "untouched");  // did nothing
            continue;
        }
        const auto found = repo->find_session(id, now);
        ASSERT_EQ(at_once.has_value(), found.has_value());
        if (found) {
            EXPECT_EQ(at_once->id_hash, found->id_hash);
            EXPECT_EQ(at_once->user_id, found->user_id);
            EXPECT_EQ(at_once->username, found->username);
            EXPECT_EQ(at_once->csrf_token, found->csrf_token);
            EXPECT_EQ(at_once->expires_at, found->expires_at);
        }
    }
}

TEST_P(RepositoryContract, ASessionForAnUnknownUserIsRejected) {
    auto repo = open_migrated();
    EXPECT_THROW(repo->put_session(Session{.id_hash = "x", .user_id = 4242, .username = "ghost",
                                           .csrf_token = "c", .expires_at = 1}),
                 std::invalid_argument);
}

// ---- migrations ----

TEST_P(RepositoryContract, MigratesOnceAndIsIdempotent) {
    auto repo = open(url(), {});
    EXPECT_EQ(repo->schema_version(), 0);
    repo->migrate();
    const int version = repo->schema_version();
    EXPECT_GE(version, 1);
    ASSERT_TRUE(repo->create_user("alice", "h").has_value());
    repo->migrate();
    EXPECT_EQ(repo->schema_version(), version);
    // Migrating again kept the data.
    EXPECT_TRUE(repo->find_user("alice").has_value());

    // So does a second server starting on the same database.
    auto other = open(url(), {});
    other->migrate();
    EXPECT_EQ(other->schema_version(), version);
    EXPECT_TRUE(other->find_user("alice").has_value());
}

TEST_P(RepositoryContract, MigratesFromSeveralThreadsAtOnce) {
    constexpr int servers = 8;
    std::vector<std::unique_ptr<Repository>> repos;
    for (int i = 0; i < servers; ++i) {
        repos.push_back(open(url(), {}));
    }
    Failures failures;
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (auto& repo : repos) {
        threads.emplace_back([&, r = repo.get()] {
            ready.fetch_add(1);
            while (ready.load() < servers) {
                std::this_thread::yield();
            }
            try {
                r->migrate();
            } catch (const std::exception& e) {
                failures.add(e.what());
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    EXPECT_EQ(failures.all(), std::vector<std::string>{});
    const int version = repos[0]->schema_version();
    EXPECT_GE(version, 1);
    for (auto& repo : repos) {
        EXPECT_EQ(repo->schema_version(), version);
    }
    EXPECT_TRUE(repos[3]->create_user("alice", "h").has_value());
    EXPECT_TRUE(repos[5]->find_user("alice").has_value());
}

TEST_P(RepositoryContract, MigratesFromSeveralProcessesAtOnce) {
    constexpr int processes = 6;
    // Children wait on this pipe; closing it releases them all at the same moment.
    int gate[2];
    ASSERT_EQ(pipe(gate), 0);
    const std::string database = url();
    std::vector<pid_t> children;
    for (int i = 0; i < processes; ++i) {
        const pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            close(gate[1]);
            char byte;
            (void)!read(gate[0], &byte, 1);
            int status = 0;
            try {
                auto repo = open(database, {});
                repo->migrate();
                if (!repo->create_user("user" + std::to_string(i), "h")) {
                    status = 2;
                }
            } catch (const std::exception& e) {
                (void)std::fprintf(stderr, "child %d: %s\n", i, e.what());  // the exit status tells the parent
                status = 1;
            }
            _exit(status);
        }
        children.push_back(pid);
    }
    close(gate[0]);
    close(gate[1]);
    for (const pid_t pid : children) {
        int status = 0;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
    }
    auto repo = open(url(), {});
    EXPECT_GE(repo->schema_version(), 1);
    for (int i = 0; i < processes; ++i) {
        EXPECT_TRUE(repo->find_user("user" + std::to_string(i)).has_value()) << i;
    }
}

// ---- concurrency and availability ----

TEST_P(RepositoryContract, EightConcurrentWritersAllSucceed) {
    auto repo = open_migrated();
    constexpr int writers = 8;
    constexpr int rounds = 15;
    Failures failures;
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w) {
        threads.emplace_back([&, w] {
            try {
                const auto user = repo->create_user("writer" + std::to_string(w), "h");
                if (!user) {
                    failures.add("create_user returned nullopt");
                    return;
                }
                for (int r = 0; r < rounds; ++r) {
                    const std::string id = "w" + std::to_string(w) + "r" + std::to_string(r);
                    const auto stored = repo->insert_photos(
                        std::vector<NewPhoto>{new_photo(id + "a", user->id), new_photo(id + "b", user->id)});
                    if (stored.size() != 2) {
                        failures.add("short batch");
                    }
                    repo->put_session(Session{.id_hash = id, .user_id = user->id, .username = user->username,
                                              .csrf_token = "c", .expires_at = now_seconds() + 60});
                    if (!repo->find_session(id, now_seconds())) {
                        failures.add("session not found: " + id);
                    }
                    repo->latest_photos(std::nullopt, 10);
                }
            } catch (const std::exception& e) {
                failures.add(e.what());
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    EXPECT_EQ(failures.all(), std::vector<std::string>{});
    const auto photos = repo->latest_photos(std::nullopt, 10'000);
    ASSERT_EQ(photos.size(), static_cast<std::size_t>(writers * rounds * 2));
    std::set<std::int64_t> seqs;
    for (std::size_t i = 0; i < photos.size(); ++i) {
        seqs.insert(photos[i].seq);
        if (i > 0) {
            EXPECT_LT(photos[i].seq, photos[i - 1].seq);
        }
    }
    EXPECT_EQ(seqs.size(), photos.size());
}

TEST_P(RepositoryContract, APoolOfOneServesManyThreadsInTurn) {
    Options options;
    options.pool_size = 1;
    auto repo = open_migrated(options);
    const auto alice = repo->create_user("alice", "h").value();
    Failures failures;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            try {
                for (int i = 0; i < 10; ++i) {
                    repo->insert_photos(
                        std::vector<NewPhoto>{new_photo("t" + std::to_string(t) + "-" + std::to_string(i), alice.id)});
                    repo->latest_photos(std::nullopt, 5);
                }
            } catch (const std::exception& e) {
                failures.add(e.what());
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    EXPECT_EQ(failures.all(), std::vector<std::string>{});
    EXPECT_EQ(repo->all_photo_ids().size(), 40u);
}

TEST_P(RepositoryContract, PingsAndDescribesItself) {
    auto repo = open(url(), {});
    EXPECT_NO_THROW(repo->ping());
    const std::string description = repo->describe();
    EXPECT_FALSE(description.empty());
    EXPECT_EQ(description.find("password"), std::string::npos);
}

}  // namespace
}  // namespace photoshare::store::testing
