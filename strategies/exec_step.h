#pragma once
/// `step: exec`: the operator's own command, run exactly as an exec check runs (as its
/// `user`, in its own process group, killed at the step's timeout, output capped); exit 0
/// is success.
#include <string>
#include <vector>

#include "strategies/registry.h"

namespace medic::strategies {

class ExecStep : public Step {
 public:
  ExecStep(std::vector<std::string> command, std::string user) : command_(std::move(command)), user_(std::move(user)) {}

  std::vector<std::string> describe(const std::string& unit, Duration timeout) const override;
  void run(StepEnv& env, const StepRun& run, StepDone done) const override;

  const std::vector<std::string>& command() const { return command_; }
  const std::string& user() const { return user_; }

 private:
  std::string commandLine() const;

  std::vector<std::string> command_;  ///< argv; [0] an absolute path
  std::string user_ = "root";
};

std::shared_ptr<const Step> parseExecStep(MapReader& keys, const StepContext& context);

}  // namespace medic::strategies
