#include "auth/tokens.hpp"

#include <sodium.h>

#include <algorithm>
#include <vector>

#include "codec/hex.hpp"
#include "codec/sodium.hpp"

namespace photoshare::auth {

namespace {

// Random bytes are taken from the OS generator 4 KiB at a time per thread and handed out
// once each: a token costs a copy instead of a system call (tokens are made on every
// anonymous page view, for the CSRF cookie). The process never forks after start-up, so
// no two processes can share a buffer.
std::vector<unsigned char> random_bytes(std::size_t n) {
    codec::ensure_sodium();
    std::vector<unsigned char> buf(n);
    if (n == 0) return buf;
    thread_local unsigned char pool[4096];
    thread_local std::size_t left = 0;
    if (n > sizeof pool / 4) {
        randombytes_buf(buf.data(), n);
        return buf;
    }
    if (left < n) {
        randombytes_buf(pool, sizeof pool);
        left = sizeof pool;
    }
    unsigned char* from = pool + (sizeof pool - left);
    std::copy(from, from + n, buf.begin());
    sodium_memzero(from, n);  // used bytes do not linger
    left -= n;
    return buf;
}

}  // namespace

std::string random_hex(std::size_t bytes) {
    auto buf = random_bytes(bytes);
    return codec::to_hex(buf);
}

std::string random_token(std::size_t bytes) {
    constexpr int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    auto buf = random_bytes(bytes);
    std::string out(sodium_base64_encoded_len(bytes, variant), '\0');
    sodium_bin2base64(out.data(), out.size(), buf.data(), buf.size(), variant);
    out.resize(std::char_traits<char>::length(out.c_str()));
    return out;
}

}  // namespace photoshare::auth
