#include "auth/password.hpp"

#include <sodium.h>

#include <map>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "auth/tokens.hpp"
#include "codec/sodium.hpp"

namespace photoshare::auth {

namespace {

constexpr std::uint32_t min_memory_kib = 19 * 1024;  // OWASP password storage cheat sheet
constexpr std::uint32_t min_iterations = 2;

struct Limits {
    unsigned long long opslimit;
    std::size_t memlimit;
};

Limits checked_limits(const PasswordParams& params) {
    if (params.memory_kib < min_memory_kib || params.iterations < min_iterations) {
        throw std::invalid_argument(
            "argon2id parameters below the OWASP minimum (19 MiB memory, 2 iterations)");
    }
    const auto memlimit = static_cast<unsigned long long>(params.memory_kib) * 1024ULL;
    if (memlimit > crypto_pwhash_MEMLIMIT_MAX || params.iterations > crypto_pwhash_OPSLIMIT_MAX) {
        throw std::invalid_argument("argon2id parameters above what libsodium supports");
    }
    return {params.iterations, static_cast<std::size_t>(memlimit)};
}

// libsodium reads the password through a pointer; an empty string_view may carry nullptr.
const char* bytes_of(std::string_view s) { return s.empty() ? "" : s.data(); }

}  // namespace

std::string hash_password(std::string_view password, const PasswordParams& params) {
    const Limits limits = checked_limits(params);
    if (password.size() > crypto_pwhash_PASSWD_MAX) {
        throw std::invalid_argument("password too long");
    }
    codec::ensure_sodium();
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(out, bytes_of(password), password.size(), limits.opslimit,
                              limits.memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        // The only failure left once the limits are valid is allocating memlimit bytes.
        throw std::runtime_error("argon2id: out of memory");
    }
    return out;
}

bool verify_password(std::string_view password, const std::string& phc) {
    if (phc.size() >= crypto_pwhash_STRBYTES) {
        return false;  // libsodium reads a fixed-size buffer; a longer string is not ours
    }
    codec::ensure_sodium();
    return crypto_pwhash_str_verify(phc.c_str(), bytes_of(password), password.size()) == 0;
}

bool needs_rehash(const std::string& phc, const PasswordParams& params) {
    const Limits limits = checked_limits(params);
    if (phc.size() >= crypto_pwhash_STRBYTES) {
        return true;
    }
    codec::ensure_sodium();
    // 0: same params; 1: other params; -1: not an argon2id string at all (also re-hash).
    return crypto_pwhash_str_needs_rehash(phc.c_str(), limits.opslimit, limits.memlimit) != 0;
}

const std::string& dummy_hash(const PasswordParams& params) {
    static std::mutex mutex;
    static std::map<std::pair<std::uint32_t, std::uint32_t>, std::string> cache;
    const std::pair key{params.memory_kib, params.iterations};
    std::lock_guard lock(mutex);
    auto it = cache.find(key);
    if (it == cache.end()) {
        // A random password nobody knows, so no login can ever succeed against it. Map
        // nodes are stable, so the returned reference stays valid for the process.
        it = cache.emplace(key, hash_password(random_token(32), params)).first;
    }
    return it->second;
}

}  // namespace photoshare::auth
