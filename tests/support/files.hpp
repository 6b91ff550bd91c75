// Files and paths: the repository, the shared test data, temporary directories, logs.
#pragma once

#include "common.hpp"

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace pstest {

// The repository (PHOTOSHARE_SOURCE_DIR at build time).
std::string source_dir();
// A file of the shared, read-only test data (PngSuite, edge-case images...).
fs::path testdata(std::string_view relative);
// The whole file; throws std::runtime_error if it cannot be read.
std::string read_file(const fs::path& path);
// The whole file; empty if it cannot be read (a log that is not there yet).
std::string read_text(const fs::path& path);
// The first line of a file (without its newline); empty if there is none.
std::string read_first_line(const fs::path& path);

// The last `lines` lines of text; the last `chars` characters (after "...\n" if cut).
std::string tail_lines(const std::string& text, std::size_t lines);
std::string tail_chars(const std::string& text, std::size_t chars = 8000);

// $TMPDIR, or /tmp.
fs::path temp_base();

// A directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
public:
    explicit TempDir(std::string_view prefix = "ps-itest");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// Regular files under dir (recursively), as paths relative to dir; empty if dir is absent.
std::vector<std::string> list_files(const fs::path& dir);

}  // namespace pstest
