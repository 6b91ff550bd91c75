// The further formats of stored photos (AVIF, WebP), made in the background: encoding them
// takes seconds where the JPEGs take a fraction of one, so an upload answers once its JPEGs
// are durable and leaves a job. Jobs are rows in the database, queued in the same
// transaction as the photo's row (none is lost, even if the server dies at once), taken by
// any server (a lease: a server that dies holding one loses it after `lease`), retried with
// a growing wait and given up after `max_attempts` (fsck reports those). Each server runs one
// job at a time on a thread of its own; when one is done the photo's pages offer the new
// formats (the feed is marked changed).
#pragma once

#include "app/database.hpp"
#include "app/feed.hpp"
#include "app/periodic.hpp"
#include "blob/blob.hpp"
#include "image/image.hpp"
#include "metrics/metrics.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace photoshare::app {

// Attempts of one image job before it is given up (fsck counts those).
inline constexpr int kImageJobAttempts = 5;

class ImageJobs {
public:
    struct Options {
        std::vector<std::string> formats{"avif", "webp"};  // made for every width of a photo
        image::FormatOptions encode;
        std::chrono::milliseconds interval{2000};  // how often a server looks for due jobs
        std::chrono::seconds lease{600};          // how long a taken job is this server's
        int max_attempts = kImageJobAttempts;
        std::string cache_control;  // stored with each file (media_cache_control())
    };

    ImageJobs(Database& db, blob::Store& blobs, Feed& feed, metrics::Registry& metrics, Options options);
    ~ImageJobs();
    ImageJobs(const ImageJobs&) = delete;
    ImageJobs& operator=(const ImageJobs&) = delete;

    // A job was queued: look now rather than at the next interval.
    void poke();

private:
    void run_due();
    bool run_one();

    Database& db_;
    blob::Store& blobs_;
    Feed& feed_;
    Options options_;
    std::string formats_text_;
    metrics::Counter& done_;
    metrics::Counter& retried_;
    metrics::Counter& gone_;
    metrics::Histogram& seconds_;
    std::unique_ptr<Periodic> periodic_;  // last: its thread uses the members above
};

}  // namespace photoshare::app
