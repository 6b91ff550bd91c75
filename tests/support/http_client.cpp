#include "http_client.hpp"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace pstest {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool iequals(std::string_view a, std::string_view b) { return lower(a) == lower(b); }

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
    return std::string(s);
}

std::string header_value(const Headers& headers, std::string_view name) {
    for (const auto& [k, v] : headers)
        if (iequals(k, name)) return v;
    return {};
}

void curl_init_once() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

// ---- HTTP --------------------------------------------------------------------------------

std::string Response::header(std::string_view name) const { return header_value(headers, name); }

bool Response::has_header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (iequals(k, name)) return true;
    return false;
}

std::vector<std::string> Response::all(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : headers)
        if (iequals(k, name)) out.push_back(v);
    return out;
}

boost::json::value Response::json() const {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    if (ec) {
        ADD_FAILURE() << "response body is not JSON: " << describe();
        return nullptr;
    }
    return v;
}

std::string Response::describe() const {
    std::ostringstream s;
    s << "HTTP " << status;
    if (!error.empty()) s << " (curl: " << error << ")";
    s << "\n";
    for (const auto& [k, v] : headers) s << "  " << k << ": " << v << "\n";
    s << "  body (" << body.size() << " bytes): " << body.substr(0, 600) << (body.size() > 600 ? "..." : "") << "\n";
    return s.str();
}

Part Part::file(const fs::path& path, std::string filename, std::string content_type) {
    Part p;
    p.path = path;
    p.filename = filename.empty() ? path.filename().string() : std::move(filename);
    p.content_type = std::move(content_type);
    return p;
}

Part Part::bytes(std::string data, std::string filename, std::string content_type) {
    Part p;
    p.data = std::move(data);
    p.filename = std::move(filename);
    p.content_type = std::move(content_type);
    return p;
}

Part Part::field(std::string name, std::string value) {
    Part p;
    p.name = std::move(name);
    p.data = std::move(value);
    return p;
}

namespace {

std::size_t on_body(char* p, std::size_t size, std::size_t n, void* user) {
    static_cast<std::string*>(user)->append(p, size * n);
    return size * n;
}

std::size_t on_header(char* p, std::size_t size, std::size_t n, void* user) {
    auto* headers = static_cast<Headers*>(user);
    std::string_view line(p, size * n);
    if (line.starts_with("HTTP/")) {
        headers->clear();  // a new response (after 100 Continue or a redirect)
    } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
        headers->emplace_back(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
    }
    return size * n;
}

CURL* handle(void* p) { return static_cast<CURL*>(p); }

}  // namespace

std::string url_encode(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

HttpClient::HttpClient(std::string base_url) : base_(std::move(base_url)) {
    curl_init_once();
    curl_ = curl_easy_init();
    if (!curl_) throw std::runtime_error("curl_easy_init failed");
    curl_easy_setopt(handle(curl_), CURLOPT_COOKIEFILE, "");  // in-memory cookie engine
}

HttpClient::HttpClient(HttpClient&& other) noexcept
    : curl_(other.curl_), base_(std::move(other.base_)), timeout_(other.timeout_), decode_(std::move(other.decode_)) {
    other.curl_ = nullptr;
}

HttpClient::~HttpClient() {
    if (curl_) curl_easy_cleanup(handle(curl_));
}

Response HttpClient::perform(const std::string& path, const Headers& headers, void* mime) {
    CURL* c = handle(curl_);
    Response res;
    const std::string url = path.starts_with("http://") || path.starts_with("https://") ? path : base_ + path;
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_COOKIEFILE, "");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, decode_.empty() ? nullptr : decode_.c_str());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &res.body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &res.headers);
    curl_slist* list = nullptr;
    bool expect_given = false;
    for (const auto& [k, v] : headers) {
        if (iequals(k, "Expect")) expect_given = true;
        const std::string line = v.empty() ? k + ":" : k + ": " + v;  // "Name:" removes a header curl would add
        list = curl_slist_append(list, line.c_str());
    }
    if (!expect_given) list = curl_slist_append(list, "Expect:");  // no 100-continue round trip unless asked
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    if (mime) curl_easy_setopt(c, CURLOPT_MIMEPOST, static_cast<curl_mime*>(mime));
    char errbuf[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    const CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) res.error = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res.status);
    curl_off_t micros = 0;
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME_T, &micros);
    res.seconds = static_cast<double>(micros) / 1e6;
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
    curl_slist_free_all(list);
    if (rc != CURLE_OK && res.status == 0) res.status = 0;
    return res;
}

