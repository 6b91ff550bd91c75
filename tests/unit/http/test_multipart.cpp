// Behaviour of the streaming multipart parser: framing, part headers, limits, hostile
// input, and the property that the split of the body never changes the result.
#include "http/multipart.hpp"
#include "multipart_test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <stdexcept>

namespace photoshare::http::testing {
namespace {

std::string part(std::string_view boundary, std::string_view headers, std::string_view data) {
    return "--" + std::string(boundary) + "\r\n" + std::string(headers) + "\r\n" + std::string(data) + "\r\n";
}

std::string field(std::string_view boundary, std::string_view name, std::string_view data) {
    return part(boundary, "Content-Disposition: form-data; name=\"" + std::string(name) + "\"\r\n", data);
}

std::string close(std::string_view boundary) { return "--" + std::string(boundary) + "--\r\n"; }

// One part whose Content-Disposition parameters are `params`; returns its headers.
PartHeaders headers_of(std::string_view disposition_params, std::string_view extra_headers = "") {
    std::string body = part("b", "Content-Disposition: form-data" + std::string(disposition_params) + "\r\n" +
                                     std::string(extra_headers),
                            "x") +
                       close("b");
    std::vector<Part> parts = expect_parts("b", body);
    return parts.empty() ? PartHeaders{} : parts[0].headers;
}

Failure failure_of(std::string_view headers_block) {
    return expect_failure("b", part("b", headers_block, "x") + close("b"));
}

// --- multipart_boundary -----------------------------------------------------------------

TEST(MultipartBoundary, TokenAndQuotedForms) {
    EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=abc"), "abc");
    EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\"abc\""), "abc");
    EXPECT_EQ(multipart_boundary("Multipart/Form-Data;BOUNDARY=abc"), "abc");
    EXPECT_EQ(multipart_boundary("multipart/form-data; charset=utf-8; boundary=----WebKitFormBoundaryx"),
              "----WebKitFormBoundaryx");
    EXPECT_EQ(multipart_boundary("multipart/form-data ; boundary = \"a b'()+_,-./:=?\" ; x=y"), "a b'()+_,-./:=?");
    EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=abc;"), "abc");
}

TEST(MultipartBoundary, LengthIsOneToSeventy) {
    EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=" + std::string(70, 'x')), std::string(70, 'x'));
    EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'x')), std::nullopt);
    EXPECT_EQ(multipart_boundary("multipart/form-data; boundary="), std::nullopt);
    EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\"\""), std::nullopt);
}

TEST(MultipartBoundary, RefusesWhatIsNotAUsableBoundary) {
    for (const char* ct : {"multipart/form-data", "multipart/form-data; charset=utf-8", "multipart/mixed; boundary=abc",
                           "application/x-www-form-urlencoded", "text/plain; boundary=abc", "",
                           "multipart/form-data; boundary=\"abc ",           // space may not end it
                           "multipart/form-data; boundary=\"abc \"",         // ... nor when quoted
                           "multipart/form-data; boundary=a\\b",             // '\' is not a bchar
                           "multipart/form-data; boundary=a;b",              // ';' ends the token: "a" is fine, "b" is no param
                           "multipart/form-data; boundary=\"a\r\nb\"",       // CR LF
                           "multipart/form-data; boundary=a%00",             // not a bchar
                           "multipart/form-data; boundary=\"unterminated",   // quote
                           "multipart/form-data; boundary=a; boundary=b",    // ambiguous
                           "multipart/form-data; boundary=\xc3\xa9"}) {      // non-ASCII
        EXPECT_EQ(multipart_boundary(ct), std::nullopt) << ct;
    }
}

TEST(MultipartBoundary, ParserRefusesAnInvalidBoundaryToo) {
    EXPECT_THROW(MultipartParser("", {}), HttpError);
    EXPECT_THROW(MultipartParser(std::string(71, 'a'), {}), HttpError);
    EXPECT_THROW(MultipartParser("a\rb", {}), HttpError);
    EXPECT_THROW(MultipartParser("trailing ", {}), HttpError);
    EXPECT_NO_THROW(MultipartParser("in side", {}));
}

