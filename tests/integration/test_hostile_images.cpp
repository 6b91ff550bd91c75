// Hostile images (issue 7): polyglots (HTML or <script> inside or after a real JPEG, PNG
// text chunks, SVG, HTML dressed as PNG or JPEG) and decompression bombs (headers that claim
// huge dimensions, zTXt bombs). A polyglot is accepted only as a re-encoded image without
// its payload; a bomb is refused from its header (422) or costs bounded memory; the server
// serves others meanwhile.
#include "support/app.hpp"
#include "support/files.hpp"
#include "support/http_client.hpp"
#include "support/images.hpp"
#include "support/photoshare_server.hpp"

#include <zlib.h>

using namespace pstest;

namespace {

const fs::path kCamera = testdata("images/edge/exif-samples/DSCN0010.jpg");  // 640x480
const fs::path kZtxtBomb = testdata("images/edge/pillow/png_decompression_dos.png");

const std::string kPayload = "<html><body><script>alert('polyglot')</script><img src=x onerror=alert(1)></body></html>";

std::vector<std::string> state_files(const ServerProcess& s) {
    std::vector<std::string> out;
    for (auto& f : list_files(s.data_dir()))
        if (!f.starts_with("photoshare.db") && f != "admin.token") out.push_back(f);
    return out;
}

std::string error_message(const Response& r) {
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("error")) return {};
    return std::string(v.at("error").at("message").as_string());
}

void put32(std::string& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

void png_chunk(std::string& out, const char* type, const std::string& data) {
    put32(out, static_cast<std::uint32_t>(data.size()));
    const std::string body = std::string(type, 4) + data;
    out += body;
    put32(out, static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
}

std::string deflate_bytes(const std::string& raw) {
    uLongf size = compressBound(static_cast<uLong>(raw.size()));
    std::string out(size, '\0');
    compress2(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()), 9);
    out.resize(size);
    return out;
}

// A PNG whose IHDR claims width x height (8-bit grey) but whose IDAT holds one tiny row.
std::string png_claiming(std::uint32_t width, std::uint32_t height) {
    std::string out = "\x89PNG\r\n\x1a\n";
    std::string ihdr;
    put32(ihdr, width);
    put32(ihdr, height);
    ihdr += std::string("\x08\x00\x00\x00\x00", 5);
    png_chunk(out, "IHDR", ihdr);
    png_chunk(out, "IDAT", deflate_bytes(std::string(64, '\0')));
    png_chunk(out, "IEND", "");
    return out;
}

// A valid small PNG with extra chunks inserted after IHDR.
std::string png_with_chunks(const std::vector<std::pair<std::string, std::string>>& chunks, int size = 16) {
    const std::string base = make_png(size, size, true, 3);
    const std::size_t after_ihdr = 8 + 4 + 4 + 13 + 4;
    std::string extra;
    for (const auto& [type, data] : chunks) png_chunk(extra, type.c_str(), data);
    return base.substr(0, after_ihdr) + extra + base.substr(after_ihdr);
}

// The classic 1x1 GIF, with its logical screen and (if frame) its one frame claiming
// width x height; the LZW data stays that of one pixel.
std::string gif_claiming(std::uint16_t width, std::uint16_t height, bool frame = true) {
    std::string gif("GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00"
                    ",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00;",
                    35);
    auto put16 = [&](std::size_t at, std::uint16_t v) {
        gif[at] = static_cast<char>(v & 0xff);
        gif[at + 1] = static_cast<char>(v >> 8);
    };
    put16(6, width);
    put16(8, height);
    if (frame) {
        put16(24, width);
        put16(26, height);
    }
    return gif;
}

// The JPEG with its SOF marker claiming width x height.
std::string jpeg_claiming(std::string jpeg, std::uint16_t width, std::uint16_t height) {
    std::size_t pos = 2;
    while (pos + 9 < jpeg.size()) {
        const unsigned marker = static_cast<unsigned char>(jpeg[pos + 1]);
        const unsigned len = (static_cast<unsigned char>(jpeg[pos + 2]) << 8) | static_cast<unsigned char>(jpeg[pos + 3]);
        if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
            jpeg[pos + 5] = static_cast<char>(height >> 8);
            jpeg[pos + 6] = static_cast<char>(height & 0xff);
            jpeg[pos + 7] = static_cast<char>(width >> 8);
            jpeg[pos + 8] = static_cast<char>(width & 0xff);
            return jpeg;
        }
        pos += 2 + len;
    }
    throw std::runtime_error("no SOF marker");
}

