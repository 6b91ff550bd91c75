#include "auth/tokens.hpp"

#include <sodium.h>

#include <algorithm>
#include <vector>

#include "auth/sodium_init.hpp"

namespace photoshare::auth {

namespace {

// Random bytes are taken from the OS generator 4 KiB at a time per thread and handed out
// once each: a token costs a copy instead of a system call (tokens are made on every
// anonymous page view, for the CSRF cookie). The process never forks after start-up, so
// no two processes can share a buffer.
std::vector<unsigned char> random_bytes(std::size_t n) {
    detail::ensure_sodium();
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

std::string to_hex(const unsigned char* data, std::size_t n) {
    std::string out(2 * n + 1, '\0');  // sodium_bin2hex writes a terminating NUL
    sodium_bin2hex(out.data(), out.size(), data, n);
    out.pop_back();
    return out;
}

}  // namespace

std::string random_hex(std::size_t bytes) {
    auto buf = random_bytes(bytes);
    return to_hex(buf.data(), buf.size());
}

std::string random_token(std::size_t bytes) {
    constexpr int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    auto buf = random_bytes(bytes);
    std::string out(sodium_base64_encoded_len(bytes, variant), '\0');
    sodium_bin2base64(out.data(), out.size(), buf.data(), buf.size(), variant);
    out.resize(std::char_traits<char>::length(out.c_str()));
    return out;
}

std::string sha256_hex(std::string_view data) {
    detail::ensure_sodium();
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    return to_hex(digest, sizeof digest);
}

bool equal_constant_time(std::string_view a, std::string_view b) {
    // Lengths of tokens and digests are public (fixed by the format), so comparing them
    // first leaks nothing; sodium_memcmp then hides where the contents differ.
    if (a.size() != b.size()) {
        return false;
    }
    if (a.empty()) {
        return true;
    }
    return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace photoshare::auth
