// Throughput of the hand-written HTTP parsers, each next to a reference measured in the same
// run so that results read as ratios (docs/PERFORMANCE.md):
//  - multipart: a 10 MB single-file upload fed in 64 KiB chunks, as the server reads it,
//    against copying the same chunks (the least any consumer of the bytes must pay);
//  - a small login-sized multipart form, and the same fields urlencoded;
//  - Cookie header lookup and request-target parsing at typical sizes.
#include "http/cookies.hpp"
#include "http/form.hpp"
#include "http/multipart.hpp"
#include "http/target.hpp"

#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace photoshare::http;

constexpr std::size_t chunk_size = 64 << 10;
constexpr std::string_view boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW";

// What begins every part: "--" and the boundary.
std::string delimiter() { return "--" + std::string(boundary); }

std::string random_bytes(std::size_t n) {
    std::string s(n, '\0');
    std::mt19937_64 rng(42);  // NOLINT(cert-msc51-cpp): a fixed seed on purpose, the same input in every run
    for (std::size_t i = 0; i + 8 <= n; i += 8) {
        std::uint64_t v = rng();
        std::memcpy(&s[i], &v, 8);
    }
    return s;
}

const std::string& large_upload() {
    static const std::string body = delimiter() +
                                    "\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"IMG_0001.JPG\"\r\n"
                                    "Content-Type: image/jpeg\r\n\r\n" +
                                    random_bytes(10'000'000) + "\r\n" + delimiter() + "--\r\n";
    return body;
}

const std::string& small_form() {
    static const std::string body = [] {
        std::string b;
        for (auto [name, value] : {std::pair{"username", "alice"}, {"password", "correct horse battery"},
                                   {"csrf", "k3J9dmsQx0aPzYb1L8wVv2uNtE7fGhRc"}}) {
            b += delimiter() + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n";
        }
        return b + delimiter() + "--\r\n";
    }();
    return body;
}

void feed_in_chunks(MultipartParser& parser, const std::string& body) {
    for (std::size_t i = 0; i < body.size(); i += chunk_size)
        parser.feed(std::string_view(body).substr(i, chunk_size));
}

void BM_MultipartLargeFile(benchmark::State& state) {
    const std::string& body = large_upload();
    std::size_t received = 0;
    MultipartCallbacks cb;
    cb.on_part_data = [&](std::string_view d) { received += d.size(); };
    for ([[maybe_unused]] auto _ : state) {
        MultipartParser parser(boundary, cb);
        feed_in_chunks(parser, body);
        parser.finish();
        benchmark::DoNotOptimize(received);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_MultipartLargeFile)->Unit(benchmark::kMillisecond);

// Reference: copy every 64 KiB chunk into a buffer, as a consumer writing to disk would.
void BM_Reference_CopyChunks(benchmark::State& state) {
    const std::string& body = large_upload();
    std::vector<char> sink(chunk_size);
    for ([[maybe_unused]] auto _ : state) {
        for (std::size_t i = 0; i < body.size(); i += chunk_size) {
            std::size_t n = std::min(chunk_size, body.size() - i);
            std::memcpy(sink.data(), body.data() + i, n);
            benchmark::DoNotOptimize(sink.data());  // else the copy into an unread buffer is elided
            benchmark::ClobberMemory();
        }
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_Reference_CopyChunks)->Unit(benchmark::kMillisecond);

void BM_MultipartSmallForm(benchmark::State& state) {
    const std::string& body = small_form();
    std::string value;
    MultipartCallbacks cb;
    cb.on_part_begin = [&](const PartHeaders&) { value.clear(); };
    cb.on_part_data = [&](std::string_view d) { value.append(d); };
    for ([[maybe_unused]] auto _ : state) {
        MultipartParser parser(boundary, cb);
        parser.feed(body);
        parser.finish();
        benchmark::DoNotOptimize(value);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_MultipartSmallForm);

void BM_UrlencodedSmallForm(benchmark::State& state) {
    const std::string body = "username=alice&password=correct+horse+battery&csrf=k3J9dmsQx0aPzYb1L8wVv2uNtE7fGhRc";
    for ([[maybe_unused]] auto _ : state) benchmark::DoNotOptimize(parse_urlencoded(body));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_UrlencodedSmallForm);

constexpr std::string_view cookie_header =
    "_ga=GA1.1.1234567890.1700000000; theme=dark; lang=en-GB; consent=\"analytics:no\"; "
    "_gid=GA1.1.987654321.1700000000; sid=Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy";

void BM_FindCookie(benchmark::State& state) {
    for ([[maybe_unused]] auto _ : state) benchmark::DoNotOptimize(find_cookie(cookie_header, "sid"));
}
BENCHMARK(BM_FindCookie);

void BM_ParseCookies(benchmark::State& state) {
    for ([[maybe_unused]] auto _ : state) benchmark::DoNotOptimize(parse_cookies(cookie_header));
}
BENCHMARK(BM_ParseCookies);

// Reference for the header parsers: one std::string_view::find over the same header.
void BM_Reference_FindSubstring(benchmark::State& state) {
    for ([[maybe_unused]] auto _ : state) benchmark::DoNotOptimize(cookie_header.find("sid="));
}
BENCHMARK(BM_Reference_FindSubstring);

void BM_ParseTargetSimple(benchmark::State& state) {
    for ([[maybe_unused]] auto _ : state) benchmark::DoNotOptimize(parse_target("/photos?page=3&size=20"));
}
BENCHMARK(BM_ParseTargetSimple);

void BM_ParseTargetEncoded(benchmark::State& state) {
    for ([[maybe_unused]] auto _ : state)
        benchmark::DoNotOptimize(parse_target("/media/2024/03/%C3%A9t%C3%A9%20photo%20%2312/thumb-400.jpg?v=17"));
}
BENCHMARK(BM_ParseTargetEncoded);

}  // namespace

BENCHMARK_MAIN();