// --- framing ------------------------------------------------------------------------------

TEST(Multipart, FieldsAndFiles) {
    std::string body = field("xyz", "title", "Hello") +
                       part("xyz",
                            "Content-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\r\n"
                            "Content-Type: image/jpeg\r\n",
                            std::string("\xff\xd8\x00\r\n\xff\xd9", 7)) +
                       close("xyz");
    auto parts = expect_parts("xyz", body);
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].headers.name, "title");
    EXPECT_EQ(parts[0].headers.filename, std::nullopt);
    EXPECT_EQ(parts[0].headers.content_type, "text/plain");
    EXPECT_EQ(parts[0].data, "Hello");
    EXPECT_EQ(parts[1].headers.name, "photo");
    EXPECT_EQ(parts[1].headers.filename, "a.jpg");
    EXPECT_EQ(parts[1].headers.content_type, "image/jpeg");
    EXPECT_EQ(parts[1].data, std::string("\xff\xd8\x00\r\n\xff\xd9", 7));
}

TEST(Multipart, EmptyValuesAndEmptyForm) {
    auto parts = expect_parts("b", field("b", "a", "") + field("b", "c", "") + close("b"));
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].data, "");
    EXPECT_EQ(parts[0].data_calls, 0u);
    EXPECT_TRUE(parts[0].ended);
    EXPECT_TRUE(expect_parts("b", "--b--").empty());
    EXPECT_TRUE(expect_parts("b", "--b--\r\n").empty());
}

TEST(Multipart, PreambleAndEpilogueAreIgnored) {
    std::string body = "preamble --b\r\n--b-- not yet\r\n\r\n" + field("b", "a", "1") + "--b--\r\nepilogue\r\n--b\r\n";
    auto parts = expect_parts("b", body);
    ASSERT_EQ(parts.size(), 1u);
    EXPECT_EQ(parts[0].data, "1");
    // Nothing after the closing boundary is looked at, not even garbage.
    using namespace std::string_literals;  // the garbage starts with a NUL
    EXPECT_EQ(expect_parts("b", field("b", "a", "1") + "--b--\r\n\x00\xff garbage"s).size(), 1u);
}

TEST(Multipart, ClosingBoundaryMayEndTheBodyWithPaddingAndNoCrlf) {
    EXPECT_EQ(expect_parts("b", field("b", "a", "1") + "--b--").size(), 1u);
    EXPECT_EQ(expect_parts("b", field("b", "a", "1") + "--b-- \t").size(), 1u);
    EXPECT_EQ(expect_parts("b", field("b", "a", "1") + "--b--  \r\n").size(), 1u);
}

TEST(Multipart, TransportPaddingAfterBoundary) {
    std::string body = "--b \t \r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--b\t\r\n"
                       "Content-Disposition: form-data; name=c\r\n\r\n2\r\n--b--";
    auto parts = expect_parts("b", body);
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[1].data, "2");
    Failure f = expect_failure("b", "--b" + std::string(65, ' ') + "\r\n");
    EXPECT_EQ(f.status, 400);
}

// Text that looks like a boundary but is not a whole delimiter line is data.
TEST(Multipart, BoundaryLookalikesInsideDataArePassedThrough) {
    const std::vector<std::string> lookalikes = {
        "--b",           "x\r\n--bb",         "\r\n--bx",      "\r\n--b x\r\n",     "\r\n--b-",
        "\r\n--b-x",     "\r\n--b--x",        "\r\n--b--\rx",  "\r\n--b\rx",        "\r\n--b \r \n",
        "\r\n-b\r\n",    "\r\n--B\r\n",       "\n--b\r\n",     "\r--b\r\n",         "\r\r\n--c",
        "\r\n--\r\n--",  "--b--",             "\r\n--b\t\tx",  "\r\n\r\n\r\n--",    "\r\n--b--\t\ty",
    };
    for (const std::string& data : lookalikes) {
        auto parts = expect_parts("b", field("b", "a", data) + close("b"));
        ASSERT_EQ(parts.size(), 1u) << data;
        EXPECT_EQ(parts[0].data, data);
    }
}

