#include "database_server.hpp"

#include "support/ports.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "store/mysql.hpp"
#include "store/postgresql.hpp"

#ifndef PHOTOSHARE_SOURCE_DIR
#error "PHOTOSHARE_SOURCE_DIR must name the source tree (for scripts/service)"
#endif

namespace photoshare::store::testing {
namespace {

namespace fs = std::filesystem;

std::string service_script() {
    return std::string(PHOTOSHARE_SOURCE_DIR) + "/scripts/service";
}

// In a forked child, before exec: nothing of the test program's descriptors (database
// sockets above all) may leak into a server that outlives the call.
void close_inherited_descriptors() {
    const long most = sysconf(_SC_OPEN_MAX);
    for (int fd = 3; fd < (most > 0 ? most : 1024); ++fd) {
        close(fd);
    }
}

std::string read_first_line(const fs::path& file) {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);
    return line;
}

}  // namespace

std::string text_of(sql::Connection& connection, const std::string& query) {
    const sql::Rows rows = connection.query(query, {});
    std::string out;
    for (const sql::Row& row : rows) {
        if (!out.empty()) {
            out += '\n';
        }
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (i > 0) {
                out += '|';
            }
            if (const auto* number = std::get_if<std::int64_t>(&row[i])) {
                out += std::to_string(*number);
            } else if (const auto* text = std::get_if<std::string>(&row[i])) {
                out += *text;
            } else {
                out += "NULL";
            }
        }
    }
    return out;
}

std::unique_ptr<sql::Connection> connect_raw(const std::string& url, const Options& options) {
    if (url.starts_with("postgres")) {
        return connect_postgres(postgres_settings(url, options));
    }
    return connect_mysql(mysql_settings(url, options));
}

TestServer& TestServer::get(const std::string& kind) {
    static std::mutex mutex;
    // Destroyed at exit, after the last test: each server is stopped then.
    static std::map<std::string, std::unique_ptr<TestServer>> servers;
    static std::map<std::string, std::string> failures;
    std::lock_guard lock(mutex);
    if (auto found = servers.find(kind); found != servers.end()) {
        return *found->second;
    }
    if (auto failed = failures.find(kind); failed != failures.end()) {
        throw std::runtime_error(failed->second);
    }
    try {
        std::string pattern = (fs::temp_directory_path() / ("ps-" + kind + "-XXXXXX")).string();
        if (mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("cannot make a temporary directory under " +
                                     fs::temp_directory_path().string() + " (set TMPDIR to a writable one)");
        }
        std::unique_ptr<TestServer> server(new TestServer(kind, pattern));
        server->start_on_some_port();
        return *servers.emplace(kind, std::move(server)).first->second;
    } catch (const std::exception& e) {
        failures[kind] = std::string("the test ") + kind + " server could not be started: " + e.what();
        throw std::runtime_error(failures[kind]);
    }
}

