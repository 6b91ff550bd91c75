// HTTP over libcurl. Easy handles are kept in a small pool and reset between uses: a handle
// keeps its connections, so keep-alive (and TLS sessions) survive from request to request
// without tying a connection to a thread.
#include "blob/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>

namespace photoshare::blob::http {

namespace {

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            throw TransportError("libcurl cannot be initialised");
        }
    });
}

class Pool {
public:
    CURL* take() {
        {
            std::lock_guard lock(mutex_);
            if (!idle_.empty()) {
                CURL* h = idle_.back();
                idle_.pop_back();
                return h;
            }
        }
        CURL* h = curl_easy_init();
        if (!h) {
            throw TransportError("libcurl cannot create a handle");
        }
        return h;
    }
    void give_back(CURL* h) {
        curl_easy_reset(h);  // options go, connections stay
        std::lock_guard lock(mutex_);
        if (idle_.size() < max_idle) {
            idle_.push_back(h);
            return;
        }
        curl_easy_cleanup(h);
    }

private:
    static constexpr std::size_t max_idle = 32;
    std::mutex mutex_;
    std::vector<CURL*> idle_;
};

Pool& pool() {
    static auto* p = new Pool;  // never destroyed: worker threads may outlive static destruction
    return *p;
}

struct Handle {
    CURL* h;
    Handle() : h(pool().take()) {}
    ~Handle() { pool().give_back(h); }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
};

struct SList {
    curl_slist* list = nullptr;
    ~SList() { curl_slist_free_all(list); }
    void add(const std::string& line) {
        curl_slist* next = curl_slist_append(list, line.c_str());
        if (!next) {
            throw std::bad_alloc();
        }
        list = next;
    }
};

// State shared with the callbacks of one transfer.
struct Transfer {
    CURL* handle = nullptr;
    const BodySink* sink = nullptr;
    Response response;
    std::string_view upload;
    std::size_t upload_pos = 0;
    std::exception_ptr error;
    bool headers_done = false;
    std::chrono::steady_clock::time_point started;
    std::chrono::milliseconds response_timeout{0};
    bool response_timed_out = false;
};

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
    return s;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::string_view line(data, size * count);
    if (line.starts_with("HTTP/")) {
        // A new response (after 100 Continue, say): only the last one's headers count.
        t->response.headers.clear();
        t->headers_done = false;
        return line.size();
    }
    const std::string_view content = trim(line);
    if (content.empty()) {
        long status = 0;
        curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200) {
            t->headers_done = true;
        }
        return line.size();
    }
    const auto colon = content.find(':');
    if (colon != std::string_view::npos) {
        t->response.headers.emplace_back(lower(trim(content.substr(0, colon))), std::string(trim(content.substr(colon + 1))));
    }
    return line.size();
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t n = size * count;
    long status = 0;
    curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &status);
    if (t->sink && status >= 200 && status < 300) {
        t->response.status = status;
        try {
            if (!(*t->sink)(t->response, std::string_view(data, n))) {
                t->response.stopped_by_sink = true;
                return 0;  // CURLE_WRITE_ERROR, recognised by stopped_by_sink
            }
        } catch (...) {
            t->error = std::current_exception();
            return 0;
        }
        return n;
    }
    t->response.body.append(data, n);
    return n;
}

std::size_t on_read(char* buffer, std::size_t size, std::size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t n = std::min(size * count, t->upload.size() - t->upload_pos);
    std::memcpy(buffer, t->upload.data() + t->upload_pos, n);
    t->upload_pos += n;
    return n;
}

// libcurl rewinds the upload when it resends on a fresh connection (a reused one that the
// server had closed).
int on_seek(void* user, curl_off_t offset, int origin) {
    auto* t = static_cast<Transfer*>(user);
    if (origin != SEEK_SET || offset < 0 || static_cast<std::size_t>(offset) > t->upload.size()) {
        return CURL_SEEKFUNC_CANTSEEK;
    }
    t->upload_pos = static_cast<std::size_t>(offset);
    return CURL_SEEKFUNC_OK;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* t = static_cast<Transfer*>(user);
    if (!t->headers_done && t->response_timeout.count() > 0 &&
        std::chrono::steady_clock::now() - t->started > t->response_timeout) {
        t->response_timed_out = true;
        return 1;  // CURLE_ABORTED_BY_CALLBACK
    }
    return 0;
}

