// The request and response types handlers see. Deliberately free of Beast so that
// application code compiles fast; server.cpp adapts them to the wire.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace photoshare::http {

namespace asio = boost::asio;

enum class Method { get, head, post, put, patch, del, options, other };

std::string_view to_string(Method m);

// A size as people read it in a message: "512 bytes", "31.2 KiB", "25 MiB", "1.5 GiB"
// (one decimal, none when whole).
std::string human_size(std::uint64_t bytes);
// A size and the limit it broke, both as human_size, or both in bytes where rounding would
// show the same figure twice ("65537 bytes" and "65536 bytes", not "64 KiB" and "64 KiB").
std::pair<std::string, std::string> human_sizes(std::uint64_t size, std::uint64_t limit);

// An error a client caused (or a dependency being down): it becomes a response with this
// status, a stable machine-readable code and a message that is safe to show.
class HttpError : public std::runtime_error {
public:
    using HeaderList = std::vector<std::pair<std::string, std::string>>;
    HttpError(int status, std::string code, const std::string& message, HeaderList headers = {})
        : std::runtime_error(message), status_(status), code_(std::move(code)), headers_(std::move(headers)) {}
    int status() const noexcept { return status_; }
    const std::string& code() const noexcept { return code_; }
    // Headers the error response must carry (Retry-After, WWW-Authenticate...).
    const HeaderList& headers() const noexcept { return headers_; }

private:
    int status_;
    std::string code_;
    HeaderList headers_;
};

// Read access to request headers, implemented by the server over its own storage.
class Headers {
public:
    virtual ~Headers() = default;
    // Value of the first header with this (case-insensitive) name, empty when absent.
    virtual std::string_view get(std::string_view name) const = 0;
    virtual bool has(std::string_view name) const = 0;
};

// Streams the request body for routes that ask for it (uploads), so a large body is never
// held in memory. Throws HttpError (413 over the limit, 408 too slow, 400 malformed).
class BodyReader {
public:
    virtual ~BodyReader() = default;
    // Fills up to buf.size() bytes; returns 0 at the end of the body.
    virtual asio::awaitable<std::size_t> read_some(std::span<char> buf) = 0;
    // Declared Content-Length, if the client sent one.
    virtual std::optional<std::uint64_t> content_length() const = 0;
};

// A response body produced while it is sent (a proxied object): the server writes each
// piece as it comes, so a large body never sits in memory whole.
class BodyStream {
public:
    virtual ~BodyStream() = default;
    // The next piece; an empty string at the end. Throws when the body cannot be finished
    // (the server then closes the connection: the status line has already gone out).
    virtual asio::awaitable<std::string> next() = 0;
};

struct Request {
    Method method = Method::get;
    std::string_view method_name;
    std::string_view target;  // as received: path and query
    std::string path;         // percent-decoded path
    std::string_view query;   // raw query string, without '?'
    const Headers* headers = nullptr;
    std::vector<std::pair<std::string_view, std::string>> params;  // from the route pattern
    std::string body;                   // buffered body (routes that do not stream)
    BodyReader* body_reader = nullptr;  // streaming routes only
    std::string client_address;         // peer, or the forwarded client from a trusted proxy
    std::string request_id;
    std::string_view route;  // the matched route pattern, for metrics and logs

    std::string_view header(std::string_view name) const { return headers ? headers->get(name) : std::string_view{}; }
    // Whether Content-Type names this media type (parameters such as charset allowed,
    // letter case ignored): "application/json; charset=utf-8" is application/json,
    // "application/jsonp" is not.
    bool content_type_is(std::string_view media_type) const;
    std::string_view param(std::string_view name) const {
        for (const auto& [k, v] : params)
            if (k == name) return v;
        return {};
    }
};

struct Response {
    int status = 200;
    std::string content_type;
    std::vector<std::pair<std::string, std::string>> headers;
    // Pre-serialized header lines ("Name: value\r\n"...) added as they are: for headers that
    // every response carries, built once instead of per response. Must outlive the response.
    std::string_view raw_headers;
    // Exactly one body source is used: a file to stream, a body produced while sending, a
    // shared immutable body (cached pages and assets, sent without a copy), or the owned string.
    std::string body;
    std::shared_ptr<const std::string> shared_body;
    std::string file_path;
    std::shared_ptr<BodyStream> stream;
    // The same body gzipped ahead of time (static assets): sent instead of compressing it
    // when the server gzips the response.
    std::shared_ptr<const std::string> gzipped;
    // And in brotli: sent instead to a client that takes br (static assets).
    std::shared_ptr<const std::string> brotli;
    std::optional<std::uint64_t> stream_length;  // Content-Length of a stream, when known (else chunked)
    bool close = false;  // close the connection after this response
    // A GET may ask for part of the body (Range, If-Range against the ETag header): the
    // server answers 206 or 416 for a file or a whole body (not for a stream).
    bool ranges = false;

    Response() = default;
    Response(int status_, std::string content_type_, std::string body_)
        : status(status_), content_type(std::move(content_type_)), body(std::move(body_)) {}

    void set(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
    std::string_view body_view() const { return shared_body ? std::string_view(*shared_body) : std::string_view(body); }
};

}  // namespace photoshare::http
