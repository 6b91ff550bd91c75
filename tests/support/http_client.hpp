// HTTP for the tests: a libcurl client that keeps its cookies like a browser, and a raw
// socket for the clients a library would not let us be (slow, half-finished, oversized),
// and multipart bodies written byte for byte.
#pragma once

#include "common.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pstest {

// ---------------------------------------------------------------------------------------
// HTTP over libcurl

struct Response {
    long status = 0;  // 0: the transfer failed, see error
    std::string error;
    std::string body;
    Headers headers;  // of the final response (not of a 100 Continue)
    double seconds = 0;  // total time

    // Case-insensitive; empty if absent. all() returns every value of a repeated header.
    std::string header(std::string_view name) const;
    bool has_header(std::string_view name) const;
    std::vector<std::string> all(std::string_view name) const;
    // The body as JSON; a null value (and a test failure) if it is not JSON.
    boost::json::value json() const;
    std::string describe() const;  // status, headers and the start of the body, for messages
};

struct Part {
    std::string name = "photo";
    std::string filename;  // empty: a plain field
    std::string content_type;
    std::string data;   // contents (used unless path is set)
    fs::path path;      // contents from this file

    static Part file(const fs::path& path, std::string filename = {}, std::string content_type = {});
    static Part bytes(std::string data, std::string filename, std::string content_type = {});
    static Part field(std::string name, std::string value);
};

class HttpClient {
public:
    explicit HttpClient(std::string base_url);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;
    HttpClient(HttpClient&& other) noexcept;

    void set_base_url(std::string url) { base_ = std::move(url); }
    const std::string& base_url() const { return base_; }
    void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }
    // Sends "Accept-Encoding: gzip" and hands back the body decoded, as a browser does (the
    // headers stay as sent: Content-Encoding, and the encoded Content-Length).
    void set_decode_gzip(bool on) { decode_ = on ? "gzip" : ""; }
    // The same for any codings libcurl decodes ("br", "gzip, br"); empty: none.
    void set_decode(std::string codings) { decode_ = std::move(codings); }

    // path: after the base URL; an absolute URL (http://...) is used as it is.
    Response get(const std::string& path, const Headers& headers = {});
    Response del(const std::string& path, const Headers& headers = {});
    Response post_json(const std::string& path, const std::string& json, const Headers& headers = {});
    Response put_json(const std::string& path, const std::string& json, const Headers& headers = {});
    Response post_form(const std::string& path, const std::vector<std::pair<std::string, std::string>>& fields,
                       const Headers& headers = {});
    Response post_raw(const std::string& path, const std::string& body, const std::string& content_type,
                      const Headers& headers = {});
    Response upload(const std::string& path, const std::vector<Part>& parts, const Headers& headers = {});
    Response request(const std::string& method, const std::string& path, const std::optional<std::string>& body,
                     const Headers& headers = {});

    // The cookie engine's view.
    std::optional<std::string> cookie(const std::string& name) const;
    void set_cookie(const std::string& name, const std::string& value);
    void clear_cookies();

private:
    Response perform(const std::string& path, const Headers& headers, void* mime);
    void* curl_;
    std::string base_;
    std::chrono::milliseconds timeout_ = 60s;
    std::string decode_;  // Accept-Encoding that libcurl sends and decodes; empty: none
};

// x-www-form-urlencoded, every byte outside [A-Za-z0-9-._~] percent-encoded.
std::string url_encode(std::string_view s);

// ---------------------------------------------------------------------------------------
// Raw sockets

struct RawResponse {
    int status = 0;
    Headers headers;
    std::string body;
    std::string header(std::string_view name) const;
};

class RawConnection {
public:
    // A connection to 127.0.0.1:port; from `source` (another loopback address such as
    // 127.0.0.2, for a second client address) when given.
    explicit RawConnection(int port, const std::string& source = {});
    ~RawConnection();
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;

    // False if the peer has closed or reset the connection.
    bool send(std::string_view data);
    void shutdown_write();
    // One response (headers, then Content-Length bytes or up to the close); nullopt on
    // timeout or when the connection closes before a complete status line and headers.
    std::optional<RawResponse> read_response(std::chrono::milliseconds timeout);
    // Waits for the peer to close (EOF or reset), keeping whatever arrives. True if closed.
    bool wait_closed(std::chrono::milliseconds timeout);
    bool closed() const { return closed_; }
    const std::string& received() const { return buffer_; }

private:
    // Reads what is available within the timeout; false on timeout.
    bool fill(Clock::time_point deadline);
    int fd_ = -1;
    bool closed_ = false;
    std::string buffer_;
};

// One request on a fresh raw connection; the response, or nullopt (no complete response
// before the timeout or the close). *closed_after tells whether the server then closed.
std::optional<RawResponse> raw_exchange(int port, std::string_view request, std::chrono::milliseconds timeout = 10s,
                                        bool* closed_after = nullptr);

// A multipart/form-data body written byte for byte, for the malformed, hostile or odd ones a
// library would refuse to produce or would "fix" (file names are not escaped or changed).
struct MultipartBody {
    std::string boundary = "hostileBoundary7MA4YWxk";
    std::string body;
    // A part with a raw Content-Disposition value (and optional raw extra header lines,
    // each ending in CRLF), then the data.
    MultipartBody& raw_part(const std::string& disposition, std::string_view data, const std::string& extra_headers = {});
    // form-data; name="name"; filename="filename" (filename inserted as is).
    MultipartBody& file(std::string_view data, const std::string& filename, const std::string& name = "photo",
                        const std::string& content_type = "application/octet-stream");
    MultipartBody& field(const std::string& name, std::string_view value);
    // The closing delimiter; without it the body is truncated.
    MultipartBody& close();
    std::string content_type() const { return "multipart/form-data; boundary=" + boundary; }
};

}  // namespace pstest
