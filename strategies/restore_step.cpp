#include "strategies/restore_step.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "runtime/path_rules.h"

namespace medic::strategies {

namespace fs = std::filesystem;

size_t clearDirectory(const std::string& dir) {
  size_t removed = 0;
  for (const auto& entry : fs::directory_iterator(dir))
    removed += fs::remove_all(entry.path());  // a symlink goes, its target stays
  return removed;
}

namespace {

bool sameFile(const fs::path& a, const fs::path& b) {
  std::ifstream x(a, std::ios::binary), y(b, std::ios::binary);
  if (!x || !y) return false;
  return std::equal(std::istreambuf_iterator<char>(x), {}, std::istreambuf_iterator<char>(y), {});
}

// Whether two trees hold the same names, kinds, bytes and link targets (links not followed).
bool sameTree(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  std::map<std::string, fs::file_type> left, right;
  for (const auto& e : fs::directory_iterator(a, ec)) left[e.path().filename()] = e.symlink_status().type();
  if (ec) return false;
  for (const auto& e : fs::directory_iterator(b, ec)) right[e.path().filename()] = e.symlink_status().type();
  if (ec || left != right) return false;
  for (const auto& [name, type] : left) {
    fs::path x = a / name, y = b / name;
    bool same = type == fs::file_type::directory ? sameTree(x, y)
                : type == fs::file_type::symlink ? fs::read_symlink(x, ec) == fs::read_symlink(y, ec) && !ec
                : type == fs::file_type::regular ? fs::file_size(x, ec) == fs::file_size(y, ec) && !ec && sameFile(x, y)
                                                 : false;
    if (!same) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> RestoreStep::check() const {
  std::vector<std::pair<std::string, std::string>> destructive;
  if (!spec_.configDir.empty()) destructive.emplace_back("config_dir", spec_.configDir);
  for (const auto& d : spec_.dataDirs) destructive.emplace_back("data_dirs", d);
  destructive.emplace_back("backup_dir", spec_.backupDir);
  for (const auto& [key, path] : destructive)
    if (auto why = checkDestructivePath(path)) return key + " " + path + ": " + *why;
  if (!spec_.configDir.empty()) {
    std::error_code ec;
    if (!fs::is_directory(spec_.defaultsDir, ec)) return "defaults_dir " + spec_.defaultsDir + " is not a directory";
    auto inside = [](const std::string& a, const std::string& b) { return a == b || a.rfind(b + "/", 0) == 0; };
    if (inside(spec_.configDir, spec_.defaultsDir) || inside(spec_.defaultsDir, spec_.configDir))
      return "config_dir and defaults_dir must not contain each other";
    if (inside(spec_.backupDir, spec_.configDir)) return "backup_dir must not be inside config_dir";
  }
  return std::nullopt;
}

std::vector<std::string> RestoreStep::describe() const {
  std::vector<std::string> out;
  if (!spec_.configDir.empty()) {
    out.push_back("back up " + spec_.configDir + " to " + spec_.backupDir + "/<timestamp> (keeping the newest " +
                  std::to_string(spec_.keepBackups) + ")");
    out.push_back("replace the contents of " + spec_.configDir + " with those of " + spec_.defaultsDir);
  }
  for (const auto& d : spec_.dataDirs) {
    std::error_code ec;
    size_t n = 0;
    // Counted as run() will count what it removes: everything below, symlinks not followed.
    if (fs::is_directory(d, ec))
      for ([[maybe_unused]] const auto& e : fs::recursive_directory_iterator(d, ec)) ++n;
    out.push_back("delete the " + std::to_string(n) + (n == 1 ? " entry" : " entries") + " inside " + d);
  }
  return out;
}

namespace {
std::string stampOf(std::time_t t) {
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", std::gmtime(&t));
  return stamp;
}
}  // namespace

std::optional<std::string> RestoreStep::run(const std::function<void(const std::string&)>& log, std::time_t keepSince) const {
  if (auto why = check()) return "refused: " + *why;
  try {
    // Already the defaults (a restore run again: a second attempt, or one resumed after
    // medic was killed): nothing of the operator's to keep, and a backup of the defaults
    // would rotate away the one backup of their own config.
    if (!spec_.configDir.empty() && fs::is_directory(spec_.configDir) && sameTree(spec_.configDir, spec_.defaultsDir)) {
      log(spec_.configDir + " already holds the defaults; no new backup (those in " + spec_.backupDir + " are kept)");
    } else if (!spec_.configDir.empty()) {
      std::string stamp = stampOf(std::time(nullptr));
      fs::path backup = fs::path(spec_.backupDir) / stamp;
      for (int n = 1; fs::exists(backup); ++n) backup = fs::path(spec_.backupDir) / (std::string(stamp) + "-" + std::to_string(n));
      fs::create_directories(backup);
      fs::permissions(spec_.backupDir, fs::perms::owner_all);
      if (fs::exists(spec_.configDir))
        fs::copy(spec_.configDir, backup, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
      log("backed up " + spec_.configDir + " to " + backup.string());
      std::vector<fs::path> backups;
      for (const auto& e : fs::directory_iterator(spec_.backupDir)) backups.push_back(e.path());
      std::sort(backups.begin(), backups.end());
      // Names are their UTC time, so they compare as the times do: this recovery's own
      // backups (from keepSince on) are not counted against keep_backups, nor removed.
      std::string ownFrom = keepSince > 0 ? stampOf(keepSince) : std::string("~");
      size_t older = std::lower_bound(backups.begin(), backups.end(), ownFrom,
                                      [](const fs::path& p, const std::string& s) { return p.filename().string() < s; }) -
                     backups.begin();
      size_t own = backups.size() - older;
      size_t keepOlder = own >= size_t(spec_.keepBackups) ? 0 : size_t(spec_.keepBackups) - own;
      backups.resize(older);
      for (size_t i = 0; i + keepOlder < backups.size(); ++i) {
        fs::remove_all(backups[i]);
        log("removed the old backup " + backups[i].string());
      }
      fs::create_directories(spec_.configDir);
      size_t removed = clearDirectory(spec_.configDir);
      for (const auto& e : fs::directory_iterator(spec_.defaultsDir))
        fs::copy(e.path(), fs::path(spec_.configDir) / e.path().filename(),
                 fs::copy_options::recursive | fs::copy_options::copy_symlinks);
      log("replaced " + std::to_string(removed) + " entries in " + spec_.configDir + " with the contents of " +
          spec_.defaultsDir);
    }
    for (const auto& d : spec_.dataDirs) {
      if (!fs::exists(d)) continue;
      size_t removed = clearDirectory(d);
      log("deleted " + std::to_string(removed) + " entries inside " + d);
    }
  } catch (const fs::filesystem_error& e) {
    return e.what();
  }
  return std::nullopt;
}

}  // namespace medic::strategies
