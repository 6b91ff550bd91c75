#include "app/image_jobs.hpp"

#include "app/photo_files.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace photoshare::app {

namespace {

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// 1 min after the first failure, then 4, 16, 64...: a store that is down has time to return.
std::int64_t retry_delay(int attempts) {
    std::int64_t delay = 60;
    for (int i = 1; i < attempts && delay < 86400; ++i) delay *= 4;
    return std::min<std::int64_t>(delay, 86400);
}

}  // namespace

ImageJobs::ImageJobs(Database& db, blob::Store& blobs, Feed& feed, metrics::Registry& metrics, Options options)
    : db_(db),
      blobs_(blobs),
      feed_(feed),
      options_(std::move(options)),
      done_(metrics.counter("photoshare_image_jobs_total", "Image jobs (further formats) by result", {{"result", "done"}})),
      retried_(metrics.counter("photoshare_image_jobs_total", "Image jobs (further formats) by result", {{"result", "failed"}})),
      gone_(metrics.counter("photoshare_image_jobs_total", "Image jobs (further formats) by result", {{"result", "photo_gone"}})),
      seconds_(metrics.histogram("photoshare_image_job_seconds", "Time to make a photo's further formats")) {
    for (const auto& f : options_.formats) formats_text_ += (formats_text_.empty() ? "" : " ") + f;
    periodic_ = std::make_unique<Periodic>("image jobs", options_.interval, options_.interval, [this] { run_due(); });
}

ImageJobs::~ImageJobs() { periodic_.reset(); }

void ImageJobs::poke() { periodic_->run_soon(); }

void ImageJobs::run_due() {
    bool changed = false;
    while (run_one()) changed = true;
    // Every server's cached pages name the new files from now on.
    if (changed) http::block_on([this]() -> asio::awaitable<void> { co_await feed_.changed(); }());
}

// One job, if one is due: true when it ran (whatever its outcome), so the caller looks again.
bool ImageJobs::run_one() {
    const auto now = now_seconds();
    const auto job = db_.timed("claim_image_job", [&](store::Repository& repo) {
        return repo.claim_image_job(now, now + options_.lease.count(), options_.max_attempts);
    });
    if (!job) return false;
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::string> written;
    try {
        const auto photo = db_.timed("find_photo", [&](store::Repository& repo) { return repo.find_photo(job->photo_id); });
        if (!photo) {  // deleted since: its job went with it
            gone_.inc();
            return true;
        }
        const auto jpeg = blobs_.get(display_key(photo->id));
        if (!jpeg) throw std::runtime_error("its display variant " + display_key(photo->id) + " is missing");
        std::vector<int> widths;
        for (const auto& file : variants(*photo)) widths.push_back(file.width);
        const auto encoded = image::encode_formats(*jpeg, widths, options_.formats, options_.encode);
        for (const auto& e : encoded) {
            // Every name of the width: a small photo's thumbnail is as wide as its display
            // variant, and both names must exist (photo_keys, fsck).
            for (const auto& file : all_files(*photo, e.format)) {
                if (file.width != e.variant.width) continue;
                blobs_.put(file.key, e.variant.data, blob::ObjectInfo{content_type_of(e.format), options_.cache_control});
                written.push_back(file.key);
            }
        }
        if (!db_.timed("finish_image_job", [&](store::Repository& repo) { return repo.finish_image_job(photo->id, formats_text_); })) {
            // Deleted while we worked: nothing names these files any more.
            for (const auto& key : written) blobs_.remove(key);
            gone_.inc();
            return true;
        }
        done_.inc();
        seconds_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        spdlog::info("photo {}: {} made ({} files in {} ms)", photo->id, formats_text_, written.size(),
                     std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count());
    } catch (const std::exception& e) {
        retried_.inc();
        for (const auto& key : written) {
            try {
                blobs_.remove(key);
            } catch (const std::exception&) {  // an orphan: fsck --repair removes it
            }
        }
        const bool last = job->attempts >= options_.max_attempts;
        spdlog::warn("image job for photo {} failed (attempt {} of {}{}): {}", job->photo_id, job->attempts, options_.max_attempts,
                     last ? ", giving up" : "", e.what());
        try {
            db_.timed("retry_image_job", [&](store::Repository& repo) {
                repo.retry_image_job(job->photo_id, now_seconds() + retry_delay(job->attempts), e.what());
            });
        } catch (const std::exception& again) {
            // The lease runs out instead: the job is taken again then.
            spdlog::warn("image job for photo {}: cannot record the failure: {}", job->photo_id, again.what());
        }
    }
    return true;
}

}  // namespace photoshare::app
