#include "services.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>

namespace photoshare::kv::testing {

namespace {

template <class Start>
const Shared& start_once(Start start) {
    static std::once_flag once;
    static Shared shared;
    static std::string error;
    std::call_once(once, [&] {
        try {
            start(shared);
        } catch (const std::exception& e) {
            error = e.what();
        }
    });
    if (!error.empty()) throw std::runtime_error(error);
    return shared;
}

}  // namespace

const Shared& shared_memcached() {
    static std::vector<std::unique_ptr<Service>> owned;
    return start_once([](Shared& s) {
        for (int i = 0; i < 3; ++i) {
            owned.push_back(std::make_unique<Service>("memcached"));
            owned.back()->start();
            s.memcached.push_back(owned.back().get());
        }
        s.memcached_url = memcached_url(s.memcached);
    });
}

std::string url_for(const std::string& backend) {
    if (backend == "memcached") return shared_memcached().memcached_url;
    if (backend == "redis") return shared_redis().redis_url;
    return "memory://";
}

const Shared& shared_redis() {
    static std::unique_ptr<Service> owned;
    return start_once([](Shared& s) {
        // Characters that must be percent-encoded in the URL, to prove they are decoded.
        s.redis_password = "p@ss:w/rd%" + std::to_string(std::random_device{}());
        owned = std::make_unique<Service>("redis", s.redis_password);
        s.redis_url = owned->start();
        s.redis = owned.get();
    });
}

std::string memcached_url(const std::vector<Service*>& nodes, const std::string& query) {
    std::string url = "memcached://";
    for (std::size_t i = 0; i < nodes.size(); ++i) url += (i ? "," : "") + nodes[i]->address();
    return query.empty() ? url : url + "?" + query;
}

std::string unique_prefix() {
    static const std::string run = [] {
        std::ostringstream s;
        s << std::hex << std::random_device{}() << std::random_device{}();
        return s.str();
    }();
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "none";
    for (char& c : name) {
        if (c == '/') c = '.';
    }
    return "t" + run + ":" + name + ":";
}

}  // namespace photoshare::kv::testing