TEST(Multipart, DataEndingInCrIsKept) {
    // formidable's rfc1867 example: the CR before the delimiter's CRLF belongs to the data.
    std::string body =
        "--AaB03x\r\ncontent-disposition: form-data; name=\"field1\"\r\n\r\nJoe Blow\r\nalmost tricked you!\r\n"
        "--AaB03x\r\ncontent-disposition: form-data; name=\"pics\"; filename=\"file1.txt\"\r\n"
        "Content-Type: text/plain\r\n\r\n... contents of file1.txt ...\r\r\n--AaB03x--";
    for (std::string tail : {"", "\r\n"}) {
        auto parts = expect_parts("AaB03x", body + tail);
        ASSERT_EQ(parts.size(), 2u);
        EXPECT_EQ(parts[0].data, "Joe Blow\r\nalmost tricked you!");
        EXPECT_EQ(parts[1].headers.filename, "file1.txt");
        EXPECT_EQ(parts[1].data, "... contents of file1.txt ...\r");
    }
}

TEST(Multipart, EveryByteValueIsData) {
    std::string data;
    for (int i = 0; i < 256; ++i) data.push_back(static_cast<char>(i));
    data += data;
    auto parts = expect_parts("b", field("b", "a", data) + close("b"));
    ASSERT_EQ(parts.size(), 1u);
    EXPECT_EQ(parts[0].data, data);
}

// Werkzeug's extra_leading_newlines (once hung Werkzeug 0.5).
TEST(Multipart, LeadingEmptyLines) {
    auto parts = expect_parts("foo", "\r\n\r\n--foo\r\nContent-Disposition: form-data; name=\"foo\"\r\n\r\na string\r\n--foo--");
    ASSERT_EQ(parts.size(), 1u);
    EXPECT_EQ(parts[0].data, "a string");
}

// --- truncated and malformed framing --------------------------------------------------------

TEST(Multipart, TruncatedBodiesAreErrors) {
    const std::string full = field("b", "a", "value") + close("b");
    // Every proper prefix is an error, except those that end inside the closing boundary line
    // after its "--" (the rest of that line is optional).
    const std::size_t close_hyphens = full.size() - 2;  // just past "--b--"
    for (std::size_t n = 0; n < full.size(); ++n) {
        Outcome o = parse_split("b", std::string_view(full).substr(0, n), 0);
        if (n >= close_hyphens && n != close_hyphens + 1) {
            EXPECT_TRUE(std::holds_alternative<std::vector<Part>>(o)) << n;
        } else {
            ASSERT_TRUE(std::holds_alternative<Failure>(o)) << n;
            EXPECT_EQ(std::get<Failure>(o).status, 400);
            EXPECT_EQ(std::get<Failure>(o).code, "bad_multipart");
        }
    }
    // Werkzeug's premature_end_of_file: Werkzeug silently drops the part, we answer 400.
    Failure f = expect_failure("foo", "--foo\r\nContent-Disposition: form-data; name=\"test\"; filename=\"test.txt\"\r\n"
                                      "Content-Type: text/plain\r\n\r\nfile contents and no end");
    EXPECT_NE(f.message.find("closing boundary"), std::string::npos) << f.message;
}

TEST(Multipart, BodyWithoutAnyBoundary) {
    Failure f = expect_failure("b", "just some text\r\n-- b\r\n");
    EXPECT_EQ(f.status, 400);
    EXPECT_NE(f.message.find("no boundary"), std::string::npos) << f.message;
}

