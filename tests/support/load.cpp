#include "load.hpp"

#include "images.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <sstream>

namespace pstest {

namespace {

std::string first_photo_id(const Response& res) {
    boost::system::error_code ec;
    auto v = boost::json::parse(res.body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("photos")) return {};
    const auto& photos = v.at("photos").as_array();
    if (photos.empty()) return {};
    return std::string(photos[0].at("id").as_string());
}

std::string describe_status(long status) { return status ? std::to_string(status) : std::string("no answer"); }

}  // namespace

Answer answer_of(const std::string& path, const Response& res) {
    Answer a;
    a.seconds = res.seconds;
    a.status = res.status;
    a.path = path;
    if (res.status == 0) {
        a.what = res.error;
    } else {
        a.what = json_error_code(res);
        if (a.what.empty() && res.status >= 400) a.what = res.body.substr(0, 200);
    }
    a.served_by = served_by_name(res);
    a.signed_in = contains(res.body, "action=\"/logout\"");
    a.signin_notice = contains(res.body, "Signing in is unavailable");
    return a;
}

Request get_paths(std::vector<std::string> paths, std::string session_cookie) {
    return [paths = std::move(paths), cookie = std::move(session_cookie)](HttpClient& http, int client, std::size_t n) {
        const auto& path = paths[(static_cast<std::size_t>(client) + n) % paths.size()];
        if (!cookie.empty()) http.set_cookie("ps_session", cookie);
        return answer_of(path, http.get(path));
    };
}

Request upload_small_pngs(Login login) {
    return [login = std::move(login)](HttpClient& http, int client, std::size_t n) {
        if (n == 0) http.set_cookie("ps_session", login.session_cookie);  // then whatever the server sets
        const std::string path = "/api/v1/photos";
        auto res = http.upload(path, {Part::bytes(small_png(static_cast<std::size_t>(client) * 1000 + n), "p.png", "image/png")},
                               {{"X-CSRF-Token", login.csrf}});
        Answer a = answer_of(path, res);
        if (res.status == 201) a.id = first_photo_id(res);
        if (!res.status) std::this_thread::sleep_for(20ms);  // nobody listening: do not spin
        return a;
    };
}

Load::Load(std::string base_url, Request request, LoadOptions options)
    : base_(std::move(base_url)), request_(std::move(request)), options_(options), start_(Clock::now()) {
    for (int i = 0; i < options_.clients; ++i) threads_.emplace_back([this, i] { run(i); });
}

Load::~Load() { stop(); }

void Load::stop() {
    stop_ = true;
    for (auto& t : threads_)
        if (t.joinable()) t.join();
}

void Load::run(int client) {
    std::optional<HttpClient> http;
    for (std::size_t n = 0; !stop_; ++n) {
        if (!http || options_.new_connections) {
            http.reset();
            http.emplace(base_);
            http->set_timeout(options_.timeout);
        }
        Answer a = request_(*http, client, n);
        a.at = std::chrono::duration<double>(Clock::now() - start_).count();
        total_++;
        {
            std::lock_guard lock(mutex_);
            counts_[a.status]++;
            answers_.push_back(std::move(a));
        }
        // not `> 0ms`: cppcheck 2.10 cannot evaluate it
        if (options_.pause.count() > 0 && !stop_) std::this_thread::sleep_for(options_.pause);
    }
}

std::vector<Answer> Load::answers() const {
    std::lock_guard lock(mutex_);
    return answers_;
}

std::size_t Load::count(long status) const {
    std::lock_guard lock(mutex_);
    auto it = counts_.find(status);
    return it == counts_.end() ? 0 : it->second;
}

std::vector<Answer> Load::failures() const {
    std::lock_guard lock(mutex_);
    std::vector<Answer> out;
    for (const auto& a : answers_)
        if (a.status != options_.expected) out.push_back(a);
    return out;
}

double Load::max_seconds() const {
    std::lock_guard lock(mutex_);
    return slowest(answers_);
}

std::map<std::string, int> Load::served_by() const {
    std::lock_guard lock(mutex_);
    std::map<std::string, int> out;
    for (const auto& a : answers_)
        if (a.status == options_.expected) out[a.served_by]++;
    return out;
}

std::string Load::summary() const {
    const auto all = answers();
    std::ostringstream s;
    s << pstest::summary(all) << "; served by";
    for (const auto& [name, n] : served_by()) s << " " << (name.empty() ? std::string("?") : name) << "=" << n;
    std::vector<long> allowed{options_.expected};
    s << unexpected(all, allowed);
    return s.str();
}

std::map<long, int> by_status(const std::vector<Answer>& answers) {
    std::map<long, int> out;
    for (const auto& a : answers) out[a.status]++;
    return out;
}

double slowest(const std::vector<Answer>& answers) {
    double s = 0;
    for (const auto& a : answers) s = std::max(s, a.seconds);
    return s;
}

std::string summary(const std::vector<Answer>& answers) {
    std::ostringstream s;
    s << answers.size() << " requests:";
    for (const auto& [status, n] : by_status(answers)) s << " " << describe_status(status) << "×" << n;
    s << "; slowest " << slowest(answers) << " s";
    return s.str();
}

std::string unexpected(const std::vector<Answer>& answers, const std::vector<long>& allowed) {
    std::ostringstream s;
    int n = 0;
    for (const auto& a : answers) {
        if (std::find(allowed.begin(), allowed.end(), a.status) != allowed.end()) continue;
        if (n++ < 10) s << "\n  at " << a.at << " s: " << a.path << " -> " << describe_status(a.status) << " " << a.what;
    }
    if (n > 10) s << "\n  ... " << (n - 10) << " more";
    return s.str();
}

std::vector<std::string> accepted_ids(const std::vector<Answer>& answers) {
    std::vector<std::string> ids;
    for (const auto& a : answers)
        if (a.status == 201 && !a.id.empty()) ids.push_back(a.id);
    return ids;
}

}  // namespace pstest
