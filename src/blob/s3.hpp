// The S3 store: objects in a bucket of Amazon S3 or any S3-compatible store (s3rver, MinIO),
// under an optional prefix.
//
//   s3://BUCKET[/PREFIX][?OPTION=VALUE&...]
//
//   region=eu-west-1          signing region (default us-east-1)
//   endpoint=URL              http://host:port or https://host[:port] (default
//                             https://s3.REGION.amazonaws.com); plain http only when named here
//   path_style=true           https://endpoint/BUCKET/KEY instead of https://BUCKET.endpoint/KEY
//                             (needed by s3rver and MinIO, and for bucket names with dots)
//   access_key_id=...         credentials in the configuration (with secret_access_key, and
//   secret_access_key=...     session_token for temporary ones); otherwise the environment,
//   session_token=...         then the EC2 instance role (credentials.hpp)
//   timeout=30                seconds each request may take, plus one for each 128 KiB it
//                             uploads (a streaming read: until its headers arrive; then it
//                             only must not stall: under 1 KiB/s for 15 s ends any transfer)
//   connect_timeout=2         seconds to connect
//   retries=3                 further attempts after a 5xx, 429/SlowDown or connection error
//   multipart_threshold=8MiB  objects larger than this go up in parts (B, KiB, MiB suffixes)
//   part_size=8MiB            size of those parts (at least 5 MiB, as S3 requires)
//
// Query values are percent-decoded ('+' stays '+': secret keys contain it). Objects are
// named PREFIX/KEY. Error messages name the bucket, prefix and endpoint, never a secret.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "blob/blob.hpp"
#include "blob/credentials.hpp"
#include "blob/sigv4.hpp"

namespace photoshare::blob::s3 {

struct Options {
    std::string bucket;
    std::string prefix;  // without leading or trailing '/'; "" for the whole bucket
    std::string region = "us-east-1";
    std::string scheme = "https";  // of the endpoint
    std::string endpoint_host;     // host[:port] of the endpoint, the bucket not included
    bool path_style = false;
    bool endpoint_given = false;   // for describe(): the default endpoint is not shown
    sigv4::Credentials credentials;  // from the URL; empty: the rest of the chain

    std::chrono::milliseconds timeout{30000};
    std::chrono::milliseconds connect_timeout{2000};
    int retries = 3;
    std::size_t multipart_threshold = 8u << 20;
    std::size_t part_size = 8u << 20;
    int list_page_size = 1000;  // max-keys of each ListObjectsV2 page (tests make it small)
    // Backoff before retry n (1-based): a random time in [base * 2^(n-1) / 2, base * 2^(n-1)],
    // at most backoff_cap.
    std::chrono::milliseconds backoff_base{100};
    std::chrono::milliseconds backoff_cap{2000};
};

// Throws std::invalid_argument naming the option at fault (never its value when secret).
Options parse_url(const std::string& url);

// A store with the given options; credentials from `provider`, or from the chain
// (credentials::chain(options.credentials)) when it is null. Contacts nothing.
std::unique_ptr<Store> open(const Options& options, std::shared_ptr<credentials::Provider> provider = nullptr);

}  // namespace photoshare::blob::s3
