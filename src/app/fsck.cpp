#include "app/fsck.hpp"

#include "app/feed.hpp"
#include "app/image_jobs.hpp"
#include "app/photo_files.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <ostream>
#include <sys/stat.h>
#include <unordered_set>

namespace photoshare::app::fsck {

namespace {

std::string human(Clock::duration d) {
    auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
    if (s < 0) s = 0;
    if (s < 120) return fmt::format("{} s", s);
    if (s < 7200) return fmt::format("{} min", s / 60);
    if (s < 2 * 86400) return fmt::format("{} h {} min", s / 3600, (s % 3600) / 60);
    return fmt::format("{} days", s / 86400);
}

std::string grace_text(std::chrono::seconds grace) { return grace.count() == 0 ? "0" : human(grace); }

bool row_exists(store::Repository& repo, const std::string& id) { return repo.find_photo(id).has_value(); }

// Whether the photo `id` exists now and `key` is one of its files.
bool file_of_a_photo(store::Repository& repo, const std::string& id, const std::string& key) {
    const auto photo = repo.find_photo(id);
    if (!photo) return false;
    auto keys = photo_keys(photo->id, photo->variant_widths, photo->formats);
    for (auto& k : private_keys(photo->original.key)) keys.push_back(std::move(k));
    return std::find(keys.begin(), keys.end(), key) != keys.end();
}

}  // namespace

std::size_t Report::remaining() const {
    if (!repaired) return problems();
    return not_repaired.size();
}

std::optional<Clock::duration> object_age(blob::Store& blobs, const std::string& key, Clock::time_point now) {
    const auto path = blobs.local_path(key);
    if (!path) return std::nullopt;
    struct stat st {};
    if (::stat(path->c_str(), &st) != 0) return std::nullopt;
    const auto written = Clock::from_time_t(st.st_mtim.tv_sec) +
                         std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(st.st_mtim.tv_nsec));
    return now - written;
}

Report check(store::Repository& repo, blob::Store& blobs, const Options& options) {
    Report report;
    report.database = repo.describe();
    report.storage = blobs.describe();

    // Rows first, then objects: an upload that completes in between (files, then its row)
    // shows as young objects without a row, which the grace period covers and the second
    // look below clears.
    const auto rows = repo.all_photo_files();
    const auto jobs = repo.image_job_counts(kImageJobAttempts);
    report.jobs_waiting = jobs.waiting;
    report.jobs_failed = jobs.failed;
    const auto keys = blobs.list();
    report.rows = rows.size();
    report.objects = keys.size();
    std::unordered_set<std::string> expected;  // every file of every row
    const std::unordered_set<std::string> key_set(keys.begin(), keys.end());

    for (const auto& row : rows) {
        const auto& id = row.id;
        BrokenRow broken{id, {}};
        for (auto& key : photo_keys(id, row.variant_widths, row.formats)) {
            if (!key_set.contains(key)) broken.missing.push_back(key);
            expected.insert(std::move(key));
        }
        // Its original and full-size download are its own, but not needed to show it.
        for (auto& key : private_keys(row.original_key)) expected.insert(std::move(key));
        if (broken.missing.empty()) {
            ++report.complete_rows;
            continue;
        }
        // Look again: the photo may have been deleted meanwhile (row first, then files), or
        // uploaded just now (its files were written before its row, so they are there).
        if (!row_exists(repo, id)) continue;
        std::erase_if(broken.missing, [&](const std::string& key) { return blobs.exists(key); });
        if (broken.missing.empty()) {
            ++report.complete_rows;
            continue;
        }
        const bool jpeg_missing = std::any_of(broken.missing.begin(), broken.missing.end(),
                                              [](const std::string& key) { return key.ends_with(".jpg"); });
        (jpeg_missing ? report.broken_rows : report.missing_formats).push_back(std::move(broken));
    }

    const auto now = options.now();
    for (const auto& key : keys) {
        const auto id = photo_of_key(key);
        if (!id) {
            report.foreign.push_back(key);
            continue;
        }
        if (expected.contains(key)) continue;
        if (file_of_a_photo(repo, *id, key)) continue;  // committed after the rows were read
        Orphan orphan{key, object_age(blobs, key, now)};
        if (orphan.age && *orphan.age < options.grace)
            report.young_orphans.push_back(std::move(orphan));
        else
            report.orphans.push_back(std::move(orphan));
    }
    return report;
}

