// `photoshare fsck`: the consistency check between the database and the photo store.
//
// An upload writes its files (durably) and then commits its rows; a delete removes the row
// and then the files. So, at rest, every photo row has both its objects (KEY_d.jpg, the
// display size, and KEY_t.jpg, the thumbnail) and every object belongs to a row. A crash
// (kill -9, power) between the two steps leaves objects without a row: invisible, they only
// cost space. A row without an object is worse (a broken photo on every page) and only
// happens when something removed files behind photoshare's back, or when the answer to a
// COMMIT was lost and the upload, believing it failed, removed its files.
//
// check() reads every row id, then lists every object, and looks again at each discrepancy
// before calling it a problem (the site may be running: a row committed or deleted between
// the two reads is not one). An object without a row that is younger than the grace period
// may belong to an upload in flight (files first, row a moment later): it is reported but
// is not a problem and is never removed. Stores that cannot say how old an object is (S3:
// the listing's LastModified is not read) make every such object "of unknown age": a
// problem that repair() removes only when the grace period is explicitly 0 (the caller
// states that no upload is in flight).
//
// repair(): objects without a row older than the grace period are removed (the row is
// looked for once more just before); rows missing an object are deleted (the photo cannot
// be shown), then whatever object of theirs is left. Keys that are not a photo variant
// (something photoshare never writes) are reported and never removed.
#pragma once

#include "blob/blob.hpp"
#include "config/config.hpp"
#include "kv/kv.hpp"
#include "store/repository.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace photoshare::app::fsck {

using Clock = std::chrono::system_clock;

struct Options {
    // Objects without a row younger than this are left alone (uploads in flight).
    std::chrono::seconds grace{3600};
    // The grace period was given on the command line: with 0, objects of unknown age are
    // removed too.
    bool grace_explicit = false;
    bool repair = false;
    // How many problems of each kind are listed in the report (all are counted).
    std::size_t max_listed = 20;
    std::function<Clock::time_point()> now = [] { return Clock::now(); };
};

// An object without a row.
struct Orphan {
    std::string key;
    std::optional<Clock::duration> age;  // nullopt: the store does not say
};

// A row missing one or both of its objects.
struct BrokenRow {
    std::string photo_id;
    std::vector<std::string> missing;  // keys
};

struct Report {
    std::string database;  // describe() of each
    std::string storage;
    std::size_t rows = 0;
    std::size_t objects = 0;
    std::size_t complete_rows = 0;  // rows with both objects

    std::vector<BrokenRow> broken_rows;    // missing a JPEG: the photo cannot be shown
    std::vector<BrokenRow> missing_formats;  // missing only AVIF/WebP files: repair queues its image job again
    std::int64_t jobs_waiting = 0;         // image jobs still to run: not problems
    std::int64_t jobs_failed = 0;          // given up: those photos are served as JPEG only
    std::vector<Orphan> orphans;          // older than the grace period (or of unknown age): problems
    std::vector<Orphan> young_orphans;    // within the grace period: uploads in flight, not problems
    std::vector<std::string> foreign;     // keys that are not photo variants: problems, never removed

    // Filled by repair().
    bool repaired = false;
    std::size_t rows_removed = 0;
    std::size_t jobs_queued = 0;
    std::size_t objects_removed = 0;
    std::vector<std::string> not_repaired;  // what repair() left, and why
    std::string cache_note;                 // what happened to the feed cache

    std::size_t problems() const { return broken_rows.size() + missing_formats.size() + orphans.size() + foreign.size(); }
    // What is still wrong after repair() (or everything, before it).
    std::size_t remaining() const;
};

// How old the object is, when the store can say (disk stores: the file's modification time).
std::optional<Clock::duration> object_age(blob::Store& blobs, const std::string& key, Clock::time_point now);

// Finds the problems. Throws store::Unavailable / blob::Unavailable when a backend fails.
Report check(store::Repository& repo, blob::Store& blobs, const Options& options);
// Repairs what check() found (see above) and records what it did in the report; when it
// removed rows (report.rows_removed), the caller makes cached feed pages stale.
void repair(store::Repository& repo, blob::Store& blobs, const Options& options, Report& report);

// Makes every cached feed page stale after rows were removed, the way uploads and deletes
// do (src/app/feed.cpp: the feed generation is bumped in the shared cache store). Returns a
// sentence for the report. `cache` is null when the configured cache is in process
// (memory://): a running server's pages then expire by themselves within cache.ttl.
std::string invalidate_feed(kv::Store* cache, const config::Config& config);

// Writes the report for a person: counts, then the first max_listed problems of each kind.
void print(std::ostream& out, const Report& report, const Options& options);

// The whole command: opens the database, the store and (when rows are removed) the cache
// store from the configuration, checks, repairs when asked, prints. Exit status: 0 when
// nothing is wrong (any longer), 1 when problems remain, 3 when a backend could not be read.
int run(const config::Config& config, const Options& options, std::ostream& out, std::ostream& err);

// "1h", "15m", "0", ...: config::parse_duration, in whole seconds (throws config::Error).
std::chrono::seconds parse_grace(const std::string& text);

}  // namespace photoshare::app::fsck
