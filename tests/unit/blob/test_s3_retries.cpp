// Retries, timeouts and error messages, against a fake server that fails on purpose
// (s3rver cannot be told to answer 503).
#include <gtest/gtest.h>

#include <atomic>

#include "blob/blob.hpp"
#include "blob/s3.hpp"
#include "s3_support.hpp"
#include "support/ports.hpp"

namespace photoshare::blob {
namespace {

using namespace std::chrono_literals;
using testing::FakeHttpServer;
using testing::FakeReply;
using testing::FakeRequest;
using testing::s3_error;
using testing::timed;

const std::string secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY";

std::string url_for(const FakeHttpServer& server, const std::string& extra = "") {
    return "s3://bucket/pre?endpoint=" + server.endpoint() + "&path_style=true&access_key_id=AKIDEXAMPLE&secret_access_key=" +
           secret + extra;
}

std::string unavailable_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Unavailable& e) {
        return e.what();
    } catch (const std::exception& e) {
        return std::string("not Unavailable: ") + e.what();
    }
    return "no Unavailable";
}

TEST(S3Retries, TwoServiceUnavailableThenSuccess) {
    std::atomic<int> n{0};
    FakeHttpServer server([&](const FakeRequest&) {
        if (++n <= 2) return FakeReply{.status = 503, .body = s3_error("ServiceUnavailable", "Please retry")};
        return FakeReply{.status = 200, .headers = {{"ETag", "\"abc\""}}};
    });
    auto store = open(url_for(server));
    store->put("photo.jpg", "jpeg bytes", {.content_type = "image/jpeg", .cache_control = "public, max-age=60"});
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 3u);
    for (const auto& r : requests) {
        EXPECT_EQ(r.method, "PUT");
        EXPECT_EQ(r.target, "/bucket/pre/photo.jpg");
        EXPECT_EQ(r.body, "jpeg bytes");
        EXPECT_EQ(r.header("content-type"), "image/jpeg");
        EXPECT_EQ(r.header("cache-control"), "public, max-age=60");
        EXPECT_EQ(r.header("host"), "127.0.0.1:" + std::to_string(server.port()));
        EXPECT_FALSE(r.header("x-amz-checksum-sha256").empty());
        EXPECT_EQ(r.header("x-amz-content-sha256").size(), 64u);  // the payload is signed
        EXPECT_TRUE(r.header("authorization").starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")) << r.header("authorization");
        EXPECT_EQ(r.header("expect"), "");
    }
}

TEST(S3Retries, SlowDownAnd429AreRetriedToo) {
    std::atomic<int> n{0};
    FakeHttpServer server([&](const FakeRequest&) {
        const int i = ++n;
        if (i == 1) return FakeReply{.status = 503, .body = s3_error("SlowDown", "Please reduce your request rate.")};
        if (i == 2) return FakeReply{.status = 429, .body = s3_error("TooManyRequests", "")};
        if (i == 3) return FakeReply{.status = 400, .body = s3_error("RequestTimeout", "Your socket connection timed out")};
        return FakeReply{.status = 200, .body = "data"};
    });
    auto store = open(url_for(server));
    EXPECT_EQ(store->get("a.jpg"), "data");
    EXPECT_EQ(server.count(), 4u);
}

TEST(S3Retries, AlwaysFailingGivesUpAfterTheBoundedRetries) {
    FakeHttpServer server([](const FakeRequest&) {
        return FakeReply{.status = 500, .body = s3_error("InternalError", "We encountered an internal error. Please try again.")};
    });
    auto store = open(url_for(server));
    std::string error;
    const auto took = timed([&] { error = unavailable_of([&] { store->put("photo.jpg", "x", {}); }); });
    EXPECT_EQ(server.count(), 4u) << "one attempt and three retries";
    EXPECT_NE(error.find("put photo.jpg: HTTP 500 InternalError: We encountered an internal error"), std::string::npos) << error;
    EXPECT_NE(error.find("gave up after 4 attempts"), std::string::npos) << error;
    EXPECT_EQ(error.find(secret), std::string::npos) << error;
    EXPECT_LT(took, 3s);

    auto no_retries = open(url_for(server, "&retries=0"));
    const std::size_t before = server.count();
    EXPECT_NE(unavailable_of([&] { no_retries->get("a.jpg"); }).find("HTTP 500"), std::string::npos);
    EXPECT_EQ(server.count(), before + 1);
}

TEST(S3Retries, ClientErrorsAreNotRetried) {
    FakeHttpServer server([](const FakeRequest&) {
        return FakeReply{.status = 400, .body = s3_error("InvalidArgument", "Bad thing")};
    });
    auto store = open(url_for(server));
    const std::string error = unavailable_of([&] { store->put("photo.jpg", "x", {}); });
    EXPECT_EQ(server.count(), 1u);
    EXPECT_NE(error.find("HTTP 400 InvalidArgument: Bad thing"), std::string::npos) << error;
}