void repair(store::Repository& repo, blob::Store& blobs, const Options& options, Report& report) {
    report.repaired = true;
    const bool remove_unknown_age = options.grace_explicit && options.grace.count() == 0;

    for (const auto& orphan : report.orphans) {
        if (!orphan.age && !remove_unknown_age) {
            report.not_repaired.push_back(orphan.key +
                                          ": not removed: the store does not say how old it is (it may belong to an upload in "
                                          "flight); run with --grace 0 when no upload is in flight");
            continue;
        }
        const auto id = photo_of_key(orphan.key);
        // Once more, just before removing: a row committed since check() keeps its files.
        if (id && file_of_a_photo(repo, *id, orphan.key)) continue;
        blobs.remove(orphan.key);
        ++report.objects_removed;
    }

    for (const auto& broken : report.broken_rows) {
        auto photo = repo.find_photo(broken.photo_id);
        if (!photo) continue;  // deleted meanwhile
        bool still_broken = false;
        for (const auto& key : broken.missing) still_broken = still_broken || !blobs.exists(key);
        if (!still_broken) continue;
        // As a delete does: the row first, then its files.
        if (repo.delete_photo(photo->id, photo->user_id)) ++report.rows_removed;
        auto keys = photo_keys(photo->id, photo->variant_widths, photo->formats);
        for (auto& key : private_keys(photo->original.key)) keys.push_back(std::move(key));
        for (const auto& key : keys) {
            if (blobs.exists(key)) {
                blobs.remove(key);
                ++report.objects_removed;
            }
        }
    }

    for (const auto& missing : report.missing_formats) {
        const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(options.now().time_since_epoch()).count();
        if (repo.requeue_image_job(missing.photo_id, seconds)) ++report.jobs_queued;
    }

    for (const auto& key : report.foreign)
        report.not_repaired.push_back(key + ": not removed: not a name photoshare gives its photos; look at it and remove it by hand");
}

std::string invalidate_feed(kv::Store* cache, const config::Config& config) {
    if (config.cache.invalidation == "off") return "no feed cache (cache.invalidation = off): nothing to invalidate";
    if (!cache)
        return fmt::format(
            "the feed cache is in each server's memory (cache.url = {}): pages listing a removed photo expire within "
            "cache.ttl ({} s), or at the next upload or delete",
            config.cache.url, std::chrono::duration_cast<std::chrono::seconds>(config.cache.ttl).count());
    if (config.cache.invalidation == "delete")
        return fmt::format("feed pages cached with cache.invalidation = delete expire within cache.ttl ({} s)",
                           std::chrono::duration_cast<std::chrono::seconds>(config.cache.ttl).count());
    // As an upload does (GenerationFeed::changed): bump the generation, which also tells the
    // servers at once where the store can push.
    try {
        kv::SharedCounter(*cache, GenerationFeed::generation_key, std::chrono::milliseconds(0)).bump();
        return "feed cache invalidated (feed generation bumped in " + cache->describe() + ")";
    } catch (const std::exception& e) {
        return fmt::format("could not invalidate the feed cache ({}): pages listing a removed photo expire within cache.ttl ({} s)",
                           e.what(), std::chrono::duration_cast<std::chrono::seconds>(config.cache.ttl).count());
    }
}

