#pragma once
/// `step: reload`: systemd reloads the unit (its ExecReload=). Skipped when the unit has no
/// reload command, or is not running (nothing could re-read its config).
#include "strategies/step.h"

namespace medic::strategies {

class ReloadStep : public Step {
 public:
  std::vector<std::string> describe(const std::string& unit, Duration timeout) const override;
  void run(StepEnv& env, const StepRun& run, StepDone done) const override;
};

std::shared_ptr<const Step> parseReloadStep(MapReader& keys, const StepContext& context);

}  // namespace medic::strategies