TEST(S3Retries, DroppedConnectionsAreRetried) {
    std::atomic<int> n{0};
    FakeHttpServer server([&](const FakeRequest&) {
        if (++n == 1) return FakeReply{.drop = true};
        return FakeReply{.status = 204};
    });
    auto store = open(url_for(server));
    EXPECT_NO_THROW(store->remove("a.jpg"));
    EXPECT_EQ(server.count(), 2u);
    EXPECT_EQ(server.requests()[0].method, "DELETE");
}

TEST(S3Retries, AHungServerTimesOut) {
    FakeHttpServer server([](const FakeRequest&) { return FakeReply{.hang = true}; });
    auto store = open(url_for(server, "&timeout=0.5&retries=1"));
    std::string error;
    const auto took = timed([&] { error = unavailable_of([&] { store->get("a.jpg"); }); });
    EXPECT_GE(took, 1s);
    EXPECT_LT(took, 3s);
    EXPECT_NE(error.find("get a.jpg"), std::string::npos) << error;
    EXPECT_NE(error.find("gave up after 2 attempts"), std::string::npos) << error;
    EXPECT_EQ(server.count(), 2u);

    // A streaming read has no total limit, but its answer must begin within the timeout.
    const auto stream_took = timed([&] {
        error = unavailable_of([&] { store->stream("a.jpg", [](std::string_view) { return true; }, nullptr); });
    });
    EXPECT_LT(stream_took, 3s);
    EXPECT_NE(error.find("no answer within 500 ms"), std::string::npos) << error;
}

TEST(S3Retries, NobodyListeningFailsFast) {
    const int port = pstest::free_port();
    auto store = open("s3://bucket?endpoint=http://127.0.0.1:" + std::to_string(port) +
                      "&path_style=true&access_key_id=a&secret_access_key=" + secret);
    std::string error;
    // An operation retries (connection refused is quick), then says how often it tried.
    auto took = timed([&] { error = unavailable_of([&] { store->get("a.jpg"); }); });
    EXPECT_LT(took, 3s);
    EXPECT_NE(error.find("s3://bucket at http://127.0.0.1:" + std::to_string(port) + ": get a.jpg"), std::string::npos) << error;
    EXPECT_NE(error.find("gave up after 4 attempts"), std::string::npos) << error;

    // The health check is one short attempt: readiness is asked every second.
    took = timed([&] { error = unavailable_of([&] { store->check(); }); });
    EXPECT_LT(took, 2s);
    EXPECT_NE(error.find("s3://bucket at http://127.0.0.1:" + std::to_string(port) + ": check"), std::string::npos) << error;
    EXPECT_NE(error.find("connect"), std::string::npos) << error;
    EXPECT_EQ(error.find("attempts"), std::string::npos) << error;
}

TEST(S3Retries, StreamsAreRetriedBeforeTheFirstByteOnly) {
    std::atomic<int> n{0};
    FakeHttpServer server([&](const FakeRequest&) {
        if (++n == 1) return FakeReply{.status = 503, .body = s3_error("SlowDown", "")};
        return FakeReply{.status = 200, .headers = {{"Content-Type", "image/webp"}, {"ETag", "\"e1\""}}, .body = "webp!"};
    });
    auto store = open(url_for(server));
    ObjectMeta meta;
    std::string got;
    store->stream("a.webp", [&](std::string_view c) { got += c; return true; }, &meta);
    EXPECT_EQ(got, "webp!");
    EXPECT_EQ(meta.content_type, "image/webp");
    EXPECT_EQ(meta.etag, "\"e1\"");
    EXPECT_EQ(meta.size, 5u);
    EXPECT_EQ(server.count(), 2u);
}

TEST(S3Errors, RejectedCredentialsAreSaidSo) {
    FakeHttpServer server([](const FakeRequest& r) {
        if (r.method == "HEAD") return FakeReply{.status = 403};
        return FakeReply{.status = 403,
                         .body = s3_error("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")};
    });
    auto store = open(url_for(server));
    std::string error = unavailable_of([&] { store->check(); });
    EXPECT_NE(error.find("credentials rejected (403 InvalidAccessKeyId: The AWS Access Key Id"), std::string::npos) << error;
    EXPECT_EQ(error.find(secret), std::string::npos);
    EXPECT_EQ(server.count(), 1u) << "a 403 is not retried";
    error = unavailable_of([&] { store->exists("a.jpg"); });
    EXPECT_NE(error.find("credentials rejected (403)"), std::string::npos) << error;
}

TEST(S3Errors, AMissingBucketIsSaidSo) {
    FakeHttpServer server([](const FakeRequest&) {
        return FakeReply{.status = 404, .body = s3_error("NoSuchBucket", "The specified bucket does not exist")};
    });
    auto store = open(url_for(server));
    const std::string error = unavailable_of([&] { store->check(); });
    EXPECT_NE(error.find("bucket bucket does not exist (404)"), std::string::npos) << error;
    // get() of a key in a missing bucket is an outage, not an absent object.
    EXPECT_NE(unavailable_of([&] { store->get("a.jpg"); }).find("does not exist (404)"), std::string::npos);
}

