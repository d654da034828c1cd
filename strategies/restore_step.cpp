#include "strategies/restore_step.h"

#include "runtime/logging.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include <spdlog/spdlog.h>

#include "runtime/path_rules.h"
#include "strategies/unit_jobs.h"

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

bool sameTreeAt(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  std::map<std::string, fs::file_type> left, right;
  for (const auto& e : fs::directory_iterator(a, ec)) left[e.path().filename()] = e.symlink_status().type();
  if (ec) return false;
  for (const auto& e : fs::directory_iterator(b, ec)) right[e.path().filename()] = e.symlink_status().type();
  if (ec || left != right) return false;
  for (const auto& [name, type] : left) {
    fs::path x = a / name, y = b / name;
    bool same = type == fs::file_type::directory ? sameTreeAt(x, y)
                : type == fs::file_type::symlink ? fs::read_symlink(x, ec) == fs::read_symlink(y, ec) && !ec
                : type == fs::file_type::regular ? fs::file_size(x, ec) == fs::file_size(y, ec) && !ec && sameFile(x, y)
                                                 : false;
    if (!same) return false;
  }
  return true;
}

}  // namespace

bool sameTree(const std::string& a, const std::string& b) { return sameTreeAt(a, b); }

std::optional<std::string> RestoreStep::refusal() const {
  std::vector<std::pair<std::string, std::string>> destructive;
  if (!settings_.configDir.empty()) destructive.emplace_back("config_dir", settings_.configDir);
  for (const auto& d : settings_.dataDirs) destructive.emplace_back("data_dirs", d);
  destructive.emplace_back("backup_dir", settings_.backupDir);
  for (const auto& [key, path] : destructive)
    if (auto why = checkDestructivePath(path)) return key + " " + path + ": " + *why;
  if (!settings_.configDir.empty()) {
    std::error_code ec;
    if (!fs::is_directory(settings_.defaultsDir, ec)) return "defaults_dir " + settings_.defaultsDir + " is not a directory";
    if (pathWithin(settings_.configDir, settings_.defaultsDir) || pathWithin(settings_.defaultsDir, settings_.configDir))
      return "config_dir and defaults_dir must not contain each other";
    if (pathWithin(settings_.backupDir, settings_.configDir)) return "backup_dir must not be inside config_dir";
  }
  return std::nullopt;
}

std::vector<std::string> RestoreStep::describeFiles() const {
  std::vector<std::string> out;
  if (!settings_.configDir.empty()) {
    out.push_back("back up " + settings_.configDir + " to " + settings_.backupDir + "/<timestamp> (keeping the newest " +
                  std::to_string(settings_.keepBackups) + ")");
    out.push_back("replace the contents of " + settings_.configDir + " with those of " + settings_.defaultsDir);
  }
  for (const auto& d : settings_.dataDirs) {
    std::error_code ec;
    size_t n = 0;
    // Counted as run() will count what it removes: everything below, symlinks not followed.
    if (fs::is_directory(d, ec))
      for ([[maybe_unused]] const auto& e : fs::recursive_directory_iterator(d, ec)) ++n;
    out.push_back("delete the " + std::to_string(n) + (n == 1 ? " entry" : " entries") + " inside " + d);
  }
  return out;
}

std::string stampOf(std::time_t t) {
  char stamp[32];
  struct tm tm {};
  gmtime_r(&t, &tm);
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  return stamp;
}

