#include "app/uploads.hpp"

#include "app/captions.hpp"
#include "app/photo_files.hpp"
#include "auth/tokens.hpp"
#include "http/multipart.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <system_error>

namespace photoshare::app {

namespace {

constexpr std::size_t kChunk = 64 * 1024;
constexpr std::size_t kMaxFieldBytes = 16 * 1024;  // a caption of 2000 characters is up to 8000 bytes

struct FileCloser {
    void operator()(std::FILE* f) const {
        if (f) (void)std::fclose(f);  // only after a failure: the file is removed next
    }
};

// The client's file name, fit to show in a message (JSON or HTML, escaped there): valid
// UTF-8 only (other bytes become '?'), no control characters, at most 80 characters.
// The client's file name as valid UTF-8 without control characters (each replaced by '?'),
// at most 80 characters: safe to show, to log and to keep.
std::string clean_name(const std::string& name) {
    std::string clean;
    std::size_t chars = 0;
    for (std::size_t i = 0; i < name.size() && chars < 80; ++chars) {
        const auto c = static_cast<unsigned char>(name[i]);
        const std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
        bool valid = len > 0 && i + len <= name.size();
        for (std::size_t k = 1; valid && k < len; ++k) valid = (static_cast<unsigned char>(name[i + k]) & 0xc0) == 0x80;
        if (valid && len == 2) valid = c >= 0xc2;                                                  // overlong
        if (valid && len == 3) valid = !(c == 0xe0 && static_cast<unsigned char>(name[i + 1]) < 0xa0) &&  // overlong
                                       !(c == 0xed && static_cast<unsigned char>(name[i + 1]) >= 0xa0);   // surrogates
        if (valid && len == 4) valid = c <= 0xf4 && !(c == 0xf0 && static_cast<unsigned char>(name[i + 1]) < 0x90) &&
                                       !(c == 0xf4 && static_cast<unsigned char>(name[i + 1]) >= 0x90);
        if (!valid || (len == 1 && (c < 0x20 || c == 0x7f))) {
            clean += '?';
            ++i;
        } else {
            clean.append(name, i, len);
            i += len;
        }
    }
    return clean;
}

std::string shown_name(const std::string& name) { return name.empty() ? "the file" : "'" + clean_name(name) + "'"; }

std::string read_whole(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) throw std::runtime_error("cannot read the spooled upload " + path.string());
    return bytes;
}

// Writing the spooled body failed: a full disk is the client's 507 like a full photo store;
// anything else is the server's own fault.
[[noreturn]] void spool_failed(const char* doing) {
    const int err = errno;
    const auto what = fmt::format("{} an upload to the temporary directory failed: {}", doing, std::generic_category().message(err));
    if (err == ENOSPC || err == EDQUOT) throw blob::OutOfSpace(what);
    throw std::runtime_error(what);
}

}  // namespace

Uploads::Uploads(std::filesystem::path tmp_dir, blob::Store& blobs, Database& db, http::Workers& io_workers,
                 http::Workers& image_workers, const UploadLimits& limits, metrics::Registry& metrics)
    : tmp_dir_(std::move(tmp_dir)),
      blobs_(blobs),
      db_(db),
      io_workers_(io_workers),
      image_workers_(image_workers),
      limits_(limits),
      accepted_(metrics.counter("photoshare_uploads_total", "Upload requests by result", {{"result", "accepted"}})),
      rejected_(metrics.counter("photoshare_uploads_total", "Upload requests by result", {{"result", "rejected"}})),
      photos_(metrics.counter("photoshare_uploaded_photos_total", "Photos stored")),
      bytes_(metrics.counter("photoshare_uploaded_bytes_total", "Bytes of variants stored")),
      processing_(metrics.histogram("photoshare_image_processing_seconds", "Time to validate one image and make its variants")) {}

