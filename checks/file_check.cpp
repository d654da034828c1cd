#include "checks/file_check.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "runtime/path_rules.h"
#include "runtime/text.h"

namespace medic::checks {

namespace {

std::string octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::string kindOf(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "a device";
}

std::string userName(uid_t uid) {
  struct passwd* pw = getpwuid(uid);
  return pw ? std::string(pw->pw_name) : "uid " + std::to_string(uid);
}

}  // namespace

std::unique_ptr<Probe> FileCheck::start(ProbeEnv&, TimePoint, ResultCallback done) const {
  CheckResult r = judge();
  struct stat st {};
  if (spec_.present && lstat(spec_.path.c_str(), &st) == 0 && !S_ISLNK(st.st_mode))
    r.perfdata = {{"age", double(std::max<int64_t>(0, int64_t(std::time(nullptr)) - int64_t(st.st_mtim.tv_sec))), "s"},
                  {"size", double(st.st_size), "B"}};
  done(std::move(r));
  return nullptr;
}

CheckResult FileCheck::judge() const {
  const std::string& path = spec_.path;
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT && !spec_.present) return CheckResult::healthy(path + " does not exist, as expected");
    if (errno == ENOENT) return CheckResult::unhealthy(path + " does not exist");
    return CheckResult::unhealthy("cannot stat " + path + ": " + std::strerror(errno));
  }
  if (!spec_.present) return CheckResult::unhealthy(path + " exists (" + kindOf(st.st_mode) + "); it must not");
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = readlink(path.c_str(), target, sizeof target - 1);
    std::string to = n > 0 ? " to " + escapeText(std::string_view(target, size_t(n)), 200) : "";
    return CheckResult::unhealthy(path + " is a symbolic link" + to + "; medic does not follow it");
  }
  if (spec_.kind == FileSpec::Kind::file && !S_ISREG(st.st_mode))
    return CheckResult::unhealthy(path + " is " + kindOf(st.st_mode) + ", not a regular file");
  if (spec_.kind == FileSpec::Kind::directory && !S_ISDIR(st.st_mode))
    return CheckResult::unhealthy(path + " is " + kindOf(st.st_mode) + ", not a directory");
  if (spec_.owner && st.st_uid != *spec_.owner)
    return CheckResult::unhealthy(path + " is owned by " + userName(st.st_uid) + ", not " + spec_.ownerName);
  if (spec_.mode && (st.st_mode & 07777) != *spec_.mode)
    return CheckResult::unhealthy(path + " has mode " + octal(st.st_mode) + ", not " + octal(*spec_.mode));
  auto size = static_cast<uint64_t>(st.st_size);
  if (spec_.minSize && size < *spec_.minSize)
    return CheckResult::unhealthy(path + " is " + formatBytes(size) + ", less than min_size " + formatBytes(*spec_.minSize));
  if (spec_.maxSize && size > *spec_.maxSize)
    return CheckResult::unhealthy(path + " is " + formatBytes(size) + ", more than max_size " + formatBytes(*spec_.maxSize));
  // Wall-clock age of the last write; a time in the future counts as just now.
  Duration age = std::chrono::seconds(std::max<int64_t>(0, int64_t(std::time(nullptr)) - int64_t(st.st_mtim.tv_sec)));
  std::string modified = age < std::chrono::seconds(1) ? "modified just now" : "modified " + formatDuration(age) + " ago";
  if (spec_.maxAge && age > *spec_.maxAge)
    return CheckResult::unhealthy(path + " was " + modified + " (max_age " + formatDuration(*spec_.maxAge) + ")");
  return CheckResult::healthy(path + ": " + kindOf(st.st_mode).substr(2) + ", " + formatBytes(size) + ", " + modified);
}

std::unique_ptr<Check> parseFileCheck(MapReader& keys, const CheckContext&) {
  FileSpec spec;
  if (keys.require("path") && keys.read("path", spec.path))
    if (auto e = checkAbsolutePath(spec.path)) keys.error("path", "'path' " + *e);
  keys.read("present", spec.present);
  std::string kind;
  if (keys.read("kind", kind)) {
    if (kind == "file") spec.kind = FileSpec::Kind::file;
    else if (kind == "directory") spec.kind = FileSpec::Kind::directory;
    else if (kind != "any") keys.error("kind", "'kind' must be file, directory or any; got " + quoteValue(kind));
  }
  Duration maxAge{};
  if (keys.read("max_age", maxAge, std::chrono::seconds(1))) spec.maxAge = maxAge;
  uint64_t bytes = 0;
  if (keys.readBytes("min_size", bytes)) spec.minSize = bytes;
  if (keys.readBytes("max_size", bytes)) spec.maxSize = bytes;
  if (spec.minSize && spec.maxSize && *spec.minSize > *spec.maxSize) keys.error("max_size", "'max_size' is less than 'min_size'");
  if (keys.read("owner", spec.ownerName)) {
    if (struct passwd* pw = getpwnam(spec.ownerName.c_str())) spec.owner = pw->pw_uid;
    else keys.error("owner", "unknown user " + quoteValue(spec.ownerName));
  }
  std::string mode;
  if (keys.read("mode", mode)) {
    char* end = nullptr;
    unsigned long bits = std::strtoul(mode.c_str(), &end, 8);
    if (mode.empty() || *end != '\0' || bits > 07777) keys.error("mode", "'mode' must be octal permission bits like 0640; got " + quoteValue(mode));
    else spec.mode = static_cast<mode_t>(bits);
  }
  bool constrained = spec.kind != FileSpec::Kind::any || spec.maxAge || spec.minSize || spec.maxSize || spec.owner || spec.mode;
  if (!spec.present && constrained) keys.error("present", "with 'present: false' only 'path' applies: nothing else can be checked of what must not exist");
  return std::make_unique<FileCheck>(std::move(spec));
}

}  // namespace medic::checks
