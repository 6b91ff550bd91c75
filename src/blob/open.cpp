// Chooses a store by URL. Error messages name only the scheme, never the whole URL: later
// schemes (s3://key:secret@...) carry secrets that must not be logged.
#include <algorithm>
#include <cctype>

#include "blob/blob.hpp"
#include "blob/s3.hpp"

namespace photoshare::blob {

std::unique_ptr<Store> open(const std::string& url) {
    const auto sep = url.find("://");
    if (sep == std::string::npos || sep == 0) {
        throw std::invalid_argument("blob URL must look like scheme://..., e.g. file:///var/photos");
    }
    const std::string scheme = url.substr(0, sep);
    const bool plain = std::all_of(scheme.begin(), scheme.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '+' || c == '-' || c == '.';
    });
    if (!plain) {
        throw std::invalid_argument("blob URL has a malformed scheme");
    }
    if (scheme == "file") {
        // file:///abs/dir leaves "/abs/dir"; file://relative/dir leaves "relative/dir".
        const std::string path = url.substr(sep + 3);
        if (path.empty() || path.find('\0') != std::string::npos) {
            throw std::invalid_argument("file:// URL needs a directory, e.g. file:///var/photos");
        }
        return open_disk(path);
    }
    if (scheme == "s3") {
        return s3::open(s3::parse_url(url));
    }
    throw std::invalid_argument("unknown blob scheme '" + scheme + "://' (known: file://, s3://)");
}

}  // namespace photoshare::blob
