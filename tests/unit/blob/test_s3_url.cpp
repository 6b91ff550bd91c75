// s3:// URLs: what each option does, what is refused, and that no secret leaks from either.
#include <gtest/gtest.h>

#include "blob/blob.hpp"
#include "blob/s3.hpp"
#include "blob/xml.hpp"
#include "s3_support.hpp"

namespace photoshare::blob {
namespace {

using namespace std::chrono_literals;

std::string error_of(const std::string& url) {
    try {
        s3::parse_url(url);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "no error";
}

TEST(S3Url, Defaults) {
    const auto o = s3::parse_url("s3://my-bucket");
    EXPECT_EQ(o.bucket, "my-bucket");
    EXPECT_EQ(o.prefix, "");
    EXPECT_EQ(o.region, "us-east-1");
    EXPECT_EQ(o.scheme, "https");
    EXPECT_EQ(o.endpoint_host, "s3.us-east-1.amazonaws.com");
    EXPECT_FALSE(o.path_style);
    EXPECT_FALSE(o.endpoint_given);
    EXPECT_EQ(o.credentials.access_key_id, "");
    EXPECT_EQ(o.timeout, 30s);
    EXPECT_EQ(o.connect_timeout, 2s);
    EXPECT_EQ(o.retries, 3);
    EXPECT_EQ(o.multipart_threshold, 8u << 20);
    EXPECT_EQ(o.part_size, 8u << 20);
}

TEST(S3Url, EveryOption) {
    const auto o = s3::parse_url(
        "s3://bucket/media/photos/?region=eu-west-1&endpoint=http://127.0.0.1:4569/&path_style=true"
        "&access_key_id=AKIDEXAMPLE&secret_access_key=wJalr%2FK7MDENG%2Bbx%2Bc&session_token=tok%3D"
        "&timeout=2.5&connect_timeout=1&retries=5&multipart_threshold=16MiB&part_size=6MiB");
    EXPECT_EQ(o.bucket, "bucket");
    EXPECT_EQ(o.prefix, "media/photos");
    EXPECT_EQ(o.region, "eu-west-1");
    EXPECT_EQ(o.scheme, "http");
    EXPECT_EQ(o.endpoint_host, "127.0.0.1:4569");
    EXPECT_TRUE(o.path_style);
    EXPECT_EQ(o.credentials.access_key_id, "AKIDEXAMPLE");
    EXPECT_EQ(o.credentials.secret_access_key, "wJalr/K7MDENG+bx+c");
    EXPECT_EQ(o.credentials.session_token, "tok=");
    EXPECT_EQ(o.timeout, 2500ms);
    EXPECT_EQ(o.connect_timeout, 1s);
    EXPECT_EQ(o.retries, 5);
    EXPECT_EQ(o.multipart_threshold, 16u << 20);
    EXPECT_EQ(o.part_size, 6u << 20);
}

TEST(S3Url, PlusStaysPlusAndTheDefaultEndpointFollowsTheRegion) {
    const auto o = s3::parse_url("s3://b-1/p?region=ap-south-1&secret_access_key=a+b&access_key_id=k");
    EXPECT_EQ(o.credentials.secret_access_key, "a+b");
    EXPECT_EQ(o.endpoint_host, "s3.ap-south-1.amazonaws.com");
    EXPECT_EQ(s3::parse_url("s3://bkt?endpoint=https://minio.example:443").endpoint_host, "minio.example");
    EXPECT_EQ(s3::parse_url("s3://bkt?endpoint=https://minio.example:9000").endpoint_host, "minio.example:9000");
}

TEST(S3Url, MalformedUrlsAreRefusedWithTheReason) {
    EXPECT_NE(error_of("s3://").find("bucket"), std::string::npos);
    EXPECT_NE(error_of("s3:///prefix").find("bucket"), std::string::npos);
    EXPECT_NE(error_of("s3://b/x?endpoint=ftp://h").find("endpoint"), std::string::npos);
    EXPECT_NE(error_of("s3://bkt?endpoint=127.0.0.1:9000").find("endpoint"), std::string::npos);
    EXPECT_NE(error_of("s3://bkt?endpoint=http://h/some/path").find("endpoint"), std::string::npos);
    EXPECT_NE(error_of("s3://bkt?region=EU_WEST").find("region"), std::string::npos);
    EXPECT_NE(error_of("s3://bkt?path_style=maybe").find("path_style"), std::string::npos);
    EXPECT_NE(error_of("s3://bkt?timeout=0").find("timeout"), std::string::npos);
    EXPECT_NE(error_of("s3://bkt?retries=11").find("retries"), std::string::npos);
    EXPECT_NE(error_of("s3://bkt?part_size=1MiB").find("part_size"), std::string::npos);
    EXPECT_NE(error_of("s3://bkt?multipart_threshold=8XB").find("multipart_threshold"), std::string::npos);
    EXPECT_NE(error_of("s3://bkt/a/../b").find("prefix"), std::string::npos);
    EXPECT_NE(error_of("s3://bkt/a%00b").find("%00"), std::string::npos);
    EXPECT_NE(error_of("s3://bkt/a%zz").find("%-escape"), std::string::npos);
    EXPECT_NE(error_of("s3://Upper_Case").find("path_style"), std::string::npos);
    EXPECT_EQ(error_of("s3://Upper_Case?path_style=true"), "no error");
    EXPECT_NE(error_of("s3://bkt#frag").find("fragment"), std::string::npos);
}

TEST(S3Url, SecretsNeverAppearInErrors) {
    const std::string secret = "Sup3rSecretValue";
    for (const std::string& url : {
             "s3://AKID:" + secret + "@bucket",
             "s3://bkt?secret_acces_key=" + secret,
             "s3://bkt?access_key_id=AKID&secret_access_key=" + secret + "&region=" + secret + "!",
             "s3://bkt?secret_access_key=" + secret + "%zz",
         }) {
        const std::string error = error_of(url);
        EXPECT_NE(error, "no error") << url;
        EXPECT_EQ(error.find(secret), std::string::npos) << error;
    }
    // open() says which scheme, never the URL.
    try {
        open("s3://bkt?secret_access_key=" + secret + "&bogus=1");
        ADD_FAILURE() << "no error";
    } catch (const std::invalid_argument& e) {
        EXPECT_EQ(std::string(e.what()).find(secret), std::string::npos) << e.what();
    }
}

TEST(S3Url, HalfGivenCredentialsAreRefused) {
    EXPECT_THROW(open("s3://bkt?access_key_id=AKID"), std::invalid_argument);
    EXPECT_THROW(open("s3://bkt?secret_access_key=x"), std::invalid_argument);
    EXPECT_THROW(open("s3://bkt?session_token=x"), std::invalid_argument);
}

TEST(S3Url, DescribeNamesWhereButNoSecret) {
    auto store = open("s3://bkt/pre/fix?region=eu-west-1&endpoint=http://127.0.0.1:9&path_style=true"
                      "&access_key_id=AKIDEXAMPLE&secret_access_key=TopSecret&session_token=TokenSecret");
    const std::string text = store->describe();
    EXPECT_EQ(text, "s3://bkt/pre/fix (region eu-west-1, endpoint http://127.0.0.1:9, path style, credentials from configuration)");
    EXPECT_EQ(store->local_path("abc.jpg"), std::nullopt);
    auto aws = open("s3://bkt?access_key_id=a&secret_access_key=b");
    EXPECT_EQ(aws->describe(), "s3://bkt (region us-east-1, credentials from configuration)");
}

TEST(S3Xml, ValuesByTag) {
    const std::string doc =
        "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<KeyCount>2</KeyCount><Contents><Key>a&amp;b</Key></Contents><Contents><Key>c&#x41;&#66;</Key></Contents>"
        "<NextContinuationToken>1/a+b=</NextContinuationToken><Empty/></ListBucketResult>";
    EXPECT_EQ(xml::all(doc, "Key"), (std::vector<std::string>{"a&b", "cAB"}));
    EXPECT_EQ(xml::first(doc, "KeyCount"), "2");
    EXPECT_EQ(xml::first(doc, "NextContinuationToken"), "1/a+b=");
    EXPECT_EQ(xml::first(doc, "Empty"), "");
    EXPECT_EQ(xml::first(doc, "Missing"), std::nullopt);
    EXPECT_EQ(xml::escape("\"a\"<&>'"), "&quot;a&quot;&lt;&amp;&gt;&apos;");
}

}  // namespace
}  // namespace photoshare::blob