// Werkzeug's nonstandard_line_endings: Werkzeug accepts bare LF and bare CR; RFC 2046
// requires CRLF and no browser sends anything else, so we refuse.
TEST(Multipart, BareLfOrCrFramingIsRefused) {
    for (std::string eol : {"\n", "\r"}) {
        std::string body = "--foo" + eol + "Content-Disposition: form-data; name=foo" + eol + eol + "this is just bar" +
                           eol + "--foo" + eol + "Content-Disposition: form-data; name=bar" + eol + eol + "blafasel" +
                           eol + "--foo--";
        EXPECT_EQ(expect_failure("foo", body).status, 400);
    }
    std::string crlf = "--foo\r\nContent-Disposition: form-data; name=foo\r\n\r\nthis is just bar\r\n--foo\r\n"
                       "Content-Disposition: form-data; name=bar\r\n\r\nblafasel\r\n--foo--";
    auto parts = expect_parts("foo", crlf);
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].data, "this is just bar");
    EXPECT_EQ(parts[1].data, "blafasel");
}

TEST(Multipart, CrLfGarbageInHeadersIsRefused) {
    for (std::string block : {"Content-Disposition: form-data; name=a\n", "Content-Disposition: form-data; name=a\r\r\n",
                              "Content-Disposition: form-data;\r name=a\r\n", "\n", "X: 1\r\nY\n: 2\r\n"}) {
        Failure f = expect_failure("b", "--b\r\n" + block + "\r\nx\r\n--b--");
        EXPECT_EQ(f.status, 400) << block;
        EXPECT_EQ(f.code, "bad_multipart");
    }
}

TEST(Multipart, ControlCharactersInHeadersAreRefused) {
    for (char c : {'\0', '\x01', '\x1b', '\x7f'}) {
        std::string block = "Content-Disposition: form-data; name=\"a";
        block += c;
        block += "\"\r\n";
        EXPECT_EQ(failure_of(block).status, 400) << int(c);
    }
}

// --- part headers ----------------------------------------------------------------------------

TEST(PartHeaders, NameAndFilename) {
    EXPECT_EQ(headers_of("; name=\"a\"").name, "a");
    EXPECT_EQ(headers_of("; name=a").name, "a");
    EXPECT_EQ(headers_of("; name=\"\"").name, "");
    EXPECT_EQ(headers_of(";name=\"a\";filename=\"f.txt\"").filename, "f.txt");
    EXPECT_EQ(headers_of("; name=\"a\"; filename=\"\"").filename, "");
    EXPECT_EQ(headers_of("; NAME=\"a\"; FileName=f.txt").filename, "f.txt");
    EXPECT_EQ(headers_of("; name=\"\xc3\xa9\xff\"").name, "\xc3\xa9\xff");  // bytes pass through
}

TEST(PartHeaders, QuotedStringEscapes) {
    EXPECT_EQ(headers_of("; name=\"a\\\"b\"").name, "a\"b");
    EXPECT_EQ(headers_of("; name=\"a\\\\b\"").name, "a\\b");
    EXPECT_EQ(headers_of("; name=\"a;b\"").name, "a;b");
    EXPECT_EQ(headers_of("; name=\"a\\;b\"").name, "a\\;b");  // only \" and \\ are escapes
    EXPECT_EQ(headers_of("; name=\"a\" ; filename=\"x\\\"y.txt\"").filename, "x\"y.txt");
    // A raw quote not followed by ';' or the end is part of the value (old Firefox and IE).
    EXPECT_EQ(headers_of("; name=\"a\"; filename=\"say \"hi\".txt\"").filename, "say \"hi\".txt");
}

