#include "app/server_info.hpp"

#include <fmt/format.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

namespace photoshare::app {

namespace {
// The first non-loopback IPv4 address, for servers bound to every interface.
std::string primary_address() {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return "0.0.0.0";
    std::string found = "0.0.0.0";
    for (auto* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
        char buf[INET_ADDRSTRLEN];
        auto* in = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
        if (!inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf)) continue;
        std::string ip(buf);
        if (ip.starts_with("127.")) continue;
        found = ip;
        break;
    }
    freeifaddrs(list);
    return found;
}
}  // namespace

ServerInfo ServerInfo::make(const std::string& name, const std::string& bound_address) {
    ServerInfo info;
    info.name = name;
    info.pid = static_cast<int>(getpid());
    info.address = bound_address;
    if (bound_address.starts_with("0.0.0.0:")) info.address = primary_address() + bound_address.substr(7);
    info.header = fmt::format("{} {} pid={}", info.name, info.address, info.pid);
    return info;
}

}  // namespace photoshare::app