TestServer::TestServer(std::string kind, fs::path dir) : kind_(std::move(kind)), dir_(std::move(dir)) {
    // The reaper: a shell in a session of its own that waits for this pipe to close (at
    // exit, or when this program dies any other way), then stops the server and removes
    // its directory. So no server outlives the test program, even one that crashed.
    int pipe_ends[2];
    if (pipe2(pipe_ends, O_CLOEXEC) != 0) {
        throw std::runtime_error("pipe2 failed");
    }
    const std::string script = service_script();
    const std::string dir_text = dir_.string();
    const pid_t pid = fork();
    if (pid < 0) {
        throw std::runtime_error("fork failed");
    }
    if (pid == 0) {
        setsid();
        dup2(pipe_ends[0], 0);
        const int null = ::open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        close_inherited_descriptors();
        // flock: waits for a start that may still be running (this program died during
        // it), so that the server it launches is stopped too.
        execl("/bin/sh", "sh", "-c", R"(cat >/dev/null; flock --close "$2.lock" "$0" stop "$1" "$2"; rm -rf "$2" "$2.lock")",
              script.c_str(), kind_.c_str(), dir_text.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    close(pipe_ends[0]);
    reaper_pipe_ = pipe_ends[1];
    reaper_ = pid;
}

TestServer::~TestServer() {
    close(reaper_pipe_);
    int status = 0;
    while (waitpid(reaper_, &status, 0) < 0 && errno == EINTR) {
    }
}

void TestServer::start_on_some_port() {
    std::string output;
    for (int attempt = 0; attempt < 3; ++attempt) {
        const int port = pstest::free_port();
        const pstest::CommandResult result = service({"start", kind_, dir_.string(), std::to_string(port)});
        if (result.ok()) {
            port_ = port;
            admin_password_ = read_first_line(dir_ / "admin-password");
            if (admin_password_.empty()) {
                throw std::runtime_error("scripts/service left no admin-password in " + dir_.string());
            }
            return;
        }
        output = result.output;
        if (output.find("not found") != std::string::npos || output.find("unknown service") != std::string::npos) {
            break;  // another port will not help
        }
    }
    throw std::runtime_error("scripts/service start " + kind_ + " failed:\n" + output);
}

// PostgreSQL: a test's "database" is a schema of the database photoshare, chosen by the
// search_path: making one costs a millisecond, where CREATE DATABASE copies a template
// and syncs it (a few hundred). MariaDB: a database (there, the same thing as a schema).
std::string TestServer::url(const std::string& database) const {
    if (kind_ == "postgres") {
        return "postgresql://photoshare:photoshare@127.0.0.1:" + std::to_string(port_) + "/photoshare" +
               (database.empty() ? "" : "?options=-c%20search_path%3D" + database);
    }
    return "mysql://photoshare:photoshare@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string TestServer::admin_url(const std::string& database) const {
    if (kind_ == "postgres") {
        return "postgresql://postgres:" + admin_password_ + "@127.0.0.1:" + std::to_string(port_) + "/" +
               (database.empty() ? "postgres" : "photoshare?options=-c%20search_path%3D" + database);
    }
    return "mysql://root:" + admin_password_ + "@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

pstest::CommandResult TestServer::service(std::vector<std::string> arguments) const {
    // Under the directory's lock, which the reaper takes too. --close: the server the
    // script starts must not inherit (and so hold) the lock.
    arguments.insert(arguments.begin(), {"flock", "--close", dir_.string() + ".lock", service_script()});
    return pstest::run(arguments, std::chrono::minutes(5));
}

void TestServer::stop() {
    const pstest::CommandResult result = service({"stop", kind_, dir_.string()});
    if (!result.ok()) {
        throw std::runtime_error("scripts/service stop " + kind_ + " failed:\n" + result.output);
    }
}

void TestServer::start() {
    const pstest::CommandResult result = service({"start", kind_, dir_.string(), std::to_string(port_)});
    if (!result.ok()) {
        throw std::runtime_error("scripts/service start " + kind_ + " failed:\n" + result.output);
    }
}

std::vector<pid_t> TestServer::server_pids() const {
    std::vector<pid_t> pids;
    const std::string main = read_first_line(kind_ == "postgres" ? dir_ / "data" / "postmaster.pid" : dir_ / "mysqld.pid");
    if (main.empty()) {
        return pids;
    }
    const pid_t parent = static_cast<pid_t>(std::stol(main));
    pids.push_back(parent);
    // PostgreSQL: one process per session and per background task, children of the postmaster.
    for (const auto& entry : fs::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        std::getline(stat, line);
        const auto close_paren = line.rfind(')');
        if (close_paren == std::string::npos) {
            continue;
        }
        std::istringstream fields(line.substr(close_paren + 2));
        std::string state;
        long ppid = 0;
        fields >> state >> ppid;
        if (ppid == parent) {
            pids.push_back(static_cast<pid_t>(std::stol(name)));
        }
    }
    return pids;
}

void TestServer::freeze() {
    for (const pid_t pid : server_pids()) {
        kill(pid, SIGSTOP);
    }
}

void TestServer::thaw() {
    for (const pid_t pid : server_pids()) {
        kill(pid, SIGCONT);
    }
}

std::unique_ptr<sql::Connection> TestServer::admin(const std::string& database) const {
    return connect_raw(admin_url(database));
}

std::string TestServer::create_database() {
    const std::string name = "ps_test_" + std::to_string(++databases_);
    if (kind_ == "postgres") {
        auto connection = connect_raw(admin_url(name));
        connection->run_ddl("CREATE SCHEMA " + name + " AUTHORIZATION photoshare");
    } else {
        auto connection = admin();
        connection->run_ddl("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
        connection->run_ddl("GRANT ALL PRIVILEGES ON " + name + ".* TO 'photoshare'@'127.0.0.1'");
    }
    return name;
}

void TestServer::drop_database(const std::string& name) {
    try {
        if (kind_ == "postgres") {
            connect_raw(admin_url(name))->run_ddl("DROP SCHEMA IF EXISTS " + name + " CASCADE");
        } else {
            admin()->run_ddl("DROP DATABASE IF EXISTS " + name);
        }
    } catch (const std::exception&) {
        // The server is stopped (a restart test that failed half-way): it goes at exit anyway.
    }
}

}  // namespace photoshare::store::testing