TEST(PartHeaders, DirectoriesAreStrippedFromFilenames) {
    EXPECT_EQ(headers_of("; name=f; filename=\"C:\\Users\\x\\a.png\"").filename, "a.png");
    EXPECT_EQ(headers_of("; name=f; filename=\"\\\\server\\share\\b.png\"").filename, "b.png");
    EXPECT_EQ(headers_of("; name=f; filename=\"../../etc/passwd\"").filename, "passwd");
    EXPECT_EQ(headers_of("; name=f; filename=\"/abs/dir/\"").filename, "");
    EXPECT_EQ(headers_of("; name=f; filename*=UTF-8''..%2F..%2Fx.png").filename, "x.png");
    EXPECT_EQ(headers_of("; name=f; filename*=UTF-8''..%5Cx.png").filename, "x.png");
}

TEST(PartHeaders, HtmlStandardQuoteEscapeInFilename) {
    EXPECT_EQ(headers_of("; name=f; filename=\"a%22b.txt\"").filename, "a\"b.txt");
    EXPECT_EQ(headers_of("; name=f; filename=\"100%.txt\"").filename, "100%.txt");
    EXPECT_EQ(headers_of("; name=f; filename=\"a%20b.txt\"").filename, "a%20b.txt");
}

TEST(PartHeaders, ExtendedFilenameIsPreferred) {
    EXPECT_EQ(headers_of("; name=f; filename=\"EUR rates.txt\"; filename*=UTF-8''%e2%82%ac%20rates.txt").filename,
              "\xe2\x82\xac rates.txt");
    EXPECT_EQ(headers_of("; name=f; filename*=utf-8'en'a%20b.txt; filename=\"c.txt\"").filename, "a b.txt");
    EXPECT_EQ(headers_of("; name=f; filename*=\"UTF-8''q.txt\"").filename, "q.txt");
    EXPECT_EQ(headers_of("; name=f; filename*=iso-8859-1''%A3%20rates").filename, "\xc2\xa3 rates");
    EXPECT_EQ(headers_of("; name=f; filename*=''plain").filename, "plain");
}

TEST(PartHeaders, BadExtendedFilenamesAreRefused) {
    for (const char* p : {"; name=f; filename*=UTF-8''a%zz", "; name=f; filename*=UTF-8''a%00b",
                          "; name=f; filename*=UTF-8''a%0Ab", "; name=f; filename*=noquotes",
                          "; name=f; filename*=KOI8-R''abc", "; name=f; filename*=UTF-8''a; filename*=UTF-8''b"}) {
        Failure f = failure_of(std::string("Content-Disposition: form-data") + p + "\r\n");
        EXPECT_EQ(f.status, 400) << p;
        EXPECT_EQ(f.code, "bad_multipart") << p;
    }
}

// Werkzeug's rfc2231_filename_continuations, with a folded header.
TEST(PartHeaders, Rfc2231ContinuationsAndFoldedLines) {
    auto parts = expect_parts("foo",
                              "--foo\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: form-data; "
                              "name=rfc2231;\r\n\tfilename*0*=ascii''a%20b%20;\r\n\tfilename*1*=c%20d%20;\r\n"
                              "\tfilename*2=\"e f.txt\"\r\n\r\nfile contents\r\n--foo--");
    ASSERT_EQ(parts.size(), 1u);
    EXPECT_EQ(parts[0].headers.name, "rfc2231");
    EXPECT_EQ(parts[0].headers.filename, "a b c d e f.txt");
    EXPECT_EQ(parts[0].headers.content_type, "text/plain; charset=utf-8");
    EXPECT_EQ(parts[0].data, "file contents");
    EXPECT_EQ(failure_of("Content-Disposition: form-data; name=a; filename*0=x; filename*2=y\r\n").status, 400);
    EXPECT_EQ(failure_of("Content-Disposition: form-data; name=a; filename*0=x; filename*0=y\r\n").status, 400);
    EXPECT_EQ(failure_of("Content-Disposition: form-data; name=a; filename*99=x\r\n").status, 400);
    // Not continuations: ignored like any unknown parameter.
    EXPECT_EQ(headers_of("; name=a; filename*01=x; filename*x=y").filename, std::nullopt);
    EXPECT_EQ(failure_of(" Content-Disposition: form-data; name=a\r\n").status, 400);  // fold with nothing before
}

