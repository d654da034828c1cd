#include "strategies/rollback_step.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <filesystem>

#include "runtime/path_rules.h"

namespace medic::strategies {

namespace fs = std::filesystem;

namespace {

// Snapshot directories, oldest first: real directories only (a symlink placed there is
// never taken for one, nor followed).
std::vector<fs::path> snapshotsIn(const std::string& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.symlink_status().type() == fs::file_type::directory && e.path().filename().string().size() >= 16 &&
        e.path().filename().string()[0] == '2')
      out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::optional<std::string> newestSnapshot(const SnapshotPolicy& policy) {
  auto all = snapshotsIn(policy.snapshotDir);
  if (all.empty()) return std::nullopt;
  return all.back().string();
}

std::string fingerprint(const std::string& dir) {
  std::error_code ec;
  if (fs::symlink_status(dir, ec).type() != fs::file_type::directory) return "";
  std::vector<std::string> entries;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (lstat(it->path().c_str(), &st) != 0) return "";
    std::string link = S_ISLNK(st.st_mode) ? fs::read_symlink(it->path(), ec).string() : "";
    entries.push_back(it->path().string() + '\0' + std::to_string(st.st_mode) + '\0' + std::to_string(st.st_size) + '\0' +
                      std::to_string(st.st_mtim.tv_sec) + '.' + std::to_string(st.st_mtim.tv_nsec) + '\0' + link);
  }
  if (ec) return "";
  std::sort(entries.begin(), entries.end());
  std::string out = "d";
  for (const auto& e : entries) out += e + '\n';
  return out;
}

std::optional<std::string> takeSnapshot(const SnapshotPolicy& policy, const std::function<void(const std::string&)>& log) {
  if (auto why = checkDestructivePath(policy.snapshotDir)) return "snapshot_dir " + policy.snapshotDir + ": " + *why;
  if (auto why = checkDestructivePath(policy.configDir)) return "config_dir " + policy.configDir + ": " + *why;
  try {
    if (auto newest = newestSnapshot(policy); newest && sameTree(*newest, policy.configDir)) return std::nullopt;  // kept already
    fs::create_directories(policy.snapshotDir);
    fs::permissions(policy.snapshotDir, fs::perms::owner_all);
    std::string stamp = stampOf(std::time(nullptr));
    fs::path to = fs::path(policy.snapshotDir) / stamp;
    for (int n = 1; fs::exists(fs::symlink_status(to)); ++n) to = fs::path(policy.snapshotDir) / (stamp + "-" + std::to_string(n));
    // Copied into a temporary name first: a snapshot directory is only ever complete.
    fs::path partial = fs::path(policy.snapshotDir) / (".partial-" + to.filename().string());
    fs::remove_all(partial);
    fs::create_directory(partial);
    fs::copy(policy.configDir, partial, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    fs::rename(partial, to);
    log("took a known-good snapshot of " + policy.configDir + ": " + to.string());
    auto all = snapshotsIn(policy.snapshotDir);
    for (size_t i = 0; i + size_t(policy.keep) < all.size(); ++i) {
      fs::remove_all(all[i]);
      log("removed the old snapshot " + all[i].string());
    }
  } catch (const fs::filesystem_error& e) {
    return e.what();
  }
  return std::nullopt;
}

std::optional<std::string> RollbackStep::refusal() const {
  for (const auto& [key, path] : {std::pair<const char*, const std::string&>{"config_dir", policy_.configDir},
                                  {"snapshot_dir", policy_.snapshotDir}, {"backup_dir", backupDir_}})
    if (auto why = checkDestructivePath(path)) return std::string(key) + " " + path + ": " + *why;
  return std::nullopt;
}

std::vector<std::string> RollbackStep::describe(const std::string& unit, Duration) const {
  auto newest = newestSnapshot(policy_);
  if (!newest)
    return {"no known-good snapshot of " + policy_.configDir + " yet (one is taken once a changed config has run healthy for " +
                formatDuration(policy_.after) + "): skipped, the ladder goes on"};
  return {"stop " + unit,
          "back up " + policy_.configDir + " to " + backupDir_ + "/<timestamp> (keeping the newest " + std::to_string(keepBackups_) + ")",
          "replace the contents of " + policy_.configDir + " with the newest known-good snapshot, " + *newest,
          "start " + unit};
}

std::vector<std::string> RollbackStep::writes() const { return {policy_.configDir, policy_.snapshotDir, backupDir_}; }

void RollbackStep::run(StepEnv& env, const StepRun& run, StepDone done) const {
  if (auto why = refusal()) {
    spdlog::error("{}: rollback refused: {}", run.service, *why);
    env.loop.post([done, why = *why] { done({StepOutcome::Result::failed, "rollback refused: " + why}); });
    return;
  }
  auto newest = newestSnapshot(policy_);
  if (!newest) {
    std::string why = "no known-good snapshot of " + policy_.configDir + " yet";
    env.loop.post([done, why] { done({StepOutcome::Result::skipped, why}); });
    return;
  }
  spdlog::warn("{}: rolling {} back to the snapshot {}", run.service, policy_.configDir, *newest);
  auto restore = std::make_shared<RestoreStep>(
      RestoreSettings{policy_.configDir, *newest, {}, backupDir_, keepBackups_, "the snapshot " + *newest});
  restore->run(env, run, [restore, done](StepOutcome outcome) { done(outcome); });  // (keeps it alive until done)
}

std::shared_ptr<const Step> parseRollbackStep(MapReader& r, const StepContext& context) {
  SnapshotPolicy p;
  p.after = std::chrono::minutes(5);
  std::string backupDir = context.stateDir + "/backups/" + context.service;
  int keepBackups = 5;
  if (r.require("config_dir") && r.read("config_dir", p.configDir)) refuseDestructivePaths(r, "config_dir", {p.configDir}, false);
  r.read("snapshot_after", p.after, std::chrono::seconds(1));
  r.read("keep_snapshots", p.keep, 1, 100);
  r.read("keep_backups", keepBackups, 1, 100);
  if (r.read("snapshot_dir", p.snapshotDir)) refuseDestructivePaths(r, "snapshot_dir", {p.snapshotDir}, false);
  else p.snapshotDir = context.stateDir + "/snapshots/" + context.service;
  if (r.read("backup_dir", backupDir)) refuseDestructivePaths(r, "backup_dir", {backupDir}, false);
  if (!p.configDir.empty() && (pathWithin(p.snapshotDir, p.configDir) || pathWithin(p.configDir, p.snapshotDir)))
    r.error("snapshot_dir", "'snapshot_dir' and 'config_dir' must not contain each other");
  return std::make_shared<RollbackStep>(std::move(p), std::move(backupDir), keepBackups);
}

}  // namespace medic::strategies
