#include "http/address_ranges.hpp"

#include <gtest/gtest.h>

using photoshare::http::AddressRanges;

TEST(AddressRanges, SingleAddressesAndRanges) {
    AddressRanges r({"127.0.0.1", "10.0.0.0/8", "192.168.1.128/25", "fd00::/8", "::1"});
    EXPECT_TRUE(r.contains("127.0.0.1"));
    EXPECT_FALSE(r.contains("127.0.0.2"));
    EXPECT_TRUE(r.contains("10.200.3.4"));
    EXPECT_FALSE(r.contains("11.0.0.1"));
    EXPECT_TRUE(r.contains("192.168.1.200"));
    EXPECT_FALSE(r.contains("192.168.1.100"));
    EXPECT_TRUE(r.contains("fd12:3456::1"));
    EXPECT_FALSE(r.contains("fe80::1"));
    EXPECT_TRUE(r.contains("::1"));
    EXPECT_FALSE(r.contains("not an address"));
    EXPECT_FALSE(r.contains(""));
}

TEST(AddressRanges, IPv4MappedAddressesMatchTheirIPv4Range) {
    AddressRanges r({"10.0.0.0/8"});
    EXPECT_TRUE(r.contains("::ffff:10.1.2.3"));
}

TEST(AddressRanges, ZeroPrefixMatchesEverythingOfItsFamily) {
    AddressRanges r({"0.0.0.0/0"});
    EXPECT_TRUE(r.contains("8.8.8.8"));
    EXPECT_FALSE(r.contains("2001:db8::1"));
}

TEST(AddressRanges, BadEntriesAreRefusedByName) {
    for (const char* bad : {"10.0.0.0/33", "localhost", "10.0.0.0/", "10.0.0.0/x", "::1/129", ""}) {
        try {
            AddressRanges r({bad});
            ADD_FAILURE() << bad;
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find("server.trusted_proxies"), std::string::npos);
        }
    }
}