asio::awaitable<UploadForm> Uploads::receive(http::Request& req) {
    auto boundary = http::multipart_boundary(req.header("Content-Type"));
    if (!boundary)
        throw http::HttpError(415, "unsupported_media_type", "Send photos as multipart/form-data with a field named 'photo'.");

    UploadForm form;
    std::unique_ptr<std::FILE, FileCloser> current;
    std::string field_name;
    std::string field_value;
    bool in_file = false;
    bool in_field = false;
    std::uint64_t file_bytes = 0;  // of the file being received
    std::string write_error;

    auto fail_cleanup = [&] {
        current.reset();
        discard(form);
    };

    http::MultipartCallbacks callbacks;
    callbacks.on_part_begin = [&](const http::PartHeaders& part) {
        in_file = in_field = false;
        if (part.name == "photo" && part.filename) {
            if (part.filename->empty()) return;  // a file input left empty
            if (form.files.size() >= limits_.max_files)
                throw http::HttpError(413, "too_many_files", fmt::format("Send at most {} photos at a time.", limits_.max_files));
            auto path = tmp_dir_ / ("upload-" + auth::random_hex(16));
            current.reset(std::fopen(path.c_str(), "wbx"));
            if (!current) throw std::runtime_error(fmt::format("cannot create {}: {}", path.string(), std::generic_category().message(errno)));
            form.files.push_back(path);
            form.file_names.push_back(*part.filename);
            in_file = true;
            file_bytes = 0;
        } else if (!part.filename) {
            field_name = part.name;
            field_value.clear();
            in_field = true;
        }
    };
    callbacks.on_part_data = [&](std::string_view data) {
        if (in_file) {
            file_bytes += data.size();
            // Over the limit per photo: the rest is counted, not kept, so the message can say how big it is.
            if (file_bytes > limits_.max_file_bytes) {
                current.reset();
                return;
            }
            if (std::fwrite(data.data(), 1, data.size(), current.get()) != data.size()) spool_failed("writing");
        } else if (in_field) {
            if (field_value.size() + data.size() > kMaxFieldBytes)
                throw http::HttpError(413, "payload_too_large", fmt::format("The form field '{}' is too long.", field_name));
            field_value.append(data);
        }
    };
    callbacks.on_part_end = [&] {
        if (in_file && file_bytes > limits_.max_file_bytes) {
            const auto [size, most] = http::human_sizes(file_bytes, limits_.max_file_bytes);
            throw http::HttpError(413, "file_too_large",
                                  fmt::format("{} is {}; the limit per photo is {}.", shown_name(form.file_names.back()), size, most));
        }
        if (in_file) {
            if (std::fclose(current.release()) != 0) spool_failed("closing");
        } else if (in_field && field_name == "csrf_token") {
            form.csrf_token = field_value;
        } else if (in_field && field_name == "caption") {
            form.caption = field_value;
        }
        in_file = in_field = false;
    };

    try {
        http::MultipartParser parser(*boundary, std::move(callbacks));
        std::vector<char> buffer(kChunk);
        for (;;) {
            auto n = co_await req.body_reader->read_some(buffer);
            if (n == 0) break;
            parser.feed(std::string_view(buffer.data(), n));
        }
        parser.finish();
    } catch (...) {
        fail_cleanup();
        throw;
    }
    co_return form;
}

void Uploads::discard(const UploadForm& form) const {
    for (const auto& f : form.files) {
        std::error_code ec;
        std::filesystem::remove(f, ec);
    }
}