Response HttpClient::request(const std::string& method, const std::string& path, const std::optional<std::string>& body,
                             const Headers& headers) {
    CURL* c = handle(curl_);
    curl_easy_reset(c);
    if (method == "GET") {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else if (method == "HEAD") {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else {
        if (body || method == "POST") {
            const std::string none;
            const std::string& b = body ? *body : none;  // both lvalues: no copy of the body
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(b.size()));
            curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, b.c_str());
        }
        if (method != "POST") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    return perform(path, headers, nullptr);
}

Response HttpClient::get(const std::string& path, const Headers& headers) { return request("GET", path, std::nullopt, headers); }

Response HttpClient::del(const std::string& path, const Headers& headers) { return request("DELETE", path, std::nullopt, headers); }

Response HttpClient::post_json(const std::string& path, const std::string& json, const Headers& headers) {
    Headers h = headers;
    h.emplace_back("Content-Type", "application/json");
    return request("POST", path, json, h);
}

Response HttpClient::put_json(const std::string& path, const std::string& json, const Headers& headers) {
    Headers h = headers;
    h.emplace_back("Content-Type", "application/json");
    return request("PUT", path, json, h);
}

Response HttpClient::post_form(const std::string& path, const std::vector<std::pair<std::string, std::string>>& fields,
                               const Headers& headers) {
    std::string body;
    for (const auto& [k, v] : fields) body += (body.empty() ? "" : "&") + url_encode(k) + "=" + url_encode(v);
    Headers h = headers;
    h.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    return request("POST", path, body, h);
}

Response HttpClient::post_raw(const std::string& path, const std::string& body, const std::string& content_type,
                              const Headers& headers) {
    Headers h = headers;
    if (content_type.empty())
        h.emplace_back("Content-Type", "");
    else
        h.emplace_back("Content-Type", content_type);
    return request("POST", path, body, h);
}

Response HttpClient::upload(const std::string& path, const std::vector<Part>& parts, const Headers& headers) {
    CURL* c = handle(curl_);
    curl_easy_reset(c);
    curl_mime* mime = curl_mime_init(c);
    for (const auto& p : parts) {
        curl_mimepart* part = curl_mime_addpart(mime);
        curl_mime_name(part, p.name.c_str());
        if (!p.path.empty())
            curl_mime_filedata(part, p.path.c_str());
        else
            curl_mime_data(part, p.data.data(), p.data.size());
        if (!p.filename.empty()) curl_mime_filename(part, p.filename.c_str());
        if (!p.content_type.empty()) curl_mime_type(part, p.content_type.c_str());
    }
    auto res = perform(path, headers, mime);
    curl_mime_free(mime);
    return res;
}

std::optional<std::string> HttpClient::cookie(const std::string& name) const {
    curl_slist* cookies = nullptr;
    curl_easy_getinfo(handle(curl_), CURLINFO_COOKIELIST, &cookies);
    std::optional<std::string> found;
    for (auto* c = cookies; c; c = c->next) {
        // domain, subdomains, path, secure, expiry, name, value (tab-separated)
        std::vector<std::string> f;
        std::string_view line(c->data);
        std::size_t start = 0;
        for (;;) {
            auto tab = line.find('\t', start);
            f.emplace_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
            if (tab == std::string_view::npos) break;
            start = tab + 1;
        }
        if (f.size() >= 7 && f[5] == name) found = f[6];
    }
    curl_slist_free_all(cookies);
    return found;
}

void HttpClient::set_cookie(const std::string& name, const std::string& value) {
    const std::string line = "127.0.0.1\tFALSE\t/\tFALSE\t0\t" + name + "\t" + value;
    curl_easy_setopt(handle(curl_), CURLOPT_COOKIELIST, line.c_str());
}

void HttpClient::clear_cookies() { curl_easy_setopt(handle(curl_), CURLOPT_COOKIELIST, "ALL"); }

// ---- raw sockets ---------------------------------------------------------------------------

std::string RawResponse::header(std::string_view name) const { return header_value(headers, name); }

RawConnection::RawConnection(int port, const std::string& source) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    if (!source.empty()) {
        sockaddr_in from{};
        from.sin_family = AF_INET;
        if (::inet_pton(AF_INET, source.c_str(), &from.sin_addr) != 1 || ::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
            const int e = errno;
            ::close(fd_);
            fd_ = -1;
            throw std::runtime_error("bind " + source + ": " + std::strerror(e));
        }
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        const int e = errno;
        ::close(fd_);
        fd_ = -1;
        throw std::runtime_error(std::string("connect: ") + std::strerror(e));
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

RawConnection::~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::send(std::string_view data) {
    const auto deadline = Clock::now() + std::chrono::seconds(30);  // not 30s: cppcheck 2.10 cannot evaluate it
    while (!data.empty()) {
        const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            data.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
            if (left <= 0) return false;
            pollfd p{fd_, POLLOUT, 0};
            ::poll(&p, 1, static_cast<int>(left));
            continue;
        }
        return false;  // EPIPE, ECONNRESET
    }
    return true;
}

void RawConnection::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

bool RawConnection::fill(Clock::time_point deadline) {
    if (closed_) return true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left < 0) return false;
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) return true;
    if (r <= 0) return false;
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0)
        buffer_.append(buf, static_cast<std::size_t>(n));
    else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        closed_ = true;
    return true;
}