// An XMP APP1 segment (inserted after SOI) carrying `text`.
std::string jpeg_with_xmp(const std::string& jpeg, const std::string& text) {
    const std::string payload = std::string("http://ns.adobe.com/xap/1.0/\0", 29) + text;
    const std::size_t len = payload.size() + 2;
    std::string seg = "\xFF\xE1";
    seg += static_cast<char>(len >> 8);
    seg += static_cast<char>(len & 0xff);
    return jpeg.substr(0, 2) + seg + payload + jpeg.substr(2);
}

struct Stored {
    std::string id, url, thumbnail_url;
};

std::vector<Stored> stored_photos(const Response& res) {
    std::vector<Stored> out;
    auto v = res.json();
    if (!v.is_object() || !v.as_object().contains("photos")) return out;
    for (const auto& p : v.at("photos").as_array())
        out.push_back({std::string(p.at("id").as_string()), std::string(p.at("url").as_string()),
                       std::string(p.at("thumbnail_url").as_string())});
    return out;
}

// What is served for an accepted polyglot: JPEG variants made anew, no byte of the payload,
// and headers that forbid a browser to take them for anything else.
void expect_served_clean(const ServerProcess& s, const Response& upload, const std::string& original, const std::string& what) {
    SCOPED_TRACE(what);
    auto photos = stored_photos(upload);
    ASSERT_EQ(photos.size(), 1u) << upload.describe();
    HttpClient c(s.base_url());
    for (const auto& url : {photos[0].url, photos[0].thumbnail_url}) {
        auto res = c.get(url);
        ASSERT_EQ(res.status, 200) << url;
        EXPECT_EQ(res.header("Content-Type"), "image/jpeg");
        EXPECT_EQ(res.header("X-Content-Type-Options"), "nosniff");
        EXPECT_TRUE(looks_like_jpeg(res.body)) << url;
        EXPECT_NE(res.body, original) << "served as uploaded, not re-encoded";
        for (const char* needle : {"<script", "alert(", "<html", "onerror", "<svg", "polyglot"})
            EXPECT_FALSE(contains(res.body, needle)) << url << " still carries '" << needle << "'";
    }
    auto page = c.get("/photos/" + photos[0].id);
    EXPECT_EQ(page.status, 200);
    EXPECT_FALSE(contains(page.body, "polyglot")) << "nothing of the file's contents reaches the page";
}

}  // namespace

PSTEST_SHARED_SERVER_FIXTURE(HostileImages, .name = "itest-hostile-images");

// ---- polyglots ---------------------------------------------------------------------------------

TEST_F(HostileImages, AJpegWithHtmlAppendedIsServedOnlyReEncoded) {
    auto u = register_user(server());
    HealthProbe probe(server());
    const std::string jpeg = read_file(kCamera) + kPayload;
    auto res = upload_photos(u, {Part::bytes(jpeg, "polyglot.html", "text/html")});
    ASSERT_EQ(res.status, 201) << res.describe();
    expect_served_clean(server(), res, jpeg, "HTML after EOI");
    probe.stop();
    EXPECT_TRUE(probe.ok()) << probe.describe();
}

