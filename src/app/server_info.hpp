// Which server answered: shown on every page and in the X-Served-By header, so that behind
// a load balancer the name visibly changes from request to request.
#pragma once

#include <string>

namespace photoshare::app {

struct ServerInfo {
    std::string name;
    std::string address;  // host:port it listens on (a real interface address when bound to all)
    int pid = 0;
    std::string header;  // X-Served-By value

    static ServerInfo make(const std::string& name, const std::string& bound_address);
};

}  // namespace photoshare::app
