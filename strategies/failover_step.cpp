#include "strategies/failover_step.h"

#include <spdlog/spdlog.h>

#include "runtime/names.h"
#include "strategies/unit_jobs.h"

namespace medic::strategies {

std::shared_ptr<const Step> parseFailoverStep(MapReader& r, const StepContext& context) {
  UnitSwitch to;
  if (r.require("backup_unit") && r.read("backup_unit", to.backupUnit)) {
    if (!isValidUnitName(to.backupUnit)) r.error("backup_unit", "invalid unit name " + quoteValue(to.backupUnit));
    else if (to.backupUnit == context.unit) r.error("backup_unit", "'backup_unit' must differ from the service's own unit");
  }
  r.read("fail_back", to.failBack);
  return std::make_shared<FailoverStep>(std::move(to));
}

std::vector<std::string> FailoverStep::describe(const std::string& unit, Duration) const {
  std::vector<std::string> lines = {"stop " + unit + ", start " + to_.backupUnit};
  if (to_.failBack) lines.push_back("fail back (stop " + to_.backupUnit + ", start " + unit + ") once the conditions hold");
  return lines;
}

void FailoverStep::run(StepEnv& env, const StepRun& run, StepDone done) const {
  spdlog::warn("{}: failing over from {} to {} {}", run.service, run.unit, to_.backupUnit, run.where);
  stopThenStart(env.systemd, run.service, run.unit, to_.backupUnit, run.timeout, [done](StepOutcome o) {
    o.primaryDown = true;
    done(o);
  });
}

}  // namespace medic::strategies