TEST_F(HostileImages, AJpegWithScriptInsideIsServedOnlyReEncoded) {
    auto u = register_user(server());
    const std::string camera = read_file(kCamera);
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"a COM segment", with_jpeg_comment(camera, kPayload)},
        {"an XMP segment", jpeg_with_xmp(camera, "<x:xmpmeta xmlns:x='adobe:ns:meta/'>" + kPayload + "</x:xmpmeta>")},
        {"COM and appended", with_jpeg_comment(camera, kPayload) + kPayload},
    };
    for (const auto& [what, data] : cases) {
        auto res = upload_photos(u, {Part::bytes(data, "polyglot.jpg", "image/jpeg")});
        ASSERT_EQ(res.status, 201) << what << "\n" << res.describe();
        expect_served_clean(server(), res, data, what);
    }
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileImages, APngWithScriptInItsTextChunksIsServedOnlyReEncoded) {
    auto u = register_user(server());
    const std::string png = png_with_chunks({{"tEXt", "Comment" + std::string(1, '\0') + kPayload},
                                             {"zTXt", "Description" + std::string(2, '\0') + deflate_bytes(kPayload)},
                                             {"iTXt", "XML:com.adobe.xmp" + std::string(5, '\0') + kPayload}});
    auto res = upload_photos(u, {Part::bytes(png, "polyglot.png", "image/png")});
    ASSERT_EQ(res.status, 201) << res.describe();
    expect_served_clean(server(), res, png, "PNG text chunks");
    EXPECT_STILL_SERVING(server());
}