asio::awaitable<StoredUpload> Uploads::store(const UploadForm& form, std::int64_t user_id,
                                                          const std::optional<store::UploadKey>& key) {
    if (form.files.empty()) {
        rejected_.inc();
        throw http::HttpError(422, "no_photo", "Choose at least one photo to upload (form field 'photo').");
    }
    std::string caption;
    try {
        caption = clean_caption(form.caption, limits_.max_caption_chars);
    } catch (const http::HttpError&) {
        rejected_.inc();
        throw;
    }

    // 1. Decode and make the variants of every file before storing any.
    std::vector<image::Processed> processed(form.files.size());
    for (std::size_t i = 0; i < form.files.size(); ++i) {
        try {
            processed[i] = co_await image_workers_.call([&, i] {
                const auto start = std::chrono::steady_clock::now();
                auto result = image::process_file(form.files[i], limits_.image);
                processing_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
                return result;
            });
        } catch (const image::Unsupported& e) {
            rejected_.inc();
            throw http::HttpError(415, "unsupported_image",
                                  fmt::format("{} was refused: {}.", shown_name(form.file_names[i]), e.what()));
        } catch (const image::TooLarge& e) {
            rejected_.inc();
            throw http::HttpError(422, "image_too_large", fmt::format("{} was refused: {}.", shown_name(form.file_names[i]), e.what()));
        }
    }

    // 2. Store the variants durably, then commit every row in one transaction.
    std::vector<store::NewPhoto> rows;
    std::vector<std::string> written;
    std::int64_t total_bytes = 0;
    std::exception_ptr error;
    try {
        co_await io_workers_.run([&] {
            for (std::size_t i = 0; i < processed.size(); ++i) {
                const auto& p = processed[i];
                store::NewPhoto row;
                row.id = auth::random_token(16);  // 128 random bits: names the files, unguessable
                row.user_id = user_id;
                row.width = p.display.width;
                row.height = p.display.height;
                row.thumb_width = p.thumbnail.width;
                row.thumb_height = p.thumbnail.height;
                row.queue_formats = limits_.queue_formats;
                row.caption = caption;
                for (const auto& v : p.more) row.variant_widths.push_back(v.width);
                const auto keys = photo_keys(row.id, row.variant_widths);
                std::vector<const image::Variant*> files{&p.display, &p.thumbnail};
                for (const auto& v : p.more) files.push_back(&v);
                const blob::ObjectInfo info{"image/jpeg", limits_.cache_control};
                for (std::size_t k = 0; k < keys.size(); ++k) {
                    blobs_.put(keys[k], files[k]->data, info);
                    written.push_back(keys[k]);
                    row.bytes += static_cast<std::int64_t>(files[k]->data.size());
                }
                if (limits_.keep_originals) {
                    // As sent, metadata and all: for its owner's download only (never public).
                    const std::string bytes = read_whole(form.files[i]);
                    auto& original = row.original;
                    original.key = original_key(row.id, p.format);
                    original.type = original_type(p.format);
                    original.name = clean_name(form.file_names[i]);
                    original.bytes = static_cast<std::int64_t>(bytes.size());
                    original.width = p.original_width;
                    original.height = p.original_height;
                    blobs_.put(original.key, bytes, blob::ObjectInfo{original.type, "private, no-store"});
                    written.push_back(original.key);
                }
                total_bytes += row.bytes;
                rows.push_back(std::move(row));
            }
        });
        auto stored = co_await io_workers_.call(
            [&] { return db_.timed("insert_photos", [&](store::Repository& repo) { return repo.insert_photos(rows, key ? &*key : nullptr); }); });
        accepted_.inc();
        photos_.inc(stored.size());
        bytes_.inc(static_cast<std::uint64_t>(total_bytes));
        StoredUpload out{std::move(stored), {}};
        for (std::size_t i = 0; i < processed.size(); ++i) {
            if (processed[i].frames < 2) continue;
            const bool animation = processed[i].format == "gif" || processed[i].format == "webp";
            out.notes.push_back(fmt::format("{} {} ({} {}): only its first {} is kept.", shown_name(form.file_names[i]),
                                            animation ? "is animated" : "holds several images", processed[i].frames,
                                            animation ? "frames" : "images", animation ? "frame" : "image"));
        }
        co_return out;
    } catch (const store::OutcomeUnknown& e) {
        // The database may have committed the rows: removing the files could leave rows
        // without them. Keep them; if the rows did not make it, fsck --repair removes the
        // files later (an unreferenced file is invisible, a row without its file is not).
        rejected_.inc();
        spdlog::warn("upload of {} photo(s) by user {}: the database went away during the commit ({}); "
                     "keeping their files, as the rows may exist",
                     rows.size(), user_id, e.what());
        throw http::HttpError(503, "outcome_unknown",
                              "The database went away while your upload was being saved, so it may or may not have "
                              "been stored. Check your photos, or send it again with the same Idempotency-Key.",
                              {{"Retry-After", "5"}});
    } catch (...) {
        error = std::current_exception();
    }
    rejected_.inc();
    {
        // Undo: the request failed, so none of its files may stay.
        co_await io_workers_.run([&] {
            for (const auto& key : written) {
                try {
                    blobs_.remove(key);
                } catch (const std::exception& e) {
                    spdlog::error("could not remove {} after a failed upload: {}", key, e.what());
                }
            }
        });
        std::rethrow_exception(error);
    }
}

}  // namespace photoshare::app
