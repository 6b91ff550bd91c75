#include "files.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace pstest {

std::string source_dir() { return PHOTOSHARE_SOURCE_DIR; }

fs::path testdata(std::string_view relative) { return fs::path(PHOTOSHARE_TESTDATA) / relative; }

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string read_first_line(const fs::path& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

std::string tail_lines(const std::string& text, std::size_t lines) {
    if (text.empty()) return text;
    std::size_t pos = text.size();
    for (std::size_t n = 0; n <= lines && pos > 0; ++n) {
        pos = text.rfind('\n', pos - 1);
        if (pos == std::string::npos) return text;
    }
    return text.substr(pos + 1);
}

std::string tail_chars(const std::string& text, std::size_t chars) {
    return text.size() <= chars ? text : "...\n" + text.substr(text.size() - chars);
}

fs::path temp_base() {
    const char* base = std::getenv("TMPDIR");
    return base && *base ? fs::path(base) : fs::path("/tmp");
}

TempDir::TempDir(std::string_view prefix) {
    const std::string templ = (temp_base() / (std::string(prefix) + "-XXXXXX")).string();
    std::string made = templ;  // mkdtemp fills in the Xs in place
    if (!::mkdtemp(made.data())) throw std::runtime_error("mkdtemp " + templ + ": " + std::strerror(errno));
    path_ = made;
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

std::vector<std::string> list_files(const fs::path& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    if (!fs::exists(dir, ec)) return out;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file(ec)) out.push_back(fs::relative(it->path(), dir).string());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace pstest