void print(std::ostream& out, const Report& r, const Options& o) {
    auto listed = [&](std::size_t n) { return std::min(n, o.max_listed); };
    auto more = [&](std::size_t n) {
        if (n > o.max_listed) out << fmt::format("    ... and {} more\n", n - o.max_listed);
    };
    out << fmt::format("photoshare fsck\n  database  {}\n  storage   {}\n", r.database, r.storage);
    out << fmt::format("  {} photo rows, {} objects; {} rows complete\n", r.rows, r.objects, r.complete_rows);

    out << fmt::format("  rows missing a file: {}\n", r.broken_rows.size());
    for (std::size_t i = 0; i < listed(r.broken_rows.size()); ++i) {
        const auto& b = r.broken_rows[i];
        std::string missing;
        for (const auto& k : b.missing) missing += (missing.empty() ? "" : ", ") + k;
        out << fmt::format("    photo {}: missing {}\n", b.photo_id, missing);
    }
    more(r.broken_rows.size());

    if (!r.missing_formats.empty()) {
        out << fmt::format("  rows missing only AVIF/WebP files (repair makes them again): {}\n", r.missing_formats.size());
        for (std::size_t i = 0; i < listed(r.missing_formats.size()); ++i)
            out << fmt::format("    photo {}: missing {} files\n", r.missing_formats[i].photo_id, r.missing_formats[i].missing.size());
        more(r.missing_formats.size());
    }
    out << fmt::format("  image jobs: {} waiting, {} given up (those photos are served as JPEG only)\n", r.jobs_waiting, r.jobs_failed);

    out << fmt::format("  objects without a row: {} (older than the grace period of {}, or of unknown age)\n", r.orphans.size(),
                       grace_text(o.grace));
    for (std::size_t i = 0; i < listed(r.orphans.size()); ++i) {
        const auto& orphan = r.orphans[i];
        out << fmt::format("    {} ({})\n", orphan.key, orphan.age ? human(*orphan.age) + " old" : "age unknown");
    }
    more(r.orphans.size());

    if (!r.foreign.empty()) {
        out << fmt::format("  objects that are not photo variants: {}\n", r.foreign.size());
        for (std::size_t i = 0; i < listed(r.foreign.size()); ++i) out << "    " << r.foreign[i] << "\n";
        more(r.foreign.size());
    }
    if (!r.young_orphans.empty())
        out << fmt::format("  not problems: {} objects without a row younger than {} (uploads in flight; left alone)\n",
                           r.young_orphans.size(), grace_text(o.grace));

    if (r.repaired) {
        out << fmt::format("  repair: removed {} rows and {} objects, queued {} image jobs\n", r.rows_removed, r.objects_removed,
                           r.jobs_queued);
        if (!r.cache_note.empty()) out << "  " << r.cache_note << "\n";
        for (std::size_t i = 0; i < listed(r.not_repaired.size()); ++i) out << "    " << r.not_repaired[i] << "\n";
        more(r.not_repaired.size());
    }
    if (r.remaining() == 0)
        out << (r.problems() == 0 ? "  clean\n" : "  repaired: clean now\n");
    else
        out << fmt::format("  {} problem{}{}\n", r.remaining(), r.remaining() == 1 ? "" : "s",
                           r.repaired ? " left" : " (run with --repair to fix what can be)");
}

int run(const config::Config& config, const Options& options, std::ostream& out, std::ostream& err) {
    Report report;
    try {
        auto repo = store::open(config.database_url(),
                                store::Options{static_cast<int>(std::min(config.database.pool_size, 2u)), config.database.acquire_timeout});
        if (repo->schema_version() == 0) {
            err << "photoshare fsck: the database " << repo->describe() << " has no schema yet (photoshare migrate makes it)\n";
            return 3;
        }
        auto blobs = blob::open(config.storage_url());
        report = check(*repo, *blobs, options);
        if (options.repair) {
            repair(*repo, *blobs, options, report);
            if (report.rows_removed > 0 || report.jobs_queued > 0) {  // pages name other files now
                std::unique_ptr<kv::Store> cache;
                if (!config.cache.url.starts_with("memory://") && config.cache.invalidation != "off") {
                    try {
                        cache = kv::open(config.cache.url);
                    } catch (const std::exception& e) {
                        report.cache_note = std::string("could not open the cache store: ") + e.what();
                    }
                }
                if (report.cache_note.empty()) report.cache_note = invalidate_feed(cache.get(), config);
            }
        }
    } catch (const store::Unavailable& e) {
        err << "photoshare fsck: the database is unavailable: " << e.what() << "\n";
        return 3;
    } catch (const blob::Unavailable& e) {
        err << "photoshare fsck: the photo store is unavailable: " << e.what() << "\n";
        return 3;
    }
    print(out, report, options);
    return report.remaining() == 0 ? 0 : 1;
}

std::chrono::seconds parse_grace(const std::string& text) {
    try {
        return std::chrono::duration_cast<std::chrono::seconds>(config::parse_duration(text));
    } catch (const std::invalid_argument&) {
        throw config::Error("--grace wants a duration like 1h, 15m, 30s or 0, got '" + text + "'");
    }
}

}  // namespace photoshare::app::fsck
