#include "runtime/saved_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "runtime/text.h"

namespace medic {

namespace fs = std::filesystem;

SavedFile readSavedFile(const std::string& path, size_t cap) {
  SavedFile f;
  // O_NONBLOCK: a FIFO put here opens at once instead of waiting for a writer.
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return f;
    f.found = true;
    f.error = errno == ELOOP ? "it is a symbolic link, which medic never follows" : std::strerror(errno);
    return f;
  }
  f.found = true;
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    f.error = std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    f.error = "not a regular file";
  } else if (static_cast<uint64_t>(st.st_size) > cap) {
    f.error = "larger than " + formatBytes(cap) + " (" + std::to_string(st.st_size) + " bytes)";
  } else {
    f.text.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < f.text.size()) {
      ssize_t n = read(fd, f.text.data() + got, f.text.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    f.text.resize(got);
  }
  close(fd);
  if (!f.error.empty()) f.text.clear();
  return f;
}

std::string moveAside(const std::string& path) {
  char stamp[32];
  std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", std::gmtime(&now));
  std::string aside = path + ".corrupt-" + stamp;
  for (int n = 1; access(aside.c_str(), F_OK) == 0 || errno != ENOENT; ++n) {
    if (n > 100) return {};
    aside = path + ".corrupt-" + stamp + "-" + std::to_string(n);
  }
  return rename(path.c_str(), aside.c_str()) == 0 ? aside : std::string();
}

// A fresh temporary (mkostemp: O_CREAT|O_EXCL, so never a link or file put there before),
// written, fsynced, renamed over the file; then the directory fsynced for the rename.
std::string writeAtomically(const std::string& dir, const std::string& name, const std::string& text) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::string path = dir + "/" + name;
  std::string tmp = path + ".tmp-XXXXXX";
  int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return "cannot write " + path + ": " + std::strerror(errno);
  const char* data = text.data();
  size_t left = text.size();
  bool ok = true;
  while (ok && left > 0) {
    ssize_t n = write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) data += n, left -= static_cast<size_t>(n);
  }
  ok = ok && fsync(fd) == 0;
  int err = errno;
  close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok) err = errno;
    unlink(tmp.c_str());
    return "cannot save " + path + ": " + std::strerror(err);
  }
  int d = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d >= 0) {
    fsync(d);
    close(d);
  }
  return {};
}

}  // namespace medic
