// HAProxy: the generated configuration (checked by haproxy -c when HAProxy is installed),
// `show stat` and the request log.
#include "fleet/fleet_config.hpp"
#include "fleet/haproxy_config.hpp"
#include "fleet/request_log.hpp"
#include "fleet/show_stat.hpp"
#include "fleet/scrape.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace photoshare::fleet;

namespace {

FleetConfig sample_config() {
    auto c = parse_fleet_config(R"(
state_dir = "/tmp/fleet-unit"
[servers]
min = 1
max = 4
base_port = 19311
[haproxy]
listen = "127.0.0.1:19300"
stats = "127.0.0.1:19301"
)", "/tmp");
    c.file = "/tmp/fleet.toml";
    return c;
}

}  // namespace

TEST(HaproxyConfig, HasSlotsInMaintenanceAndTheLog) {
    auto text = haproxy_config(sample_config(), 5514);
    EXPECT_NE(text.find("server-template web- 1-6 127.0.0.1:19311 disabled"), std::string::npos) << text;
    EXPECT_NE(text.find("log 127.0.0.1:5514"), std::string::npos);
    EXPECT_NE(text.find("stats socket \"/tmp/fleet-unit/haproxy.sock\""), std::string::npos);
    EXPECT_NE(text.find("level admin"), std::string::npos);
    EXPECT_NE(text.find("bind 127.0.0.1:19300"), std::string::npos);
    EXPECT_NE(text.find("uri /readyz"), std::string::npos);
    EXPECT_NE(text.find("log-format \"REQ %s %Tw %Tc %Tr %Ta %ST %rc"), std::string::npos);
    EXPECT_NE(text.find("listen stats"), std::string::npos);
    EXPECT_NE(text.find("http-request disable-l7-retry unless METH_GET"), std::string::npos);
}

TEST(HaproxyConfig, HaproxyAcceptsIt) {
    const char* haproxy = "/usr/sbin/haproxy";
    if (::access(haproxy, X_OK) != 0) GTEST_SKIP() << "no HAProxy installed";
    auto dir = std::filesystem::temp_directory_path() / ("fleet-unit-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto path = dir / "haproxy.cfg";
    auto config = sample_config();
    config.state_dir = dir;
    std::ofstream(path) << haproxy_config(config, 5514);
    write_haproxy_files(config);  // the map and the error page it refers to
    auto cmd = std::string(haproxy) + " -c -q -f " + path.string() + " 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::filesystem::remove_all(dir);
}

TEST(ShowStat, ReadsTheServerRowsOfTheBackend) {
    const std::string csv =
        "# pxname,svname,qcur,qmax,scur,smax,slim,stot,status,check_status,qtime,ctime,rtime,ttime,hrsp_5xx,addr\n"
        "www,FRONTEND,,,3,5,,100,OPEN,,,,,,0,\n"
        "photoshare,web-1,0,0,2,4,,50,UP,L7OK,0,0,12,15,0,127.0.0.1:9011\n"
        "photoshare,web-2,1,1,0,1,,7,DRAIN,L7OK,3,0,40,41,2,127.0.0.1:9012\n"
        "photoshare,web-3,0,0,0,0,,0,MAINT,,0,0,0,0,0,127.0.0.1:9013\n"
        "photoshare,web-4,0,0,0,0,,0,UP 1/2,L7STS,0,0,0,0,0,127.0.0.1:9014\n"
        "photoshare,BACKEND,0,0,2,4,,57,UP,,0,0,12,15,2,\n";
    auto rows = parse_show_stat(csv, "photoshare");
    ASSERT_EQ(rows.size(), 4u);
    EXPECT_EQ(rows[0].name, "web-1");
    EXPECT_EQ(rows[0].scur, 2u);
    EXPECT_EQ(rows[0].rtime, 12u);
    EXPECT_EQ(rows[0].check_status, "L7OK");
    EXPECT_EQ(rows[1].status, "DRAIN");
    EXPECT_EQ(rows[1].qcur, 1u);
    EXPECT_EQ(rows[1].hrsp_5xx, 2u);
    EXPECT_EQ(rows[1].addr, "127.0.0.1:9012");
    EXPECT_TRUE(stat_is_up(rows[0].status));
    EXPECT_FALSE(stat_is_up(rows[1].status));
    EXPECT_FALSE(stat_is_up(rows[2].status));
    EXPECT_TRUE(stat_is_up(rows[3].status));  // one failed check of two: still serving
    EXPECT_FALSE(stat_is_up("DOWN 1/2"));
}

TEST(RequestLog, ParsesTheFleetsFormat) {
    auto r = parse_request_log("REQ web-2 0 1 1203 1205 200 0 127.0.0.1:5555 \"GET / HTTP/1.1\"");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->server, "web-2");
    EXPECT_EQ(r->status, 200);
    ASSERT_TRUE(r->latency_ms());
    EXPECT_EQ(*r->latency_ms(), 1204);

    auto failed = parse_request_log("REQ web-1 0 0 -1 3 -1 +2 127.0.0.1:1 \"GET / HTTP/1.1\"");
    ASSERT_TRUE(failed);
    EXPECT_FALSE(failed->latency_ms());
    EXPECT_EQ(failed->retries, 2);
    EXPECT_TRUE(failed->redispatched);
    LogCounts c;
    c.add(*r);
    c.add(*failed);
    auto nosrv = parse_request_log("REQ <NOSRV> -1 -1 -1 0 503 0 127.0.0.1:2 \"GET / HTTP/1.1\"");
    ASSERT_TRUE(nosrv);
    c.add(*nosrv);
    EXPECT_EQ(c.requests, 3u);
    EXPECT_EQ(c.with_latency, 1u);
    EXPECT_EQ(c.status_2xx, 1u);
    EXPECT_EQ(c.status_5xx, 1u);
    EXPECT_EQ(c.failed, 1u);

    EXPECT_FALSE(parse_request_log("Server photoshare/web-2 is DOWN, reason: Layer4 connection problem"));
    EXPECT_FALSE(parse_request_log("REQ web-1 0"));
}

TEST(ServerMetrics, ReadsWhatTheFleetNeeds) {
    auto m = parse_server_metrics(
        "# HELP http_requests_in_flight Requests being handled\n"
        "# TYPE http_requests_in_flight gauge\n"
        "http_requests_in_flight 5\n"
        "http_requests_total{method=\"GET\",route=\"/\",status=\"200\"} 120\n"
        "http_requests_total{method=\"GET\",route=\"/metrics\",status=\"200\"} 30\n"
        "http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"} 300\n"
        "http_requests_total{method=\"POST\",route=\"/api/v1/photos\",status=\"201\"} 3\n"
        "photoshare_knob_latency_ms 1200\n"
        "photoshare_knob_slots 4\n"
        "photoshare_requests_waiting_for_a_slot 2\n");
    ASSERT_TRUE(m.in_flight);
    EXPECT_EQ(*m.in_flight, 4);  // the scrape itself is not load
    EXPECT_EQ(m.requests_total, 123);
    EXPECT_EQ(m.knob_latency_ms, 1200);
    EXPECT_EQ(m.knob_slots, 4);
    EXPECT_EQ(m.waiting_for_slot, 2);
    EXPECT_FALSE(parse_server_metrics("garbage\n").in_flight);
}
