#pragma once
/// `step: restart`: systemd restarts the unit. With `cleanup` or `pidfile`, the unit is
/// stopped, the leftovers removed (each path checked against the safety rules again, never
/// followed through a symlink), and started again.
#include <string>
#include <vector>

#include "strategies/step.h"

namespace medic::strategies {

class RestartStep : public Step {
 public:
  RestartStep(std::vector<std::string> cleanup, std::string pidfile)
      : cleanup_(std::move(cleanup)), pidfile_(std::move(pidfile)) {}

  std::vector<std::string> describe(const std::string& unit, Duration timeout) const override;
  bool restartsUnit() const override { return true; }
  std::vector<std::string> writes() const override;
  void run(StepEnv& env, const StepRun& run, StepDone done) const override;

  const std::vector<std::string>& cleanup() const { return cleanup_; }
  const std::string& pidfile() const { return pidfile_; }

 private:
  void removeLeftovers(const std::string& service) const;

  std::vector<std::string> cleanup_;  ///< absolute globs removed between stop and start
  std::string pidfile_;               ///< a stale pidfile removed between stop and start
};

std::shared_ptr<const Step> parseRestartStep(MapReader& keys, const StepContext& context);

}  // namespace medic::strategies