TEST(S3Requests, ListFollowsTokensAndKeepsOnlyKeysRightUnderThePrefix) {
    FakeHttpServer server([&](const FakeRequest& r) {
        if (r.target.find("continuation-token") == std::string::npos) {
            return FakeReply{.status = 200,
                             .body = "<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>p/a b/c.jpg</Key></Contents>"
                                     "<Contents><Key>p/b.jpg</Key></Contents><NextContinuationToken>1/x+y=</NextContinuationToken>"
                                     "</ListBucketResult>"};
        }
        return FakeReply{.status = 200,
                         .body = "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>p/a.jpg</Key></Contents>"
                                 "</ListBucketResult>"};
    });
    auto store = open("s3://bucket/p?endpoint=" + server.endpoint() + "&path_style=true&access_key_id=a&secret_access_key=b");
    EXPECT_EQ(store->list(), (std::vector<std::string>{"a.jpg", "b.jpg"}));
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[0].target, "/bucket?list-type=2&max-keys=1000&prefix=p%2F");
    EXPECT_EQ(requests[1].target, "/bucket?list-type=2&max-keys=1000&prefix=p%2F&continuation-token=1%2Fx%2By%3D");
}

TEST(S3Requests, VirtualHostStyleNamesTheBucketInTheHost) {
    FakeHttpServer server([](const FakeRequest&) { return FakeReply{.status = 200, .body = "x"}; });
    // libcurl resolves *.localhost to the loopback address (RFC 6761).
    auto store = open("s3://my-bucket/p?endpoint=http://localhost:" + std::to_string(server.port()) +
                      "&access_key_id=a&secret_access_key=b");
    EXPECT_EQ(store->get("a.jpg"), "x");
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].header("host"), "my-bucket.localhost:" + std::to_string(server.port()));
    EXPECT_EQ(requests[0].target, "/p/a.jpg");
    const auto url = store->presigned_url("a.jpg", 60s);
    ASSERT_TRUE(url);
    EXPECT_TRUE(url->starts_with("http://my-bucket.localhost:" + std::to_string(server.port()) + "/p/a.jpg?X-Amz-")) << *url;
}

TEST(S3Requests, MultipartUploadIsAbortedWhenAPartFails) {
    std::atomic<int> parts{0};
    FakeHttpServer server([&](const FakeRequest& r) {
        if (r.method == "POST" && r.target.ends_with("?uploads=")) {
            return FakeReply{.status = 200,
                             .body = "<InitiateMultipartUploadResult><Bucket>bucket</Bucket><Key>pre/big.jpg</Key>"
                                     "<UploadId>UP-1</UploadId></InitiateMultipartUploadResult>"};
        }
        if (r.method == "PUT") {
            if (++parts == 1) return FakeReply{.status = 200, .headers = {{"ETag", "\"p1\""}}};
            return FakeReply{.status = 400, .body = s3_error("InvalidPart", "no")};
        }
        return FakeReply{.status = 204};  // the abort
    });
    auto store = open(url_for(server, "&multipart_threshold=5MiB&part_size=5MiB"));
    const std::string big(11u << 20, 'b');
    const std::string error = unavailable_of([&] { store->put("big.jpg", big, {.content_type = "image/jpeg", .cache_control = ""}); });
    EXPECT_NE(error.find("upload part"), std::string::npos) << error;
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 4u);
    EXPECT_EQ(requests[0].header("content-type"), "image/jpeg");
    EXPECT_EQ(requests[1].target, "/bucket/pre/big.jpg?partNumber=1&uploadId=UP-1");
    EXPECT_EQ(requests[1].body.size(), 5u << 20);
    EXPECT_EQ(requests[3].method, "DELETE");
    EXPECT_EQ(requests[3].target, "/bucket/pre/big.jpg?uploadId=UP-1");
}

TEST(S3Requests, ACompletionThatFailsInsideA200IsRetried) {
    std::atomic<int> completions{0};
    FakeHttpServer server([&](const FakeRequest& r) {
        if (r.method == "POST" && r.target.ends_with("?uploads=")) {
            return FakeReply{.status = 200, .body = "<InitiateMultipartUploadResult><UploadId>U</UploadId></InitiateMultipartUploadResult>"};
        }
        if (r.method == "PUT") return FakeReply{.status = 200, .headers = {{"ETag", "\"p\""}}};
        if (r.method == "POST") {
            if (++completions == 1) return FakeReply{.status = 200, .body = s3_error("InternalError", "try again")};
            EXPECT_NE(r.body.find("<Part><PartNumber>2</PartNumber><ETag>&quot;p&quot;</ETag></Part>"), std::string::npos) << r.body;
            return FakeReply{.status = 200, .body = "<CompleteMultipartUploadResult><ETag>\"x-2\"</ETag></CompleteMultipartUploadResult>"};
        }
        return FakeReply{.status = 500};
    });
    auto store = open(url_for(server, "&multipart_threshold=5MiB&part_size=5MiB"));
    EXPECT_NO_THROW(store->put("big.jpg", std::string(6u << 20, 'b'), {}));
    EXPECT_EQ(completions.load(), 2);
}

}  // namespace
}  // namespace photoshare::blob