TEST_F(HostileImages, SvgAndHtmlDressedAsImagesAre415) {
    auto u = register_user(server());
    const auto before = state_files(server());
    const auto feed_before = feed_ids(server());
    HealthProbe probe(server());
    struct Case {
        const char* what;
        Part part;
    };
    const std::vector<Case> cases = {
        {"SVG with a script, named .jpg",
         Part::bytes("<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"><script>alert(2)</script></svg>", "cat.jpg",
                     "image/jpeg")},
        {"SVG with an XML prolog, named .png",
         Part::bytes("<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>", "cat.png",
                     "image/png")},
        {"SVG as image/svg+xml", Part::bytes("<svg xmlns=\"http://www.w3.org/2000/svg\"/>", "cat.svg", "image/svg+xml")},
        {"HTML named .png", Part::bytes("<!DOCTYPE html>\n" + kPayload, "photo.png", "image/png")},
        {"HTML behind a PNG signature", Part::bytes("\x89PNG\r\n\x1a\n" + kPayload, "photo.png", "image/png")},
        {"HTML behind a JPEG SOI and APP0", Part::bytes(std::string("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", 20) + kPayload,  // 20 bytes, NULs included
                                                         "photo.jpg", "image/jpeg")},
        {"HTML behind a GIF signature", Part::bytes("GIF89a" + kPayload, "photo.gif", "image/gif")},
        {"a JPEG's first half, then HTML", Part::bytes(read_file(kCamera).substr(0, 40'000) + kPayload, "half.jpg", "image/jpeg")},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        auto res = upload_photos(u, {c.part});
        EXPECT_JSON_ERROR(res, 415, "unsupported_image");
        const auto message = error_message(res);
        EXPECT_TRUE(contains(message, c.part.filename)) << "the message names the file: " << message;
        EXPECT_FALSE(contains(res.body, "alert(")) << "the file's contents are not echoed";
    }
    probe.stop();
    EXPECT_TRUE(probe.ok()) << probe.describe();
    EXPECT_TRUE(eventually([&] { return state_files(server()) == before; }, 5s));
    EXPECT_EQ(feed_ids(server()), feed_before);
}

// ---- decompression bombs -------------------------------------------------------------------------

TEST_F(HostileImages, HeadersClaimingHugeDimensionsAre422BeforeDecoding) {
    auto u = register_user(server());
    const auto before = state_files(server());
    const auto feed_before = feed_ids(server());
    HealthProbe probe(server());
    struct Case {
        const char* what;
        std::string data;
        std::string filename;
        std::string dimensions;
    };
    const std::vector<Case> cases = {
        {"PNG 20000x20000", png_claiming(20000, 20000), "bomb.png", "20000x20000"},
        {"PNG 10000x6000", png_claiming(10000, 6000), "wide.png", "10000x6000"},
        {"GIF 65535x65535 (screen and frame)", gif_claiming(65535, 65535), "bomb.gif", "65535x65535"},
        {"GIF 8000x8000 (screen and frame)", gif_claiming(8000, 8000), "square.gif", "8000x8000"},
        {"JPEG 60000x60000", jpeg_claiming(read_file(kCamera), 60000, 60000), "bomb.jpg", "60000x60000"},
        {"JPEG 65500x1000", jpeg_claiming(read_file(kCamera), 65500, 1000), "wide.jpg", "65500x1000"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        const auto start = Clock::now();
        auto res = upload_photos(u, {Part::bytes(c.data, c.filename)});
        const double took = std::chrono::duration<double>(Clock::now() - start).count();
        EXPECT_JSON_ERROR(res, 422, "image_too_large");
        const auto message = error_message(res);
        EXPECT_TRUE(contains(message, c.filename)) << message;
        EXPECT_TRUE(contains(message, c.dimensions)) << message;
        EXPECT_TRUE(contains(message, "too large")) << message;
        EXPECT_LT(took, 2.0) << "refused from the header, not after decoding";
    }
    // Beyond what the decoders take at all (libvips: 10 million pixels a side): refused as
    // not a valid image, or as too large; never decoded.
    for (const auto& [what, data] : std::vector<std::pair<std::string, std::string>>{
             {"PNG 1x100000000", png_claiming(1, 100'000'000)}, {"PNG 2147483647x2147483647", png_claiming(0x7fffffff, 0x7fffffff)}}) {
        SCOPED_TRACE(what);
        auto res = upload_photos(u, {Part::bytes(data, "extreme.png")});
        EXPECT_TRUE(res.status == 415 || res.status == 422) << res.describe();
        EXPECT_JSON_ERROR(res, res.status);
    }
    // A GIF screen size alone is not what the decoder allocates: libnsgif ignores a screen
    // far larger than the frames. Accepted at a small canvas (or refused), never 65535².
    {
        auto res = upload_photos(u, {Part::bytes(gif_claiming(65535, 65535, false), "screen.gif")});
        if (res.status == 201) {
            EXPECT_LE(res.json().at("photos").at(0).at("width").as_int64(), 2048);
            const auto ids = feed_ids(server());
            ASSERT_FALSE(ids.empty());
            ASSERT_EQ(u.http().del("/api/v1/photos/" + ids.front(), u.csrf_header()).status, 204);
        } else {
            EXPECT_TRUE(res.status == 415 || res.status == 422) << res.describe();
        }
    }
    probe.stop();
    EXPECT_TRUE(probe.ok()) << probe.describe();
    EXPECT_TRUE(eventually([&] { return state_files(server()) == before; }, 5s));
    EXPECT_EQ(feed_ids(server()), feed_before);
}

TEST(HostileImageBombs, ZtxtBombsCostNeitherMemoryNorTime) {
    ServerProcess s;
    auto u = register_user(s);
    // Warm up (libvips, the worker pools) so that the peak below is the bombs' doing.
    ASSERT_EQ(upload_photos(u, {Part::bytes(make_png(64, 64, true), "warm.png", "image/png")}).status, 201);
    // Four sessions for the concurrent uploads below, logged in now: argon2id's memory is
    // not the bombs' doing.
    std::vector<User> sessions;
    for (int i = 0; i < 4; ++i) sessions.push_back(login(s, u.username, u.password));
    const auto peak_before = peak_rss_kib(s.pid());
    ASSERT_GT(peak_before, 0u);
    HealthProbe probe(s);

    // Pillow's: a 1x1 PNG with three zTXt chunks of 2 MiB each (6 KB on disk).
    {
        const auto start = Clock::now();
        auto res = upload_photos(u, {Part::file(kZtxtBomb, "png_decompression_dos.png", "image/png")});
        EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 3.0);
        EXPECT_TRUE(res.status == 201 || res.status == 415) << res.describe();
        if (res.status == 201) {
            auto v = res.json().at("photos").at(0);
            EXPECT_EQ(v.at("width").as_int64(), 1);
            EXPECT_EQ(v.at("height").as_int64(), 1);
        } else {
            EXPECT_JSON_ERROR(res, 415, "unsupported_image");
        }
    }
    // A bigger one: 60 zTXt and iTXt chunks of 4 MiB of zeros each (240 MiB of text in
    // about 250 KB), around a real 32x32 image, and four such uploads at once.
    {
        std::vector<std::pair<std::string, std::string>> chunks;
        const std::string zeros = deflate_bytes(std::string(4 << 20, '\0'));
        for (int i = 0; i < 30; ++i) {
            chunks.emplace_back("zTXt", "k" + std::to_string(i) + std::string(2, '\0') + zeros);
            chunks.emplace_back("iTXt", "i" + std::to_string(i) + std::string(1, '\0') + "\x01" + std::string(1, '\0') + std::string(2, '\0') + zeros);
        }
        const std::string bomb = png_with_chunks(chunks, 32);
        ASSERT_LT(bomb.size(), 1u << 20);
        std::vector<std::thread> threads;
        std::vector<Response> results(4);
        const auto start = Clock::now();
        for (int i = 0; i < 4; ++i) {
            threads.emplace_back([&, i] { results[i] = upload_photos(sessions[i], {Part::bytes(bomb, "ztxt-bomb.png", "image/png")}); });
        }
        for (auto& t : threads) t.join();
        EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 10.0);
        for (const auto& res : results) {
            EXPECT_TRUE(res.status == 201 || res.status == 415) << res.describe();
            if (res.status == 201) EXPECT_EQ(res.json().at("photos").at(0).at("width").as_int64(), 32);
        }
    }
    probe.stop();
    EXPECT_TRUE(probe.ok(3.0)) << probe.describe();
    const auto peak_after = peak_rss_kib(s.pid());
    RecordProperty("peak_rss_growth_kib", std::to_string(peak_after - peak_before));
    EXPECT_LT(peak_after, peak_before + 150 * 1024) << "peak RSS grew from " << peak_before / 1024 << " MiB to " << peak_after / 1024
                                                   << " MiB: the text was inflated";
    EXPECT_STILL_SERVING(s);
}

TEST(HostileImageBombs, APixelFloodUnderTheLimitIsDecodedInBoundedMemory) {
    // 7000x7000 (49 MP, just under the default 50 MP) of one grey: a 60 KB file that a
    // naive decoder turns into 49 MB of pixels per band. Accepted, without holding it whole.
    ServerProcess s;
    auto u = register_user(s);
    ASSERT_EQ(upload_photos(u, {Part::bytes(make_png(64, 64, true), "warm.png", "image/png")}).status, 201);
    const auto peak_before = peak_rss_kib(s.pid());
    HealthProbe probe(s);
    std::string flood = "\x89PNG\r\n\x1a\n";
    {
        std::string ihdr;
        put32(ihdr, 7000);
        put32(ihdr, 7000);
        ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // RGB: 147 MB decoded
        png_chunk(flood, "IHDR", ihdr);
        std::string raw;
        raw.reserve(7000 * (1 + 3 * 7000));
        for (int y = 0; y < 7000; ++y) {
            raw += '\0';
            raw.append(3 * 7000, '\x80');
        }
        png_chunk(flood, "IDAT", deflate_bytes(raw));
        png_chunk(flood, "IEND", "");
    }
    ASSERT_LT(flood.size(), 1u << 20);
    auto res = upload_photos(u, {Part::bytes(flood, "flood.png", "image/png")});
    ASSERT_EQ(res.status, 201) << res.describe();
    EXPECT_EQ(res.json().at("photos").at(0).at("width").as_int64(), 2048);
    probe.stop();
    EXPECT_TRUE(probe.ok(3.0)) << probe.describe();
    const auto peak_after = peak_rss_kib(s.pid());
    RecordProperty("peak_rss_growth_kib", std::to_string(peak_after - peak_before));
    EXPECT_LT(peak_after, peak_before + 120 * 1024) << "peak RSS grew from " << peak_before / 1024 << " MiB to " << peak_after / 1024
                                                   << " MiB for a 147 MB image";
}
