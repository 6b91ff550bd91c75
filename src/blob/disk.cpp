// The disk store. Layout under the root:
//   ab/abcdef_t.jpg   objects, in a subdirectory named by the key's first two characters,
//                     so no directory grows to millions of entries;
//   .tmp/             files being written. They are renamed into place when complete: one
//                     filesystem, so the rename is atomic. Keeping them apart (rather than
//                     beside the target) lets open() clean up after a crash by reading one
//                     small directory instead of walking every object.
// Durability: write, fsync the file, rename, fsync the target directory; a new shard
// directory is fsynced into the root before anything is renamed into it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <random>
#include <system_error>

#include "blob/blob.hpp"

namespace photoshare::blob {

namespace {

namespace fs = std::filesystem;

constexpr const char* temp_dir_name = ".tmp";
// Far longer than any put() takes, so cleanup never removes a file still being written.
constexpr auto stale_age = std::chrono::minutes(15);

std::string shard_of(const std::string& key) { return key.substr(0, 2); }

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    int get() const { return fd_; }
    // close() reports deferred write errors (NFS), so a writer must look at its result.
    int close() {
        const int rc = ::close(fd_);
        fd_ = -1;
        return rc;
    }

private:
    int fd_;
};

// Removes the temporary file unless it was renamed into place.
class TempFile {
public:
    explicit TempFile(fs::path path) : path_(std::move(path)) {}
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    ~TempFile() {
        if (!committed_) {
            ::unlink(path_.c_str());
        }
    }
    const fs::path& path() const { return path_; }
    void commit() { committed_ = true; }

private:
    fs::path path_;
    bool committed_ = false;
};

std::string unique_suffix() {
    // Unique across threads (counter), processes (pid) and hosts sharing the directory
    // (random); O_EXCL catches whatever collision is left.
    static std::atomic<std::uint64_t> counter{0};
    thread_local std::mt19937_64 rng{std::random_device{}()};
    char buf[64];
    const int n = std::snprintf(buf, sizeof buf, ".%ld.%llu.%016llx", static_cast<long>(::getpid()),
                                static_cast<unsigned long long>(counter.fetch_add(1)),
                                static_cast<unsigned long long>(rng()));
    if (n < 0 || static_cast<std::size_t>(n) >= sizeof buf) {
        throw std::logic_error("blob: cannot format a temporary file name");
    }
    return {buf, static_cast<std::size_t>(n)};
}

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), std::min<std::size_t>(data.size(), 1 << 30));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

// Makes the directory's entries (a rename, a new subdirectory, an unlink) durable.
int fsync_dir(const fs::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return errno;
    }
    Fd guard(fd);
    // Some filesystems cannot sync a directory (EINVAL); their metadata is already as
    // durable as it will get.
    if (::fsync(fd) != 0 && errno != EINVAL) {
        return errno;
    }
    return 0;
}

// The store's directory as an absolute, normal path.
fs::path absolute_root(const fs::path& root) {
    std::error_code ec;
    fs::path path = fs::absolute(root, ec).lexically_normal();
    if (ec) {
        throw Unavailable("blob store " + root.string() + ": " + ec.message());
    }
    if (!path.has_filename() && path != path.root_path()) {
        path = path.parent_path();  // "dir/" keeps its slash; describe() should not
    }
    return path;
}

class DiskStore final : public Store {
public:
    explicit DiskStore(const fs::path& root) : root_(absolute_root(root)), temp_dir_(root_ / temp_dir_name) {
        std::error_code ec;
        fs::create_directories(temp_dir_, ec);
        if (ec) {
            throw Unavailable(describe() + ": cannot create the directory: " + ec.message());
        }
        remove_stale_temp_files();
    }

    void put(const std::string& key, std::string_view data, const ObjectInfo&) override {
        if (!valid_key(key)) {
            throw std::invalid_argument("blob put: invalid key");
        }
        const fs::path dir = root_ / shard_of(key);
        ensure_shard(dir, key);

        auto [raw_fd, temp_path] = create_temp(key);
        TempFile temp(std::move(temp_path));  // declared first: unlinked after fd is closed
        Fd fd(raw_fd);
        if (!write_all(fd.get(), data)) {
            fail("cannot write", key, errno);
        }
        if (::fsync(fd.get()) != 0) {
            fail("cannot sync", key, errno);
        }
        if (fd.close() != 0) {
            fail("cannot write", key, errno);
        }
        if (::rename(temp.path().c_str(), (dir / key).c_str()) != 0) {
            fail("cannot move into place", key, errno);
        }
        temp.commit();
        if (const int err = fsync_dir(dir)) {
            fail("cannot sync the directory of", key, err);
        }
    }