template <class T>
void set(CURL* h, CURLoption option, T value) {
    if (const CURLcode rc = curl_easy_setopt(h, option, value); rc != CURLE_OK) {
        throw TransportError(std::string("libcurl option not supported: ") + curl_easy_strerror(rc));
    }
}

}  // namespace

std::string Response::header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
        if (n == name) {
            return v;
        }
    }
    return {};
}

Response perform(const Request& request, const BodySink* sink) {
    global_init();
    Handle handle;
    CURL* h = handle.h;
    Transfer t;
    t.handle = h;
    t.sink = sink;
    t.upload = request.body;
    t.started = std::chrono::steady_clock::now();
    t.response_timeout = request.response_timeout;

    char error_buffer[CURL_ERROR_SIZE] = {0};
    set(h, CURLOPT_ERRORBUFFER, error_buffer);
    set(h, CURLOPT_URL, request.url.c_str());
    set(h, CURLOPT_PROTOCOLS_STR, "http,https");
    set(h, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
    set(h, CURLOPT_FOLLOWLOCATION, 0L);
    set(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()));
    set(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    set(h, CURLOPT_LOW_SPEED_LIMIT, request.low_speed_bytes);
    set(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(request.low_speed_time.count()));
    set(h, CURLOPT_TCP_KEEPALIVE, 1L);
    if (!request.use_proxy) {
        set(h, CURLOPT_PROXY, "");
        set(h, CURLOPT_NOPROXY, "*");
    }
    set(h, CURLOPT_HEADERFUNCTION, on_header);
    set(h, CURLOPT_HEADERDATA, &t);
    set(h, CURLOPT_WRITEFUNCTION, on_body);
    set(h, CURLOPT_WRITEDATA, &t);
    if (request.response_timeout.count() > 0) {
        set(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        set(h, CURLOPT_XFERINFODATA, &t);
        set(h, CURLOPT_NOPROGRESS, 0L);
    }

    if (request.method == "HEAD") {
        set(h, CURLOPT_NOBODY, 1L);
    } else if (request.send_body) {
        // Upload semantics for every method with a body: a known length, read from memory.
        set(h, CURLOPT_UPLOAD, 1L);
        set(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
        set(h, CURLOPT_READFUNCTION, on_read);
        set(h, CURLOPT_READDATA, &t);
        set(h, CURLOPT_SEEKFUNCTION, on_seek);
        set(h, CURLOPT_SEEKDATA, &t);
        if (request.method != "PUT") {
            set(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
        }
    } else if (request.method != "GET") {
        set(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }

    SList headers;
    for (const auto& [name, value] : request.headers) {
        std::string line = name;
        line.append(": ").append(value);
        headers.add(line);
    }
    // No "Expect: 100-continue" (a second's wait on servers that ignore it) and no Accept.
    headers.add("Expect:");
    headers.add("Accept:");
    set(h, CURLOPT_HTTPHEADER, headers.list);

    const CURLcode rc = curl_easy_perform(h);
    if (t.error) {
        std::rethrow_exception(t.error);
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &t.response.status);
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && t.response.stopped_by_sink)) {
        if (t.response_timed_out) {
            throw TransportError("no answer within " + std::to_string(request.response_timeout.count()) + " ms");
        }
        std::string message = curl_easy_strerror(rc);
        // The error buffer names the host and the failing step, never the URL's query.
        if (error_buffer[0] != '\0') {
            message += ": ";
            message += error_buffer;
        }
        throw TransportError(message);
    }
    return std::move(t.response);
}

}  // namespace photoshare::blob::http
