// The status line: every status the server or a handler sends has the reason phrase RFC
// 9110 §15 gives it; any other gets none (allowed), never a wrong one like "302 OK".
#include "http/status.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace photoshare::http {
namespace {

TEST(ReasonPhrase, EveryStatusSentHasItsOwn) {
    const std::map<int, std::string> rfc9110 = {
        {100, "Continue"},
        {200, "OK"},
        {201, "Created"},
        {204, "No Content"},
        {206, "Partial Content"},
        {301, "Moved Permanently"},
        {302, "Found"},
        {303, "See Other"},
        {304, "Not Modified"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {408, "Request Timeout"},
        {409, "Conflict"},
        {411, "Length Required"},
        {413, "Content Too Large"},
        {414, "URI Too Long"},
        {415, "Unsupported Media Type"},
        {416, "Range Not Satisfiable"},
        {417, "Expectation Failed"},
        {422, "Unprocessable Content"},
        {429, "Too Many Requests"},
        {431, "Request Header Fields Too Large"},
        {500, "Internal Server Error"},
        {501, "Not Implemented"},
        {503, "Service Unavailable"},
        {505, "HTTP Version Not Supported"},
        {507, "Insufficient Storage"},
    };
    for (const auto& [status, phrase] : rfc9110) EXPECT_EQ(reason_phrase(status), phrase) << status;
}

TEST(ReasonPhrase, AnyOtherStatusHasNone) {
    for (int status : {202, 299, 307, 418, 451, 499, 502, 599, 0, 1000}) EXPECT_EQ(reason_phrase(status), "") << status;
}

}  // namespace
}  // namespace photoshare::http