std::optional<std::string> RestoreStep::restoreFiles(const std::function<void(const std::string&)>& log, std::time_t keepSince) const {
  if (auto why = refusal()) return "refused: " + *why;
  try {
    // Already the defaults (a restore run again: a second attempt, or one resumed after
    // medic was killed): nothing of the operator's to keep, and a backup of the defaults
    // would rotate away the one backup of their own config.
    if (!settings_.configDir.empty() && fs::is_directory(settings_.configDir) && sameTree(settings_.configDir, settings_.defaultsDir)) {
      log(settings_.configDir + " already holds " + (settings_.sourceWords.empty() ? "the defaults" : settings_.sourceWords) + "; no new backup (those in " + settings_.backupDir +
          " are kept)");
    } else if (!settings_.configDir.empty()) {
      std::string stamp = stampOf(std::time(nullptr));
      fs::path backup = fs::path(settings_.backupDir) / stamp;
      for (int n = 1; fs::exists(backup); ++n) backup = fs::path(settings_.backupDir) / (std::string(stamp) + "-" + std::to_string(n));
      fs::create_directories(backup);
      fs::permissions(settings_.backupDir, fs::perms::owner_all);
      if (fs::exists(settings_.configDir))
        fs::copy(settings_.configDir, backup, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
      log("backed up " + settings_.configDir + " to " + backup.string());
      std::vector<fs::path> backups;
      for (const auto& e : fs::directory_iterator(settings_.backupDir)) backups.push_back(e.path());
      std::sort(backups.begin(), backups.end());
      // Names are their UTC time, so they compare as the times do: this recovery's own
      // backups (from keepSince on) are not counted against keep_backups, nor removed.
      std::string ownFrom = keepSince > 0 ? stampOf(keepSince) : std::string("~");
      size_t older = std::lower_bound(backups.begin(), backups.end(), ownFrom,
                                      [](const fs::path& p, const std::string& s) { return p.filename().string() < s; }) -
                     backups.begin();
      size_t own = backups.size() - older;
      size_t keepOlder = own >= size_t(settings_.keepBackups) ? 0 : size_t(settings_.keepBackups) - own;
      backups.resize(older);
      for (size_t i = 0; i + keepOlder < backups.size(); ++i) {
        fs::remove_all(backups[i]);
        log("removed the old backup " + backups[i].string());
      }
      fs::create_directories(settings_.configDir);
      size_t removed = clearDirectory(settings_.configDir);
      for (const auto& e : fs::directory_iterator(settings_.defaultsDir))
        fs::copy(e.path(), fs::path(settings_.configDir) / e.path().filename(),
                 fs::copy_options::recursive | fs::copy_options::copy_symlinks);
      log("replaced " + std::to_string(removed) + " entries in " + settings_.configDir + " with the contents of " +
          (settings_.sourceWords.empty() ? settings_.defaultsDir : settings_.sourceWords));
    }
    for (const auto& d : settings_.dataDirs) {
      if (!fs::exists(d)) continue;
      size_t removed = clearDirectory(d);
      log("deleted " + std::to_string(removed) + " entries inside " + d);
    }
  } catch (const fs::filesystem_error& e) {
    return e.what();
  }
  return std::nullopt;
}

std::shared_ptr<const Step> parseRestoreStep(MapReader& r, const StepContext& context) {
  RestoreSettings s;
  bool hasConfig = r.read("config_dir", s.configDir);
  bool hasDefaults = r.read("defaults_dir", s.defaultsDir);
  r.read("data_dirs", s.dataDirs);
  r.read("keep_backups", s.keepBackups, 1, 100);
  if (hasConfig != hasDefaults) r.error("'config_dir' and 'defaults_dir' go together: the first is restored from the second");
  if (!hasConfig && s.dataDirs.empty()) r.error("a restore step needs 'config_dir' with 'defaults_dir', or 'data_dirs', or both");
  if (hasConfig) refuseDestructivePaths(r, "config_dir", {s.configDir}, false);
  refuseDestructivePaths(r, "data_dirs", s.dataDirs, false);
  // Only read from, so any absolute path will do; the step checks it exists before acting.
  if (hasDefaults)
    if (auto e = checkAbsolutePath(s.defaultsDir)) r.error("defaults_dir", "'defaults_dir' " + *e);
  if (r.read("backup_dir", s.backupDir)) refuseDestructivePaths(r, "backup_dir", {s.backupDir}, false);
  else s.backupDir = context.stateDir + "/backups/" + context.service;
  return std::make_shared<RestoreStep>(std::move(s));
}

std::vector<std::string> RestoreStep::describe(const std::string& unit, Duration) const {
  std::vector<std::string> lines = {"stop " + unit};
  for (auto& line : describeFiles()) lines.push_back(std::move(line));
  lines.push_back("start " + unit);
  return lines;
}

std::vector<std::string> RestoreStep::writes() const {
  std::vector<std::string> dirs;
  if (!settings_.configDir.empty()) dirs.push_back(settings_.configDir);
  dirs.insert(dirs.end(), settings_.dataDirs.begin(), settings_.dataDirs.end());
  dirs.push_back(settings_.backupDir);
  return dirs;
}

// stop; the file work on a worker thread (it may be large); start.
void RestoreStep::run(StepEnv& env, const StepRun& run, StepDone done) const {
  if (auto why = refusal()) {
    spdlog::error("{}: restore refused: {}", run.service, *why);
    env.loop.post([done, why = *why] { done({StepOutcome::Result::failed, "restore refused: " + why}); });
    return;
  }
  spdlog::warn("{}: restoring {} {}: stopping it", run.service, run.unit, run.where);
  auto self = std::static_pointer_cast<const RestoreStep>(shared_from_this());
  unitJob(env.systemd, run.service, JobKind::stop, run.unit, run.timeout, [&env, run, done, self](StepOutcome stopped) {
    if (stopped.result != StepOutcome::Result::done) return done(stopped);
    auto lines = std::make_shared<std::vector<std::string>>();  // logged back on the loop
    env.background.run(
        [self, lines, keepSince = run.recoveryStart] {
          auto error = self->restoreFiles([&](const std::string& line) { lines->push_back(line); }, keepSince);
          return error.value_or("");
        },
        [&env, run, done, lines](std::string error) {
          LogAbout about(run.service);
          for (const auto& line : *lines) spdlog::warn("{}: restore: {}", run.service, line);
          if (!error.empty()) {
            spdlog::error("{}: restore failed: {}", run.service, error);
            return done({StepOutcome::Result::failed, "restore failed: " + error});
          }
          unitJob(env.systemd, run.service, JobKind::start, run.unit, run.timeout, done);
        });
  });
}

}  // namespace medic::strategies
