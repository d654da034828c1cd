#pragma once
// A temporary directory for one test, removed with everything in it afterwards.
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace medic::test {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char templ[] = "/tmp/medic-test-XXXXXX";
    path = mkdtemp(templ);
    chmod(path.c_str(), 0755);  // exec checks run as 'nobody' and must reach their scripts
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
  std::string write(const std::string& name, const std::string& text, int mode = 0644) const {
    std::filesystem::create_directories((path / name).parent_path());
    std::ofstream(path / name) << text;
    chmod(file(name).c_str(), mode);
    return file(name);
  }
};

}  // namespace medic::test
