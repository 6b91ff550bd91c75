// The upload path: the multipart body is streamed to temporary files (never held in
// memory whole), every file is validated and turned into its variants by decoding, and only
// when all of them are good are the variants stored (durably) and the rows committed in one
// transaction. Any failure removes what was written: no file without a row, no row without
// its files. The one exception: when the database went away during the commit, the rows may
// exist, so the files stay (503 outcome_unknown); fsck removes them if the rows do not.
#pragma once

#include "app/database.hpp"
#include "blob/blob.hpp"
#include "http/message.hpp"
#include "http/runtime.hpp"
#include "image/image.hpp"
#include "metrics/metrics.hpp"
#include "store/repository.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace photoshare::app {

namespace asio = boost::asio;

struct UploadLimits {
    std::size_t max_files = 20;
    std::uint64_t max_file_bytes = 25 * 1024 * 1024;  // each photo (the request has limits.max_upload_bytes)
    image::Limits image;
    bool queue_formats = false;  // queue an image job per photo (ImageJobs makes AVIF/WebP)
    std::string cache_control;   // stored with each file (media_cache_control())
    bool keep_originals = true;  // store each upload as sent, privately (photo_files: original_key)
    std::size_t max_caption_chars = 500;
};

// What came with the files: the form's other fields (small ones only).
// What an upload stored, and what its uploader must be told about it.
struct StoredUpload {
    std::vector<store::Photo> photos;
    std::vector<std::string> notes;  // "'cat.gif' is animated (12 frames): only its first frame is kept."
};

struct UploadForm {
    std::vector<std::filesystem::path> files;
    std::vector<std::string> file_names;  // as the client sent them: shown in messages, never used in paths
    std::string csrf_token;
    std::string caption;  // the field as sent: one caption for every photo of the upload
};

class Uploads {
public:
    // Photos go to `blobs` and their rows to `db`; files are decoded on `image_workers`
    // (bounded, so memory stays bounded) and written on `io_workers`.
    Uploads(std::filesystem::path tmp_dir, blob::Store& blobs, Database& db, http::Workers& io_workers, http::Workers& image_workers,
            const UploadLimits& limits, metrics::Registry& metrics);

    // Streams the request body into temporary files. The caller removes them with discard().
    asio::awaitable<UploadForm> receive(http::Request& req);
    // Validates and stores every file of the form for user_id, committing the rows in one
    // transaction (with the upload's Idempotency-Key, if any). Throws HttpError (415, 422)
    // for bad files, store::DuplicateUploadKey when another upload with the key won, and
    // rethrows backend failures, leaving nothing behind either way.
    asio::awaitable<StoredUpload> store(const UploadForm& form, std::int64_t user_id, const std::optional<store::UploadKey>& key);
    void discard(const UploadForm& form) const;

private:
    std::filesystem::path tmp_dir_;
    blob::Store& blobs_;
    Database& db_;
    http::Workers& io_workers_;
    http::Workers& image_workers_;
    UploadLimits limits_;
    metrics::Counter& accepted_;
    metrics::Counter& rejected_;
    metrics::Counter& photos_;
    metrics::Counter& bytes_;
    metrics::Histogram& processing_;
};

}  // namespace photoshare::app