TEST(PartHeaders, ContentType) {
    EXPECT_EQ(headers_of("; name=a", "Content-Type: image/png\r\n").content_type, "image/png");
    EXPECT_EQ(headers_of("; name=a", "content-TYPE:   image/png  \r\n").content_type, "image/png");
    EXPECT_EQ(headers_of("; name=a", "Content-Type:\r\n").content_type, "text/plain");
    // Werkzeug's part_headers: other headers are ignored.
    auto h = headers_of("; name=\"foo\"; filename=\"foo.txt\"",
                        "X-Custom-Header: blah\r\nContent-Type: text/plain; charset=utf-8\r\n");
    EXPECT_EQ(h.filename, "foo.txt");
    EXPECT_EQ(h.content_type, "text/plain; charset=utf-8");
}

TEST(PartHeaders, TransferEncoding) {
    for (const char* te : {"7bit", "8bit", "binary", "BINARY"})
        EXPECT_EQ(headers_of("; name=a", std::string("Content-Transfer-Encoding: ") + te + "\r\n").name, "a");
}

TEST(PartHeaders, BadTransferEncoding) {
    for (const char* te : {"base64", "quoted-printable", "x-gzip"}) {
        Failure f = failure_of(std::string("Content-Disposition: form-data; name=a\r\nContent-Transfer-Encoding: ") + te + "\r\n");
        EXPECT_EQ(f.status, 400) << te;
        EXPECT_NE(f.message.find("Content-Transfer-Encoding"), std::string::npos);
    }
}

TEST(PartHeaders, MissingOrWrongDispositionIsRefused) {
    for (const char* block : {
             "",                                                  // Werkzeug failure_no_content_disposition
             "Content-Type: text/plain\r\n",                      //
             "Content-Disposition: form-field; name=foo\r\n",     // Werkzeug failure_no_terminator's type
             "Content-Disposition: attachment; name=foo\r\n",     //
             "Content-Disposition: form-data\r\n",                // no name
             "Content-Disposition: form-data; filename=a.txt\r\n",
             "Content-Disposition: form-data; name=a; name=b\r\n",
             "Content-Disposition: form-data; name=a; filename=x; filename=y\r\n",
             "Content-Disposition: form-data; name=\"a\r\n",      // unterminated quote
             "Content-Disposition: form-data; name\r\n",          // no '='
             "Content-Disposition: form-data name=a\r\n",         // no ';'
             "Content-Disposition: ; name=a\r\n",                 // no type
             "Content-Disposition: form-data; name=a\r\nContent-Disposition: form-data; name=b\r\n",
             "Content-Disposition: form-data; name=a\r\nContent-Type: a/b\r\nContent-Type: c/d\r\n",
             "Content-Disposition: form-data; name=a\r\n: foo\r\n",  // formidable emptyHeader
             "Content-Disposition: form-data; name=a\r\nno colon\r\n",
             "Content-Disposition : form-data; name=a\r\n",      // space before ':'
             "Content-Disposition: form-data; name=a\r\nBad Name: x\r\n",
         }) {
        Failure f = failure_of(block);
        EXPECT_EQ(f.status, 400) << block;
        EXPECT_EQ(f.code, "bad_multipart") << block;
        EXPECT_FALSE(f.message.empty());
    }
}

// --- limits ------------------------------------------------------------------------------------

TEST(MultipartLimits, TooManyPartsIs413) {
    std::string body;
    for (int i = 0; i < 4; ++i) body += field("b", "f" + std::to_string(i), "v");
    body += close("b");
    EXPECT_EQ(expect_parts("b", body, {.max_parts = 4}).size(), 4u);
    Failure f = expect_failure("b", body, {.max_parts = 3});
    EXPECT_EQ(f.status, 413);
    EXPECT_EQ(f.code, "payload_too_large");
}

