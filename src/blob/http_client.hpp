// One HTTP request over libcurl, as the S3 store and the instance-metadata client need it:
// blocking, callable from many threads at once, bounded in time, no redirects, http and
// https only. Retries are the caller's business (it knows what is idempotent).
#pragma once

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace photoshare::blob::http {

using Header = std::pair<std::string, std::string>;

struct Request {
    std::string method = "GET";
    std::string url;  // may carry secrets (presigned, tokens): never put into a message
    std::vector<Header> headers;
    std::string_view body;  // sent with Content-Length for any method but GET and HEAD
    bool send_body = false;  // send `body` (even when empty: POST with Content-Length: 0)

    std::chrono::milliseconds connect_timeout{2000};
    // The whole exchange; zero for none (streaming reads, whose length the reader sets).
    std::chrono::milliseconds timeout{30000};
    // Until the status line and headers have arrived; zero for none.
    std::chrono::milliseconds response_timeout{0};
    // Abort when fewer than low_speed_bytes a second move for low_speed_time.
    long low_speed_bytes = 1024;
    std::chrono::seconds low_speed_time{15};
    bool use_proxy = true;  // honour http_proxy/https_proxy/no_proxy (off for instance metadata)
};

struct Response {
    long status = 0;
    std::vector<Header> headers;  // names lower-case, in order
    std::string body;             // the body, unless it went to a sink
    bool stopped_by_sink = false;

    // The first header of that (lower-case) name, or "".
    std::string header(std::string_view name) const;
};

// No HTTP answer: could not connect, timed out, connection lost.
class TransportError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Called with each chunk of the body of a 2xx answer (response has status and headers);
// returning false stops the transfer. Bodies of other answers go to Response::body.
using BodySink = std::function<bool(const Response& response, std::string_view chunk)>;

// Performs the request once. Throws TransportError; an exception thrown by the sink is
// rethrown as it was.
Response perform(const Request& request, const BodySink* sink = nullptr);

}  // namespace photoshare::blob::http
