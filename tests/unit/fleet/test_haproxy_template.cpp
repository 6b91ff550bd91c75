// The HAProxy template: deploy/haproxy/haproxy.cfg read as sections of directives, edited,
// written again; and the fleet's configuration made from it.
#include "fleet/fleet_config.hpp"
#include "fleet/haproxy_config.hpp"
#include "fleet/haproxy_template.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

using namespace photoshare::fleet;

namespace {

const char* const small = R"(# a comment
global
    # about the log
    log stdout format raw local0 info
    maxconn 4096

backend photoshare
    balance roundrobin

    server web-1 127.0.0.1:8011
    server web-2 127.0.0.1:8012
)";

std::string shipped_template() {
    std::ifstream in(std::filesystem::path(PHOTOSHARE_SOURCE_DIR) / "deploy/haproxy/haproxy.cfg", std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

FleetConfig config() {
    auto c = parse_fleet_config("state_dir = \"/tmp/fleet-unit\"\n", "/tmp");
    c.file = "/tmp/fleet.toml";
    return c;
}

}  // namespace

TEST(HaproxyTemplate, ReadsSectionsOfDirectivesWithoutComments) {
    auto t = HaproxyTemplate::parse(small);
    ASSERT_EQ(t.sections.size(), 2u);
    EXPECT_EQ(t.sections[0].header, "global");
    EXPECT_EQ(t.sections[0].lines, (std::vector<std::string>{"log stdout format raw local0 info", "maxconn 4096"}));
    EXPECT_EQ(t.sections[1].lines.size(), 3u);
    EXPECT_EQ(t.render({}), "global\n    log stdout format raw local0 info\n    maxconn 4096\n\nbackend photoshare\n    balance roundrobin\n"
                            "    server web-1 127.0.0.1:8011\n    server web-2 127.0.0.1:8012\n");
    EXPECT_THROW(HaproxyTemplate::parse("    maxconn 1\nglobal\n"), std::invalid_argument);
}

TEST(HaproxyTemplate, EditsNameTheirDirective) {
    auto t = HaproxyTemplate::parse(small);
    t.set_argument("global", "log", "127.0.0.1:514");
    t.insert_after("global", "log", {"# inserted"});
    t.replace("backend photoshare", "balance", {"balance leastconn"});
    t.replace_all("backend photoshare", "server", {"server-template web- 1-4 127.0.0.1:9011 disabled"});
    t.insert_section_after("global", HaproxySection{{"# why"}, "resolvers dns", {"nameserver a 127.0.0.1:53"}});
    EXPECT_EQ(t.render({"# head"}), "# head\n\nglobal\n    log 127.0.0.1:514 format raw local0 info\n    # inserted\n    maxconn 4096\n\n"
                                    "# why\nresolvers dns\n    nameserver a 127.0.0.1:53\n\n"
                                    "backend photoshare\n    balance leastconn\n    server-template web- 1-4 127.0.0.1:9011 disabled\n");
    t.remove_section("resolvers dns");
    EXPECT_EQ(t.sections.size(), 2u);
}

TEST(HaproxyTemplate, AMissingOrRepeatedDirectiveIsAnError) {
    auto t = HaproxyTemplate::parse(small);
    EXPECT_THROW(t.replace("global", "nbthread", {}), std::logic_error);
    EXPECT_THROW(t.replace("backend photoshare", "server", {}), std::logic_error);  // two of them
    EXPECT_THROW(t.replace_all("global", "server", {}), std::logic_error);
    EXPECT_THROW(t.section("frontend www"), std::logic_error);
    EXPECT_THROW(t.set_argument("global", "maxconn 4096", "1"), std::logic_error);  // no argument left
    EXPECT_NO_THROW(t.directive("global", "maxconn"));
    EXPECT_THROW(t.directive("global", "max"), std::logic_error);  // a whole keyword, not a prefix
}

TEST(HaproxyTemplate, TheFleetUsesTheShippedFileAsBuilt) {
    // The binary carries deploy/haproxy/haproxy.cfg as it is in the tree (CMake re-embeds it
    // when it changes).
    EXPECT_EQ(haproxy_template_text(), shipped_template());
}

TEST(HaproxyTemplate, TheFleetsConfigKeepsEveryOtherSettingOfTheTemplate) {
    // What the fleet does not replace, it takes from the template: a setting added there
    // reaches the fleet's HAProxy.
    auto tpl = shipped_template();
    const std::string anchor = "    timeout check 2s\n";
    ASSERT_NE(tpl.find(anchor), std::string::npos);
    tpl.replace(tpl.find(anchor), anchor.size(), anchor + "    timeout tunnel 1h\n");
    const auto text = haproxy_config(config(), 5514, tpl);
    EXPECT_NE(text.find("    timeout check 2s\n    timeout tunnel 1h\n"), std::string::npos) << text;
    EXPECT_EQ(haproxy_config(config(), 5514).find("timeout tunnel"), std::string::npos);
}

TEST(HaproxyTemplate, ATemplateWithoutWhatTheFleetReplacesIsRefused) {
    auto tpl = shipped_template();
    const std::string line = "    balance roundrobin\n";
    ASSERT_NE(tpl.find(line), std::string::npos);
    tpl.erase(tpl.find(line), line.size());
    EXPECT_THROW(haproxy_config(config(), 5514, tpl), std::logic_error);
    EXPECT_THROW(haproxy_config(config(), 5514, "global\n    maxconn 1\n"), std::logic_error);
}

TEST(HaproxyTemplate, HaproxyAcceptsTheShippedFile) {
    const char* haproxy = "/usr/sbin/haproxy";
    if (::access(haproxy, X_OK) != 0) GTEST_SKIP() << "no HAProxy installed";
    const auto cmd = std::string(haproxy) + " -c -q -f " + PHOTOSHARE_SOURCE_DIR + "/deploy/haproxy/haproxy.cfg 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}
