// Range and If-Range (RFC 9110, section 14): the part a request asks for, from a
// representation of known size.
#include "http/range.hpp"

#include <gtest/gtest.h>

using photoshare::http::RangeRequest;
using photoshare::http::requested_range;
using Kind = RangeRequest::Kind;

namespace {

constexpr std::string_view kTag = "\"abc\"";

RangeRequest of(std::string_view range, std::uint64_t size = 10000, std::string_view if_range = "") {
    return requested_range(range, if_range, kTag, size);
}

void expect_part(const RangeRequest& r, std::uint64_t first, std::uint64_t last) {
    ASSERT_EQ(r.kind, Kind::part);
    EXPECT_EQ(r.first, first);
    EXPECT_EQ(r.last, last);
    EXPECT_EQ(r.length(), last - first + 1);
}

}  // namespace

TEST(Range, TheThreeFormsOfOneRange) {
    expect_part(of("bytes=0-499"), 0, 499);
    expect_part(of("bytes=500-999"), 500, 999);
    expect_part(of("bytes=9500-"), 9500, 9999);
    expect_part(of("bytes=-500"), 9500, 9999);
    expect_part(of("bytes=0-0"), 0, 0);
    expect_part(of(" bytes=10-20 "), 10, 20);
    expect_part(of("Bytes=10-20"), 10, 20);
}

TEST(Range, ALastPositionOrSuffixPastTheEndIsClippedToIt) {
    expect_part(of("bytes=9000-20000"), 9000, 9999);
    expect_part(of("bytes=-20000"), 0, 9999);
    expect_part(of("bytes=0-18446744073709551615"), 0, 9999);
}

TEST(Range, AFirstPositionAtOrPastTheEndCannotBeSatisfied) {
    EXPECT_EQ(of("bytes=10000-").kind, Kind::unsatisfiable);
    EXPECT_EQ(of("bytes=10000-10005").kind, Kind::unsatisfiable);
    EXPECT_EQ(of("bytes=-0").kind, Kind::unsatisfiable);
    EXPECT_EQ(of("bytes=0-", 0).kind, Kind::unsatisfiable);
}

TEST(Range, WhatCannotBeParsedOrIsNotOneRangeMeansTheWhole) {
    for (std::string_view r : {"", "bytes=", "bytes=-", "bytes=abc-", "bytes=5-1", "bytes=1-2,4-5", "items=0-1", "bytes 0-1",
                               "bytes=+1-2", "bytes=0x10-", "bytes=1 -2x", "bytes=99999999999999999999-", "bytes=--5"}) {
        EXPECT_EQ(of(r).kind, Kind::whole) << "'" << r << "'";
    }
}

TEST(Range, IfRangeMustBeTheSameStrongTag) {
    expect_part(of("bytes=0-9", 100, "\"abc\""), 0, 9);
    EXPECT_EQ(of("bytes=0-9", 100, "\"other\"").kind, Kind::whole);
    EXPECT_EQ(of("bytes=0-9", 100, "W/\"abc\"").kind, Kind::whole);
    EXPECT_EQ(of("bytes=0-9", 100, "Mon, 07 Dec 2026 12:00:00 GMT").kind, Kind::whole);
    EXPECT_EQ(requested_range("bytes=0-9", "\"abc\"", "", 100).kind, Kind::whole) << "no tag to compare with";
}