TEST(MultipartLimits, DefaultPartLimitIs1000) {
    std::string body;
    for (int i = 0; i < 1001; ++i) body += field("b", "f", "");
    body += close("b");
    Outcome o = parse_split("b", body, 0);
    ASSERT_TRUE(std::holds_alternative<Failure>(o));
    EXPECT_EQ(std::get<Failure>(o).status, 413);
    body.erase(0, field("b", "f", "").size());
    EXPECT_TRUE(std::holds_alternative<std::vector<Part>>(parse_split("b", body, 0)));
}

TEST(MultipartLimits, HeaderBlockSize) {
    std::string block = "Content-Disposition: form-data; name=a\r\nX: " + std::string(50, 'y') + "\r\n";
    const std::size_t exact = block.size() + 2;  // with the empty line
    std::string body = part("b", block, "v") + close("b");
    EXPECT_EQ(expect_parts("b", body, {.max_part_header_bytes = exact}).size(), 1u);
    Failure f = expect_failure("b", body, {.max_part_header_bytes = exact - 1});
    EXPECT_EQ(f.status, 400);
    EXPECT_NE(f.message.find("larger than"), std::string::npos);
    // The default: one 16 KiB header line is too much, and no amount of header bytes is
    // buffered beyond the limit even when the blank line never comes.
    Outcome o = parse_split("b", "--b\r\nX: " + std::string(1 << 20, 'z'), 4096);
    ASSERT_TRUE(std::holds_alternative<Failure>(o));
    EXPECT_NE(std::get<Failure>(o).message.find("16384"), std::string::npos);
}

// --- streaming ---------------------------------------------------------------------------------

TEST(MultipartStreaming, LargeFileArrivesInLargeSpans) {
    const std::string boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
    std::string data(25 << 20, '\0');
    std::mt19937 rng(7);
    for (char& c : data) c = static_cast<char>(rng());
    std::string body = part(boundary, "Content-Disposition: form-data; name=\"photo\"; filename=\"big.jpg\"\r\n", data) +
                       close(boundary);
    std::size_t calls = 0, bytes = 0;
    MultipartCallbacks cb;
    cb.on_part_data = [&](std::string_view d) {
        ++calls;
        bytes += d.size();
    };
    MultipartParser parser(boundary, cb);
    const std::size_t chunk = 64 << 10;
    for (std::size_t i = 0; i < body.size(); i += chunk) parser.feed(std::string_view(body).substr(i, chunk));
    parser.finish();
    EXPECT_EQ(bytes, data.size());
    EXPECT_LE(calls, 2 * (body.size() / chunk + 2));
    EXPECT_GE(data.size() / calls, 16u << 10) << "average span too small";
}

// Adversarial boundary and data for a naive or Boyer-Moore search: linear time expected.
TEST(MultipartStreaming, RepetitiveDataStaysLinear) {
    const std::string boundary(70, 'a');
    std::string data;
    while (data.size() < (4 << 20)) data += "\r\n--" + std::string(69, 'a') + "b";
    data += std::string(1 << 20, 'a');
    std::size_t bytes = 0;
    MultipartCallbacks cb;
    cb.on_part_data = [&](std::string_view d) { bytes += d.size(); };
    MultipartParser parser(boundary, cb);
    auto started = std::chrono::steady_clock::now();
    parser.feed("--" + boundary + "\r\nContent-Disposition: form-data; name=a\r\n\r\n");
    parser.feed(data);
    parser.feed("\r\n--" + boundary + "--");
    parser.finish();
    EXPECT_EQ(bytes, data.size());
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
}

