// The one load generator: client threads, each with its own connection, repeating a request
// until stop() and recording every answer with its time; the ready-made requests (GETs of
// pages in turn, uploads of small images); and what to read from the answers.
#pragma once

#include "app.hpp"
#include "common.hpp"
#include "http_client.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pstest {

struct Answer {
    double at = 0;          // seconds since the load started, when the answer came
    double seconds = 0;     // how long it took
    long status = 0;        // 0: no HTTP answer (see what)
    std::string path;       // what was asked for
    std::string what;       // status 0: curl's error; else the code of a JSON error, or the start of
                            // the body of a 4xx/5xx that is not one
    std::string id;         // uploads: the photo id of a 201
    std::string served_by;  // the server named by X-Served-By
    bool signed_in = false;      // a page that shows someone logged in
    bool signin_notice = false;  // a page that says signing in is unavailable
};

// The answer to a response (everything but `at`, which the load sets).
Answer answer_of(const std::string& path, const Response& res);

// The n-th request (from 0) of client `client` (from 0), on that client's HttpClient.
using Request = std::function<Answer(HttpClient& http, int client, std::size_t n)>;

// GETs of the paths in turn (client c starts at paths[c]); with a session cookie, sent
// again before every request as a browser would (an answer that clears it changes nothing).
Request get_paths(std::vector<std::string> paths, std::string session_cookie = {});
// Uploads (POST /api/v1/photos) of one small_png after the other as the logged-in user (the
// session cookie set on the first request, not with LoadOptions::new_connections); a
// 201's photo id is kept. After no answer at all, a pause of 20 ms (nobody listening: do
// not spin).
Request upload_small_pngs(Login login);

struct LoadOptions {
    int clients = 1;
    std::chrono::milliseconds timeout = 10s;  // of each request
    std::chrono::milliseconds pause{0};       // between the requests of a client
    bool new_connections = false;             // a new connection for every request
    long expected = 200;                      // the status ok() counts; failures() are the others
};

class Load {
public:
    Load(std::string base_url, Request request, LoadOptions options = {});
    ~Load();
    Load(const Load&) = delete;
    Load& operator=(const Load&) = delete;
    void stop();  // waits for every client's request in flight

    std::vector<Answer> answers() const;
    std::size_t total() const { return total_.load(); }
    std::size_t count(long status) const;
    std::size_t ok() const { return count(options_.expected); }
    std::vector<Answer> failures() const;          // the answers other than the expected status
    double max_seconds() const;                    // the slowest answer
    std::map<std::string, int> served_by() const;  // server name -> answers of the expected status
    std::string summary() const;

private:
    void run(int client);
    std::string base_;
    Request request_;
    LoadOptions options_;
    Clock::time_point start_;
    std::atomic<bool> stop_{false};
    std::atomic<std::size_t> total_{0};
    mutable std::mutex mutex_;
    std::vector<Answer> answers_;
    std::map<long, std::size_t> counts_;
    std::vector<std::thread> threads_;
};

// status -> count, and a one-line summary ("12 requests: 201×10 503×2; slowest 0.2 s").
std::map<long, int> by_status(const std::vector<Answer>& answers);
std::string summary(const std::vector<Answer>& answers);
// The answers whose status is not in `allowed`, described (at most 10); empty if none.
std::string unexpected(const std::vector<Answer>& answers, const std::vector<long>& allowed);
std::vector<std::string> accepted_ids(const std::vector<Answer>& answers);
double slowest(const std::vector<Answer>& answers);

}  // namespace pstest
