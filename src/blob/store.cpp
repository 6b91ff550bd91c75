// What every Store can do with the basic operations: the defaults of the optional ones.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "blob/blob.hpp"

namespace photoshare::blob {

std::optional<std::string> Store::presigned_url(const std::string&, std::chrono::seconds) { return std::nullopt; }

void Store::stream(const std::string& key, const std::function<bool(std::string_view)>& sink, ObjectMeta* meta) {
    const auto path = local_path(key);
    if (!path) {
        // No file to read piecewise: one chunk. Only stores without local files get here,
        // and those override stream() when their objects can be large.
        auto data = get(key);
        if (!data) {
            throw NotFound(describe() + ": no object " + (valid_key(key) ? key : "(invalid key)"));
        }
        if (meta) {
            *meta = ObjectMeta{.size = data->size()};
        }
        if (!data->empty()) {
            sink(*data);
        }
        return;
    }
    const int fd = ::open(path->c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            throw NotFound(describe() + ": no object " + key);
        }
        throw Unavailable(describe() + ": cannot open " + key + ": " + std::generic_category().message(errno));
    }
    struct Closer {  // closes the descriptor on every way out; never copied (that would close it twice)
        explicit Closer(int f) : fd(f) {}
        Closer(const Closer&) = delete;
        Closer& operator=(const Closer&) = delete;
        ~Closer() { ::close(fd); }
        int fd;
    } closer(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        throw Unavailable(describe() + ": cannot stat " + key + ": " + std::generic_category().message(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        throw NotFound(describe() + ": no object " + key);
    }
    if (meta) {
        *meta = ObjectMeta{.size = static_cast<std::uint64_t>(st.st_size)};
    }
    // Objects are replaced by rename, never written in place: this descriptor's file does
    // not change while it is read.
    std::string buffer(256 * 1024, '\0');
    for (;;) {
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw Unavailable(describe() + ": cannot read " + key + ": " + std::generic_category().message(errno));
        }
        if (n == 0 || !sink(std::string_view(buffer.data(), static_cast<std::size_t>(n)))) {
            return;
        }
    }
}

}  // namespace photoshare::blob
