#pragma once
/// `step: failover`: stops the service's unit and starts its `backup_unit`. The recovery
/// machine then holds the service failed over, and fails back (stop the backup, start the
/// unit) once the service's conditions hold, unless `fail_back: false`.
#include "strategies/step.h"

namespace medic::strategies {

class FailoverStep : public Step {
 public:
  explicit FailoverStep(UnitSwitch to) : to_(std::move(to)) {}

  std::vector<std::string> describe(const std::string& unit, Duration timeout) const override;
  const UnitSwitch* unitSwitch() const override { return &to_; }
  void run(StepEnv& env, const StepRun& run, StepDone done) const override;

 private:
  UnitSwitch to_;
};

std::shared_ptr<const Step> parseFailoverStep(MapReader& keys, const StepContext& context);

}  // namespace medic::strategies
