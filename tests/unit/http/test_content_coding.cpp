// Accept-Encoding (RFC 9110, section 12.5.3) and which content types are worth compressing.
#include "http/content_coding.hpp"

#include <gtest/gtest.h>

using photoshare::http::accepts_brotli;
using photoshare::http::accepts_gzip;
using photoshare::http::compressible;

TEST(AcceptEncoding, WhatBrowsersAndToolsSend) {
    EXPECT_TRUE(accepts_gzip("gzip, deflate, br, zstd"));  // Chromium
    EXPECT_TRUE(accepts_gzip("gzip, deflate, br"));        // Firefox, Safari
    EXPECT_TRUE(accepts_gzip("gzip"));                     // curl --compressed
    EXPECT_TRUE(accepts_gzip("deflate, gzip;q=1.0, *;q=0.5"));
    EXPECT_TRUE(accepts_gzip("GZIP"));
    EXPECT_TRUE(accepts_gzip("x-gzip"));
    EXPECT_TRUE(accepts_gzip("*"));
    EXPECT_FALSE(accepts_gzip(""));  // wrk, ab, most API clients
    EXPECT_FALSE(accepts_gzip("identity"));
    EXPECT_FALSE(accepts_gzip("br, deflate"));
}

TEST(AcceptEncoding, AZeroQualityRefusesEvenWhenAStarAccepts) {
    EXPECT_FALSE(accepts_gzip("gzip;q=0"));
    EXPECT_FALSE(accepts_gzip("gzip; q=0.000"));
    EXPECT_FALSE(accepts_gzip("*;q=1, gzip;q=0"));
    EXPECT_FALSE(accepts_gzip("*;q=0"));
    EXPECT_TRUE(accepts_gzip("gzip;q=0.001"));
    EXPECT_TRUE(accepts_gzip("*;q=0, gzip"));
}

TEST(AcceptEncoding, MalformedQualitiesAreIgnored) {
    EXPECT_FALSE(accepts_gzip("gzip;q=2"));
    EXPECT_FALSE(accepts_gzip("gzip;q=1.5"));
    EXPECT_FALSE(accepts_gzip("gzip;q=abc"));
    EXPECT_FALSE(accepts_gzip("gzip;q=0.12345"));
    EXPECT_TRUE(accepts_gzip("gzip;q=bad, *"));
}

TEST(AcceptEncoding, BrotliByItsNameOrAStar) {
    EXPECT_TRUE(accepts_brotli("gzip, deflate, br, zstd"));  // Chromium
    EXPECT_TRUE(accepts_brotli("BR"));
    EXPECT_TRUE(accepts_brotli("*"));
    EXPECT_TRUE(accepts_brotli("gzip;q=1, br;q=0.5"));
    EXPECT_FALSE(accepts_brotli("gzip, deflate"));  // curl --compressed built without brotli
    EXPECT_FALSE(accepts_brotli("br;q=0, *"));
    EXPECT_FALSE(accepts_brotli("brotli"));
    EXPECT_FALSE(accepts_brotli(""));
}

TEST(Compressible, TextYesImagesNo) {
    for (auto t : {"text/html; charset=utf-8", "text/css; charset=utf-8", "text/javascript; charset=utf-8", "application/json",
                   "image/svg+xml", "text/plain", "application/problem+json"})
        EXPECT_TRUE(compressible(t)) << t;
    for (auto t : {"image/jpeg", "image/png", "application/octet-stream", "", "image/webp"}) EXPECT_FALSE(compressible(t)) << t;
}
