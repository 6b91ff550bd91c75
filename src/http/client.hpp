// A minimal blocking HTTP/1.1 client for the command line tools (knobs, fleet health
// checks): one request per connection, Content-Length or close-delimited bodies.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace photoshare::http {

struct ClientResponse {
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

class ClientError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// `address` is "host:port" (IPv4, a name, or [IPv6]:port). Throws ClientError when the
// server cannot be reached or answers something that is not HTTP.
ClientResponse fetch(const std::string& address, const std::string& method, const std::string& path,
                     const std::vector<std::pair<std::string, std::string>>& headers = {}, const std::string& body = "",
                     std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace photoshare::http