std::optional<RawResponse> RawConnection::read_response(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        const auto end = buffer_.find("\r\n\r\n");
        if (end != std::string::npos) {
            RawResponse r;
            std::istringstream lines(buffer_.substr(0, end));
            std::string line;
            std::getline(lines, line);
            if (line.size() < 12 || !line.starts_with("HTTP/1.")) return std::nullopt;
            const char* const code = line.data() + 9;
            if (const auto parsed = std::from_chars(code, code + 3, r.status); parsed.ec != std::errc() || parsed.ptr != code + 3)
                return std::nullopt;
            while (std::getline(lines, line)) {
                auto colon = line.find(':');
                if (colon != std::string::npos) r.headers.emplace_back(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
            }
            const std::size_t body_start = end + 4;
            if (r.status >= 100 && r.status < 200) {  // interim: skip it
                buffer_.erase(0, body_start);
                continue;
            }
            const auto length_text = r.header("Content-Length");
            if (!length_text.empty() || r.status == 204 || r.status == 304) {
                const std::size_t length = length_text.empty() ? 0 : std::stoull(length_text);
                while (buffer_.size() < body_start + length) {
                    if (closed_) return std::nullopt;
                    if (!fill(deadline)) return std::nullopt;
                }
                r.body = buffer_.substr(body_start, length);
                buffer_.erase(0, body_start + length);
                return r;
            }
            while (!closed_)
                if (!fill(deadline)) return std::nullopt;
            r.body = buffer_.substr(body_start);
            buffer_.clear();
            return r;
        }
        if (closed_) return std::nullopt;
        if (!fill(deadline)) return std::nullopt;
    }
}

bool RawConnection::wait_closed(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!closed_)
        if (!fill(deadline)) return false;
    return true;
}

std::optional<RawResponse> raw_exchange(int port, std::string_view request, std::chrono::milliseconds timeout, bool* closed_after) {
    RawConnection c(port);
    c.send(request);
    auto r = c.read_response(timeout);
    if (closed_after) *closed_after = c.wait_closed(timeout);
    return r;
}

MultipartBody& MultipartBody::raw_part(const std::string& disposition, std::string_view data, const std::string& extra_headers) {
    body += "--" + boundary + "\r\nContent-Disposition: " + disposition + "\r\n" + extra_headers + "\r\n";
    body.append(data);
    body += "\r\n";
    return *this;
}

MultipartBody& MultipartBody::file(std::string_view data, const std::string& filename, const std::string& name,
                                   const std::string& content_type) {
    return raw_part("form-data; name=\"" + name + "\"; filename=\"" + filename + "\"", data,
                    content_type.empty() ? std::string() : "Content-Type: " + content_type + "\r\n");
}

MultipartBody& MultipartBody::field(const std::string& name, std::string_view value) {
    return raw_part("form-data; name=\"" + name + "\"", value);
}

MultipartBody& MultipartBody::close() {
    body += "--" + boundary + "--\r\n";
    return *this;
}

}  // namespace pstest
