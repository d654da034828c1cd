#pragma once
/// `step: exec`: the operator's own command, run exactly as an exec check runs (as its
/// `user`, in its own process group, killed at the step's timeout, output capped, inside a
/// transient scope with `tasks_max` and `memory_max`); exit 0 is success.
#include <string>
#include <vector>

#include "checks/exec_check.h"
#include "strategies/step.h"

namespace medic::strategies {

class ExecStep : public Step {
 public:
  /// `spec`: command, user and limits; the user is resolved when the step runs.
  explicit ExecStep(checks::ExecSpec spec) : spec_(std::move(spec)) {}

  std::vector<std::string> describe(const std::string& unit, Duration timeout) const override;
  void run(StepEnv& env, const StepRun& run, StepDone done) const override;

  const std::vector<std::string>& command() const { return spec_.command; }
  const std::string& user() const { return spec_.user; }

 private:
  std::string commandLine() const;

  checks::ExecSpec spec_;  ///< command: argv, [0] an absolute path; user: root unless said
};

std::shared_ptr<const Step> parseExecStep(MapReader& keys, const StepContext& context);

}  // namespace medic::strategies
