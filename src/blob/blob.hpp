// Media storage: where photo variants live. put() returns only once the object is durable.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace photoshare::blob {

class Unavailable : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The store answered and refused what this server's configuration asks of it (credentials
// rejected, no such bucket, wrong region or endpoint): waiting will not help, an operator
// must act. Readiness fails on it, while a store that cannot be reached (plain Unavailable)
// only makes the server degraded.
class Misconfigured : public Unavailable {
public:
    using Unavailable::Unavailable;
};

// The store is out of space (ENOSPC) or over its quota (EDQUOT): the server answers 507
// Insufficient Storage rather than 503, since waiting a moment will not help. Nothing was
// left behind, as with any failed put().
class OutOfSpace : public Unavailable {
public:
    using Unavailable::Unavailable;
};

// stream() of an object that is not there: the caller answers 404. (get() and exists() say
// "absent" with their return values instead.)
class NotFound : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Disk stores keep only the bytes (the server derives the type from the key's extension);
// object stores send these as headers.
struct ObjectInfo {
    std::string content_type;
    std::string cache_control;
};

// What a reader learns about an object before its bytes (stream()).
struct ObjectMeta {
    std::uint64_t size = 0;
    std::string content_type;   // as stored; empty when the store keeps no type (disk)
    std::string etag;           // as the store sends it, quotes included; empty when unknown
    std::string cache_control;  // as stored; empty when none or unknown
};

// Keys that fail valid_key(): put() and remove() throw std::invalid_argument (the server
// made a bad key); get(), exists() and local_path() answer "absent", since such an object
// cannot exist and a request may have named it.
class Store {
public:
    virtual ~Store() = default;
    // Writes the whole object atomically: readers see the old state or the new, never a part.
    // Throws Unavailable (permission, I/O error; OutOfSpace when the disk is full) and leaves
    // nothing behind.
    virtual void put(const std::string& key, std::string_view data, const ObjectInfo& info) = 0;
    virtual std::optional<std::string> get(const std::string& key) = 0;
    // Removing a missing key is not an error.
    virtual void remove(const std::string& key) = 0;
    virtual bool exists(const std::string& key) = 0;
    // Every key, sorted.
    virtual std::vector<std::string> list() = 0;
    // Where the server can read the object as a file to send it itself (disk stores).
    // Does not check that the object exists: opening the path says so, without a race.
    virtual std::optional<std::filesystem::path> local_path(const std::string& key) const = 0;
    virtual void check() = 0;  // throws Unavailable
    virtual std::string describe() const = 0;

    // A URL by which anyone can GET the object for `expires`, without credentials (object
    // stores: a SigV4 presigned URL). S3 signs at a time rounded down to a multiple of
    // expires/4 (at most 15 minutes), so the URL of a key stays the same for a while and
    // browsers can cache the image: it is valid for at least 3/4 of `expires` from now
    // (and, with temporary credentials, no longer than they are). nullopt when the store has
    // no such URLs (disk) or the key is invalid. Does not check that the object exists. Throws
    // std::invalid_argument when `expires` is outside what the store allows (S3: 1 s to
    // 7 days) and Unavailable when no credentials can be had to sign it.
    virtual std::optional<std::string> presigned_url(const std::string& key, std::chrono::seconds expires);
    // scheme://host[:port] of the URLs presigned_url() makes; empty for stores without them.
    virtual std::string url_origin() const { return {}; }

    // Reads the object without holding all of it: calls sink with each chunk in order; a
    // sink returning false stops the read (stream() then returns normally). *meta (when not
    // null) is filled in before the first call to sink, so the sink can send headers first,
    // and in any case before stream() returns. Throws NotFound when the object (or key) does
    // not exist and Unavailable on failure; a failure after the first chunk throws
    // Unavailable too, so the caller must treat what it sent as cut short.
    // The default reads local_path() in 256 KiB chunks, or calls get() for stores without one.
    virtual void stream(const std::string& key, const std::function<bool(std::string_view chunk)>& sink,
                        ObjectMeta* meta);
};

// Keys are generated by the server; this says whether a string can be one (no separators,
// no dots at the start, bounded length), so no request can name a path outside the store.
// 1..128 characters of [A-Za-z0-9_.-], not starting with '.', without "..".
bool valid_key(std::string_view key);

// A store in a directory (what file:// opens). Creates the directory when missing and
// removes temporary files that a crashed put() left behind more than 15 minutes ago (younger
// ones may belong to another server writing to the same shared directory right now).
// Throws Unavailable when the directory cannot be created.
std::unique_ptr<Store> open_disk(const std::filesystem::path& root);

// file:///abs/dir or file://relative/dir (relative to the working directory at open; the
// path is taken literally, without percent-decoding), or
// s3://bucket[/prefix][?region=...&endpoint=...&path_style=true&...] (see s3.hpp for every
// option and the credential chain). Opening contacts nothing: check() does.
// Throws std::invalid_argument for an unknown or malformed URL; its message never contains
// the URL's query, which may hold secrets.
std::unique_ptr<Store> open(const std::string& url);

}  // namespace photoshare::blob