    std::optional<std::string> get(const std::string& key) override {
        if (!valid_key(key)) {
            return std::nullopt;
        }
        const int raw = ::open(object_path(key).c_str(), O_RDONLY | O_CLOEXEC);
        if (raw < 0) {
            if (errno == ENOENT || errno == ENOTDIR) {
                return std::nullopt;
            }
            fail("cannot open", key, errno);
        }
        Fd fd(raw);
        struct stat st {};
        if (::fstat(fd.get(), &st) != 0) {
            fail("cannot stat", key, errno);
        }
        if (!S_ISREG(st.st_mode)) {
            return std::nullopt;
        }
        // The size is a hint: objects are replaced by rename, never written in place, so
        // this descriptor's file does not change; reading to EOF is simply robust.
        std::string out(static_cast<std::size_t>(st.st_size), '\0');
        std::size_t filled = 0;
        for (;;) {
            if (filled == out.size()) {
                out.resize(out.size() + 64 * 1024);
            }
            const ssize_t n = ::read(fd.get(), out.data() + filled, out.size() - filled);
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                fail("cannot read", key, errno);
            }
            if (n == 0) {
                break;
            }
            filled += static_cast<std::size_t>(n);
        }
        out.resize(filled);
        return out;
    }

    void remove(const std::string& key) override {
        if (!valid_key(key)) {
            throw std::invalid_argument("blob remove: invalid key");
        }
        const fs::path path = object_path(key);
        if (::unlink(path.c_str()) != 0) {
            if (errno == ENOENT || errno == ENOTDIR) {
                return;
            }
            fail("cannot remove", key, errno);
        }
        if (const int err = fsync_dir(path.parent_path())) {
            fail("cannot sync the directory of", key, err);
        }
    }

    bool exists(const std::string& key) override {
        if (!valid_key(key)) {
            return false;
        }
        struct stat st {};
        if (::stat(object_path(key).c_str(), &st) != 0) {
            if (errno == ENOENT || errno == ENOTDIR) {
                return false;
            }
            fail("cannot stat", key, errno);
        }
        return S_ISREG(st.st_mode);
    }

    std::vector<std::string> list() override {
        std::vector<std::string> keys;
        std::error_code ec;
        auto check_ec = [&] {
            if (ec) {
                throw Unavailable(describe() + ": cannot list: " + ec.message());
            }
        };
        const fs::directory_iterator end;
        for (fs::directory_iterator shards(root_, ec); check_ec(), shards != end;
             shards.increment(ec)) {
            const std::string shard = shards->path().filename().string();
            const bool is_dir = shards->is_directory(ec);
            check_ec();
            if (shard.starts_with('.') || !is_dir) {
                continue;  // the temp directory, probes, or something not ours
            }
            for (fs::directory_iterator it(shards->path(), ec); check_ec(), it != end;
                 it.increment(ec)) {
                const std::string name = it->path().filename().string();
                const bool is_file = it->is_regular_file(ec);
                check_ec();
                // Only what put() could have made: a valid key in its own shard.
                if (is_file && valid_key(name) && shard_of(name) == shard) {
                    keys.push_back(name);
                }
            }
        }
        std::sort(keys.begin(), keys.end());
        return keys;
    }

    std::optional<fs::path> local_path(const std::string& key) const override {
        if (!valid_key(key)) {
            return std::nullopt;
        }
        return object_path(key);
    }

    void check() override {
        struct stat st {};
        if (::stat(root_.c_str(), &st) != 0) {
            throw Unavailable(describe() + ": " + std::generic_category().message(errno));
        }
        if (!S_ISDIR(st.st_mode)) {
            throw Unavailable(describe() + ": not a directory");
        }
        // Permission bits do not tell the whole story (read-only mounts, root, ACLs, quotas):
        // only creating a file does. The root takes new shard directories, .tmp new objects.
        probe(root_);
        probe(temp_dir_);
    }

    std::string describe() const override { return "file://" + root_.string(); }

private:
    fs::path object_path(const std::string& key) const { return root_ / shard_of(key) / key; }

    [[noreturn]] void fail(std::string_view what, const std::string& key, int err) const {
        if (err == ENOSPC || err == EDQUOT) {
            throw OutOfSpace(describe() + ": " + std::string(what) + " " + key + ": " +
                             std::generic_category().message(err));
        }
        throw Unavailable(describe() + ": " + std::string(what) + " " + key + ": " +
                          std::generic_category().message(err));
    }

    void ensure_shard(const fs::path& dir, const std::string& key) {
        if (::mkdir(dir.c_str(), 0755) != 0) {
            if (errno == EEXIST) {
                return;
            }
            fail("cannot create the directory for", key, errno);
        }
        if (const int err = fsync_dir(root_)) {
            fail("cannot sync the directory for", key, err);
        }
    }

    std::pair<int, fs::path> create_temp(const std::string& key) {
        for (int attempt = 0;; ++attempt) {
            fs::path path = temp_dir_ / (key + unique_suffix());
            const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            if (fd >= 0) {
                return {fd, std::move(path)};
            }
            const int err = errno;
            if (attempt < 8 && err == EEXIST) {
                continue;
            }
            // The temp directory may have been removed by hand since open(): recreate it.
            if (attempt < 8 && err == ENOENT &&
                (::mkdir(temp_dir_.c_str(), 0755) == 0 || errno == EEXIST)) {
                continue;
            }
            fail("cannot create a temporary file for", key, err);
        }
    }

    void probe(const fs::path& dir) {
        const fs::path path = dir / (".probe" + unique_suffix());
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
            throw Unavailable(describe() + ": cannot create a file in " + dir.string() + ": " +
                              std::generic_category().message(errno));
        }
        ::close(fd);
        ::unlink(path.c_str());
    }

    // Best effort: a leftover that cannot be removed now is tried again at the next open.
    void remove_stale_temp_files() {
        const auto cutoff = fs::file_time_type::clock::now() - stale_age;
        auto sweep = [&](const fs::path& dir, std::string_view prefix) {
            std::error_code ec;
            for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
                std::error_code entry_ec;
                if (it->path().filename().string().starts_with(prefix) &&
                    it->is_regular_file(entry_ec) && it->last_write_time(entry_ec) < cutoff &&
                    !entry_ec) {
                    fs::remove(it->path(), entry_ec);
                }
            }
        };
        sweep(temp_dir_, "");
        sweep(root_, ".probe.");
    }

    fs::path root_;
    fs::path temp_dir_;
};

}  // namespace

std::unique_ptr<Store> open_disk(const std::filesystem::path& root) {
    return std::make_unique<DiskStore>(root);
}

}  // namespace photoshare::blob
