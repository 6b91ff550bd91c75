// HAProxy with three servers under a steady GET load (scripts/stack: PostgreSQL, memcached):
// one server is killed (-9), a second drained (SIGTERM: readiness fails, HAProxy takes it out,
// it finishes what it has), so one serves alone; then both start again and come back into
// rotation. Not one GET fails. (Each of the first two steps alone, on both backend pairs, is
// in tests/cluster/test_stack.cpp; this is the sequence, down to one server and back.)
#include "faults.hpp"
#include "support/app.hpp"
#include "support/http_client.hpp"
#include "support/images.hpp"
#include "support/load.hpp"
#include "support/process.hpp"
#include "support/stack.hpp"

#include <gtest/gtest.h>

#include <csignal>

namespace {

using namespace faults;
using namespace pstest;

TEST(Haproxy, KillOneDrainOneStartBothUnderLoadFailsNoGet) {
    if (!pstest::have_program("haproxy")) GTEST_SKIP() << "haproxy is not installed";
    pstest::Stack stack(pstest::StackOptions{.level = 4, .servers = 3, .db = "postgres", .cache = "memcached"});
    ASSERT_NO_THROW(stack.up());

    // A photo to look at, so the load reads media too.
    pstest::HttpClient client(stack.url());
    const std::string body = R"({"username":")" + pstest::unique_username("fh") + R"(","password":")" + pstest::kPassword + R"("})";
    ASSERT_EQ(client.post_json("/api/v1/users", body).status, 201);
    auto login = client.post_json("/api/v1/session", body);
    ASSERT_EQ(login.status, 200) << login.describe();
    const std::string csrf(login.json().at("csrf_token").as_string());
    auto up = client.upload("/api/v1/photos", {pstest::Part::bytes(small_png(3), "p.png", "image/png")}, {{"X-CSRF-Token", csrf}});
    ASSERT_EQ(up.status, 201) << up.describe();
    const std::string id(up.json().at("photos").as_array()[0].at("id").as_string());

    Load load(stack.url(), get_paths({"/", "/api/v1/photos", "/photos/" + id, "/media/" + id + "_t.jpg", "/api/v1/photos/" + id}), {.clients = 4});
    ASSERT_TRUE(pstest::eventually([&] { return load.total() >= 200; }, 10s)) << load.summary();
    std::this_thread::sleep_for(2s);
    const auto t0 = Clock::now();
    auto at = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
    std::string timeline;
    auto mark = [&](const std::string& what) { timeline += "\n  " + std::to_string(at()) + " s: " + what + " (" + std::to_string(load.total()) + " GETs so far)"; };

    const pid_t killed = stack.server_pid(1);
    ASSERT_TRUE(pstest::process_alive(killed));
    ASSERT_EQ(::kill(killed, SIGKILL), 0);
    mark("kill -9 web-1");
    EXPECT_TRUE(pstest::eventually([&] { return stack.haproxy_states()["web-1"] == 0; }, 10s)) << "HAProxy keeps the dead web-1";
    mark("HAProxy has web-1 down");
    std::this_thread::sleep_for(2s);

    auto res = stack.stack({"stop", "web-2"});  // SIGTERM; returns once it has exited
    ASSERT_TRUE(res.ok()) << res.output;
    mark("web-2 drained and stopped");
    const auto alone_from = load.total();
    std::this_thread::sleep_for(3s);
    const auto alone = load.total() - alone_from;
    mark("web-3 alone for 3 s");

    res = stack.stack({"start", "web-1"});
    ASSERT_TRUE(res.ok()) << res.output;
    mark("web-1 started");
    res = stack.stack({"start", "web-2"});
    ASSERT_TRUE(res.ok()) << res.output;
    mark("web-2 started");
    EXPECT_TRUE(stack.wait_all_in_rotation(20s)) << stack.haproxy_api("show servers state photoshare");
    mark("all three in rotation");
    const auto before_end = load.served_by();
    std::this_thread::sleep_for(3s);
    load.stop();
    mark("load stopped");

    EXPECT_TRUE(load.failures().empty()) << load.summary() << timeline;
    EXPECT_GT(alone, 100u) << "the load stalled while web-3 was alone" << timeline;
    auto after = load.served_by();
    for (const auto& name : {"web-1", "web-2", "web-3"})
        EXPECT_GT(after[name], before_end.count(name) ? before_end.at(name) : 0) << name << " served nothing after it came back: " << load.summary();
    note("HAProxy, 3 servers, kill one, drain one, start both: " + load.summary() + "; slowest GET " + std::to_string(load.max_seconds()) +
         " s; web-3 alone served " + std::to_string(alone) + " GETs in 3 s" + timeline);
}

}  // namespace
