// What an anonymous page pays for its visitor CSRF token (docs/PERFORMANCE.md): the MAC of a
// new visitor id under the site key and its hex, with keyed BLAKE2b (codec::Mac, what
// Sessions uses), next to HMAC-SHA-256 of the same (what it would cost instead) and the
// random id itself.
#include "auth/tokens.hpp"
#include "codec/hex.hpp"
#include "codec/mac.hpp"
#include "codec/sha256.hpp"

#include <benchmark/benchmark.h>

#include <string>

namespace {

// A site key and a visitor id of the sizes Sessions uses.
std::string site_key() { return "visitor-csrf:" + std::string(43, 'k'); }
std::string visitor_id() { return std::string(43, 'v'); }

void BM_VisitorTokenBlake2b(benchmark::State& state) {
    const photoshare::codec::Mac mac(site_key());
    const std::string id = visitor_id();
    for ([[maybe_unused]] auto _ : state) benchmark::DoNotOptimize(photoshare::codec::to_hex(mac.of(id)));
}
BENCHMARK(BM_VisitorTokenBlake2b);

void BM_Reference_VisitorTokenHmacSha256(benchmark::State& state) {
    const std::string key = site_key(), id = visitor_id();
    for ([[maybe_unused]] auto _ : state) benchmark::DoNotOptimize(photoshare::codec::to_hex(photoshare::codec::hmac_sha256(key, id)));
}
BENCHMARK(BM_Reference_VisitorTokenHmacSha256);

void BM_Reference_NewVisitorId(benchmark::State& state) {
    for ([[maybe_unused]] auto _ : state) benchmark::DoNotOptimize(photoshare::auth::random_token(32));
}
BENCHMARK(BM_Reference_NewVisitorId);

}  // namespace

BENCHMARK_MAIN();
