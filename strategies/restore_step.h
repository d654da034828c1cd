#pragma once
/// `step: restore` (the seeds' full recovery): stop the unit; back up the config dir to a
/// timestamped copy (keeping the newest N), replace its contents with the defaults dir's,
/// and clear the contents of the data dirs; start the unit. Every path is checked against
/// the safety rules again right before acting; nothing is ever followed through a symlink
/// while deleting (a symlink is removed, never what it points to). The file work runs off
/// the loop.
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "strategies/step.h"

namespace medic::strategies {

struct RestoreSettings {
  std::string configDir;              ///< backed up, then replaced by defaultsDir's contents
  std::string defaultsDir;
  std::vector<std::string> dataDirs;  ///< contents cleared
  std::string backupDir;              ///< default: <state_dir>/backups/<service>
  int keepBackups = 5;
  std::string sourceWords;  ///< what defaultsDir is, in the log ("the snapshot <dir>"); empty: the defaults
};

class RestoreStep : public Step {
 public:
  explicit RestoreStep(RestoreSettings settings) : settings_(std::move(settings)) {}

  std::vector<std::string> describe(const std::string& unit, Duration timeout) const override;
  bool restartsUnit() const override { return true; }
  /// nullopt when every path still passes the safety rules and the defaults exist.
  std::optional<std::string> refusal() const override;
  std::vector<std::string> writes() const override;
  void run(StepEnv& env, const StepRun& run, StepDone done) const override;

  /// What restoreFiles() would do, one sentence per action, touching nothing.
  std::vector<std::string> describeFiles() const;
  /// The file work alone (the unit stopped); `log` hears each action. Returns the error
  /// that stopped it, if any. Backups taken at or after `keepSince` (the current recovery's
  /// start, seconds since the epoch) are never rotated away: one taken by this recovery
  /// before medic was killed may be the only copy of the operator's config.
  std::optional<std::string> restoreFiles(const std::function<void(const std::string&)>& log, std::time_t keepSince = 0) const;

  const RestoreSettings& settings() const { return settings_; }

 private:
  RestoreSettings settings_;
};

std::shared_ptr<const Step> parseRestoreStep(MapReader& keys, const StepContext& context);

/// Removes everything inside `dir` (not `dir` itself), never following symlinks; returns
/// how many entries were removed.
size_t clearDirectory(const std::string& dir);
/// Whether two trees hold the same names, kinds, bytes and link targets (links not followed).
bool sameTree(const std::string& a, const std::string& b);
/// "20261205T101112Z": backups and snapshots are named by their UTC time, so names sort as times.
std::string stampOf(std::time_t t);

}  // namespace medic::strategies
