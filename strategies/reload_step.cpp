#include "strategies/reload_step.h"

#include "runtime/logging.h"

#include <spdlog/spdlog.h>

#include "strategies/unit_jobs.h"

namespace medic::strategies {

std::shared_ptr<const Step> parseReloadStep(MapReader&, const StepContext&) { return std::make_shared<ReloadStep>(); }

std::vector<std::string> ReloadStep::describe(const std::string& unit, Duration) const {
  return {"reload " + unit + " if it has a reload command, else skip"};
}

void ReloadStep::run(StepEnv& env, const StepRun& run, StepDone done) const {
  env.systemd.unitState(run.unit, [&env, run, done](std::optional<UnitState> st, std::string error) {
    if (!st) return done({StepOutcome::Result::failed, "cannot read " + run.unit + ": " + error});
    LogAbout about(run.service);
    if (!st->canReload) {
      spdlog::info("{}: {} has no reload command; skipping the reload step", run.service, run.unit);
      return done({StepOutcome::Result::skipped, run.unit + " has no reload command"});
    }
    if (!st->up()) {
      spdlog::info("{}: {} is {}; skipping the reload step", run.service, run.unit, toString(st->activeState));
      return done({StepOutcome::Result::skipped, run.unit + " is " + std::string(toString(st->activeState)) + ", not running"});
    }
    spdlog::info("{}: reloading {} {}", run.service, run.unit, run.where);
    unitJob(env.systemd, run.service, JobKind::reload, run.unit, run.timeout, done);
  });
}

}  // namespace medic::strategies
