#pragma once
/// What the fuzz targets share: a private scratch directory, and a way to fail loudly when an
/// invariant (not just a crash) is broken, so libFuzzer saves the input.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace medic::fuzz {

/// A directory of this process's own, emptied before each input.
inline std::string scratchDir() {
  static const std::string dir = [] {
    std::string d = "/tmp/medic-fuzz-" + std::to_string(getpid());
    std::filesystem::create_directories(d);
    return d;
  }();
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) std::filesystem::remove_all(e.path(), ec);
  return dir;
}

inline void writeFile(const std::string& path, std::string_view bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), std::streamsize(bytes.size()));
}

/// An invariant broke: say which, and abort so libFuzzer keeps the input as a crash.
[[noreturn]] inline void broken(const std::string& what) {
  std::fprintf(stderr, "invariant broken: %s\n", what.c_str());
  std::abort();
}

}  // namespace medic::fuzz
