#pragma once
/// `step: rollback`: back to the last configuration that worked. While the service is
/// healthy the agent keeps known-good snapshots of its `config_dir` (SnapshotPolicy: one is
/// taken when a changed config dir has run healthy for `snapshot_after`); the step restores
/// the newest as `restore` restores the defaults — stop, back up the current (bad) config
/// dir, replace its contents, start. With no snapshot yet it is skipped and the ladder goes
/// on. Snapshots are real directories under `snapshot_dir`, never followed through a
/// symlink; their contents are copied with symlinks kept as symlinks.
#include <functional>
#include <optional>
#include <string>

#include "strategies/step.h"
#include "strategies/restore_step.h"

namespace medic::strategies {

class RollbackStep : public Step {
 public:
  RollbackStep(SnapshotPolicy policy, std::string backupDir, int keepBackups)
      : policy_(std::move(policy)), backupDir_(std::move(backupDir)), keepBackups_(keepBackups) {}

  std::vector<std::string> describe(const std::string& unit, Duration timeout) const override;
  bool restartsUnit() const override { return true; }
  std::optional<std::string> refusal() const override;
  std::vector<std::string> writes() const override;
  const SnapshotPolicy* snapshots() const override { return &policy_; }
  void run(StepEnv& env, const StepRun& run, StepDone done) const override;

 private:
  SnapshotPolicy policy_;
  std::string backupDir_;
  int keepBackups_;
};

std::shared_ptr<const Step> parseRollbackStep(MapReader& keys, const StepContext& context);

/// The newest snapshot in `policy.snapshotDir` (a real directory, not a symlink), if any.
std::optional<std::string> newestSnapshot(const SnapshotPolicy& policy);
/// What the config dir holds now, cheaply: names, kinds, sizes, modes, times and link
/// targets, links not followed. Empty when it cannot be read.
std::string fingerprint(const std::string& dir);
/// Copies the config dir to a new snapshot (unless the newest already holds the same) and
/// rotates the oldest beyond `keep`; `log` hears each action. Returns the error, if any.
std::optional<std::string> takeSnapshot(const SnapshotPolicy& policy, const std::function<void(const std::string&)>& log);

}  // namespace medic::strategies
