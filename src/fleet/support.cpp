#include "fleet/support.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <deque>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace photoshare::fleet {

std::string random_token() {
    std::ifstream in("/dev/urandom", std::ios::binary);
    unsigned char bytes[24];
    in.read(reinterpret_cast<char*>(bytes), sizeof bytes);
    if (!in) throw std::runtime_error("cannot read /dev/urandom");
    std::string out;
    for (unsigned char b : bytes) out += fmt::format("{:02x}", b);
    return out;
}

std::string read_first_line(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::string line;
    std::getline(in, line);
    return line;
}

std::string tail(const std::filesystem::path& p, int lines) {
    std::ifstream in(p);
    std::deque<std::string> last;
    std::string line;
    while (std::getline(in, line)) {
        last.push_back(line);
        if (static_cast<int>(last.size()) > lines) last.pop_front();
    }
    std::string out;
    for (const auto& l : last) out += "\n    " + l;
    return out;
}

bool port_in_use(const std::string& host, int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<unsigned short>(port));
    ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
    bool used = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return used;
}

double seconds(TimePoint t) { return static_cast<double>(t.count()) / 1000.0; }

boost::json::value json_number(const std::optional<double>& v) {
    if (!v) return nullptr;
    return std::round(*v * 100) / 100;
}

void append_record(std::FILE* file, const std::string& line, std::atomic<bool>& failed, const char* name) {
    if (std::fputs(line.c_str(), file) != EOF && std::fflush(file) != EOF) return;
    const int err = errno;
    if (!failed.exchange(true)) spdlog::warn("cannot write {}: {} (further failures not reported)", name, std::generic_category().message(err));
}

}  // namespace photoshare::fleet
