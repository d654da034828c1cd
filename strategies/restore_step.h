#pragma once
/// The restore step's file work (the seeds' full recovery), done while the unit is stopped:
/// back up the config dir to a timestamped copy (keeping the newest N), replace its contents
/// with the defaults dir's, and clear the contents of the data dirs. Every path is checked
/// against the safety rules again right before acting; nothing is ever followed through a
/// symlink while deleting (a symlink is removed, never what it points to).
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "strategies/step_settings.h"

namespace medic::strategies {

class RestoreStep {
 public:
  /// Keeps its own copy: a reload may replace the configuration while the work runs.
  explicit RestoreStep(config::RestoreStep spec) : spec_(std::move(spec)) {}

  /// nullopt when every path still passes the safety rules and the defaults exist.
  std::optional<std::string> check() const;
  /// What run() would do, one sentence per action, touching nothing (for --dry-run).
  std::vector<std::string> describe() const;
  /// Does the work; `log` hears each action. Returns the error that stopped it, if any.
  /// Backups taken at or after `keepSince` (the current recovery's start, seconds since the
  /// epoch) are never rotated away: one taken by this recovery before medic was killed may
  /// be the only copy of the operator's config.
  std::optional<std::string> run(const std::function<void(const std::string&)>& log, std::time_t keepSince = 0) const;

 private:
  config::RestoreStep spec_;
};

/// Removes everything inside `dir` (not `dir` itself), never following symlinks; returns
/// how many entries were removed.
size_t clearDirectory(const std::string& dir);

}  // namespace medic::strategies
