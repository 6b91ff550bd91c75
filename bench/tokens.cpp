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

const std::string key = "visitor-csrf:" + std::string(43, 'k');
const std::string visitor_id(43, 'v');

void BM_VisitorTokenBlake2b(benchmark::State& state) {
    const photoshare::codec::Mac mac(key);
    for ([[maybe_unused]] auto _ : state) benchmark::DoNotOptimize(photoshare::codec::to_hex(mac.of(visitor_id)));
}
BENCHMARK(BM_VisitorTokenBlake2b);

void BM_Reference_VisitorTokenHmacSha256(benchmark::State& state) {
    for ([[maybe_unused]] auto _ : state)
        benchmark::DoNotOptimize(photoshare::codec::to_hex(photoshare::codec::hmac_sha256(key, visitor_id)));
}
BENCHMARK(BM_Reference_VisitorTokenHmacSha256);

void BM_Reference_NewVisitorId(benchmark::State& state) {
    for ([[maybe_unused]] auto _ : state) benchmark::DoNotOptimize(photoshare::auth::random_token(32));
}
BENCHMARK(BM_Reference_NewVisitorId);

}  // namespace

BENCHMARK_MAIN();
