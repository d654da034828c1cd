#include "runtime/path_rules.h"

#include <climits>
#include <cstdlib>
#include <set>
#include <sys/stat.h>

namespace medic {

std::optional<std::string> checkAbsolutePath(const std::string& path) {
  if (path.empty() || path[0] != '/') return "must be an absolute path";
  if (path.size() > 1 && path.back() == '/') return "must not end with '/'";
  if (path.find("//") != std::string::npos) return "must not contain '//'";
  if (path.find('\0') != std::string::npos) return "must not contain a NUL byte";
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    if (part == "." || part == "..") return "must not contain '.' or '..' components";
    start = end + 1;
  }
  return std::nullopt;
}

std::optional<std::string> checkDestructivePath(const std::string& path) {
  if (auto e = checkAbsolutePath(path)) return e;
  if (path == "/") return "refusing '/'";
  // Single-component paths are all system or mount-point directories (/etc, /var, /srv...).
  // Paths that look right and can never work, said with the reason and what to write instead.
  const std::string kPrivateTmp = ": medic.service has PrivateTmp=yes, so medic sees its own private one, never the "
                                  "service's; keep what medic must clean under /run/<service> (RuntimeDirectory=) or "
                                  "/var/lib/<service>";
  if (path == "/tmp" || path == "/var/tmp") return "refusing " + path + kPrivateTmp;
  if (path.rfind("/var/run/", 0) == 0)
    return "/var/run is a symlink to /run, and medic never deletes through a symlink; write '/run/" + path.substr(9) + "'";
  if (path.find('/', 1) == std::string::npos) return "refusing a top-level directory";
  static const std::set<std::string> kSystemTrees = {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64",
                                                     "/libx32", "/boot", "/dev", "/proc", "/sys"};
  std::string top = path.substr(0, path.find('/', 1));
  if (kSystemTrees.count(top)) return "refusing a path under " + top;
  static const std::set<std::string> kSystemDirs = {
      "/var/lib", "/var/log", "/var/cache", "/var/spool", "/var/tmp", "/var/backups", "/var/mail",
      "/var/opt", "/var/local", "/var/run", "/etc/systemd", "/etc/ssl", "/etc/default", "/etc/init.d",
      "/etc/pam.d", "/etc/security", "/etc/apt", "/etc/ssh", "/etc/sudoers.d", "/etc/medic", "/run/systemd",
      "/run/user", "/run/lock", "/home/root"};
  if (kSystemDirs.count(path)) return "refusing the system directory " + path;
  // A symlink anywhere along the path could redirect deletion outside the declared tree.
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    char resolved[PATH_MAX];
    if (!realpath(path.c_str(), resolved)) return "cannot be resolved";
    if (path != resolved) return std::string("goes through a symlink (resolves to ") + resolved + ")";
  }
  return std::nullopt;
}

std::optional<std::string> checkDestructiveGlob(const std::string& glob) {
  size_t wild = glob.find_first_of("*?[");
  if (wild == std::string::npos) return checkDestructivePath(glob);
  size_t slash = glob.rfind('/', wild);
  std::string dir = glob.substr(0, slash == 0 ? 1 : slash);
  std::string rest = glob.substr(slash + 1);
  if (rest.find('/') != std::string::npos) return "wildcards are allowed in the last component only";
  if (auto e = checkAbsolutePath(glob)) return e;
  return checkDestructivePath(dir);
}

void refuseDestructivePaths(MapReader& r, const std::string& key, const std::vector<std::string>& paths, bool globs) {
  for (const auto& p : paths)
    if (auto e = globs ? checkDestructiveGlob(p) : checkDestructivePath(p)) r.error(key, "'" + key + "' " + quoteValue(p) + ": " + *e);
}

bool pathWithin(const std::string& path, const std::string& dir) { return path == dir || path.rfind(dir + "/", 0) == 0; }

}  // namespace medic
