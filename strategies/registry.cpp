#include "strategies/registry.h"

#include "strategies/exec_step.h"
#include "strategies/failover_step.h"
#include "strategies/reload_step.h"
#include "strategies/restart_step.h"
#include "strategies/restore_step.h"
#include "strategies/rollback_step.h"

namespace medic::strategies {

const std::vector<StepType>& stepTypes() {
  static const std::vector<StepType> types = {
      {"restart", parseRestartStep},
      {"reload", parseReloadStep},
      {"restore", parseRestoreStep},
      {"rollback", parseRollbackStep},
      {"failover", parseFailoverStep},
      {"exec", parseExecStep},
  };
  return types;
}

const StepType* findStepType(std::string_view name) {
  for (const auto& t : stepTypes())
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace medic::strategies
