// HAProxy's runtime API (the stats socket, level admin): how the fleet fills, drains and
// empties server slots, and reads `show stat`.
#pragma once

#include <filesystem>
#include <string>

namespace photoshare::fleet {

// One command per connection; blocking, with a timeout. Throws std::runtime_error when the
// socket cannot be reached.
class RuntimeApi {
public:
    explicit RuntimeApi(std::filesystem::path socket) : socket_(std::move(socket)) {}
    std::string command(const std::string& line) const;
    // A command whose answer must be empty or one of `ok` (else throws with the answer).
    void expect_ok(const std::string& line) const;
    const std::filesystem::path& socket() const { return socket_; }

private:
    std::filesystem::path socket_;
};

}  // namespace photoshare::fleet