// Random bodies full of near-boundaries, CRs and LFs: every split gives the same result.
TEST(MultipartStreaming, RandomBodiesAreSplitIndependent) {
    std::mt19937 rng(20240229);
    const std::string boundary = "q-Z9";
    const std::vector<std::string> atoms = {"\r", "\n", "\r\n", "-", "--", "q", "-Z9", "q-Z9", "--q-Z9", "\r\n--q-Z9",
                                            " ", "\t", "x", std::string(1, '\0'), "\r\n--q-Z9--", "\r\n--q-Z9\r\n"};
    int with_parts = 0, with_errors = 0;
    for (int round = 0; round < 300; ++round) {
        std::string body;
        int nparts = static_cast<int>(rng() % 4);
        if (rng() % 3 == 0) body += atoms[rng() % atoms.size()];  // preamble
        for (int p = 0; p < nparts; ++p) {
            std::string data;
            int natoms = static_cast<int>(rng() % 12);
            for (int a = 0; a < natoms; ++a) data += atoms[rng() % atoms.size()];
            body += field(boundary, "f" + std::to_string(p), data);
        }
        if (rng() % 5 != 0) body += close(boundary);
        if (rng() % 4 == 0) body += atoms[rng() % atoms.size()];  // epilogue
        Outcome whole = parse_every_way(boundary, body);
        std::holds_alternative<Failure>(whole) ? ++with_errors : ++with_parts;
        for (int s = 0; s < 5; ++s) {  // random cut points too
            std::vector<std::size_t> cuts = {0, body.size()};
            for (int c = 0; c < 4; ++c) cuts.push_back(rng() % (body.size() + 1));
            std::sort(cuts.begin(), cuts.end());
            std::vector<Part> parts;
            Outcome random_split = [&]() -> Outcome {
                MultipartCallbacks cb;
                cb.on_part_begin = [&](const PartHeaders& h) { parts.push_back(Part{h, {}, 0, false}); };
                cb.on_part_data = [&](std::string_view d) { parts.back().data.append(d), ++parts.back().data_calls; };
                cb.on_part_end = [&] { parts.back().ended = true; };
                try {
                    MultipartParser parser(boundary, cb);
                    for (std::size_t c = 0; c + 1 < cuts.size(); ++c)
                        parser.feed(std::string_view(body).substr(cuts[c], cuts[c + 1] - cuts[c]));
                    parser.finish();
                } catch (const HttpError& e) {
                    return Failure{e.status(), e.code(), e.what()};
                }
                return parts;
            }();
            EXPECT_TRUE(random_split == whole) << "round " << round;
        }
    }
    EXPECT_GT(with_parts, 50);
    EXPECT_GT(with_errors, 20);
}

TEST(MultipartStreaming, UnusableAfterAnError) {
    MultipartParser parser("b", {});
    EXPECT_THROW(parser.feed("--b\r\n\n"), HttpError);
    EXPECT_THROW(parser.feed("x"), std::logic_error);
    EXPECT_THROW(parser.finish(), std::logic_error);
}

TEST(MultipartStreaming, CallbackExceptionsPassThroughAndStopTheParser) {
    MultipartCallbacks cb;
    cb.on_part_data = [](std::string_view) { throw HttpError(413, "payload_too_large", "field too long"); };
    MultipartParser parser("b", cb);
    try {
        parser.feed(field("b", "a", "too long") + close("b"));
        FAIL() << "no exception";
    } catch (const HttpError& e) {
        EXPECT_EQ(e.status(), 413);
    }
    EXPECT_THROW(parser.feed("x"), std::logic_error);
}

TEST(MultipartStreaming, FinishTwiceAndFeedAfterCloseAreHarmless) {
    MultipartParser parser("b", {});
    parser.feed(field("b", "a", "1") + close("b"));
    EXPECT_TRUE(parser.complete());
    parser.feed("--b\r\nanything");
    parser.finish();
    parser.finish();
    EXPECT_EQ(parser.parts(), 1u);
}

TEST(MultipartStreaming, EmptyCallbacksAreAllowed) {
    MultipartParser parser("b", {});
    parser.feed(field("b", "a", "1") + close("b"));
    parser.finish();
    EXPECT_TRUE(parser.complete());
}

}  // namespace
}  // namespace photoshare::http::testing
