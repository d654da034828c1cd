#include "strategies/exec_step.h"

#include "runtime/logging.h"

#include <pwd.h>
#include <spdlog/spdlog.h>

#include "checks/exec_check.h"

namespace medic::strategies {

std::shared_ptr<const Step> parseExecStep(MapReader& r, const StepContext&) {
  checks::ExecSpec spec;
  spec.user = "root";
  if (r.require("command") && r.read("command", spec.command)) {
    if (spec.command.empty() || !spec.command[0].starts_with('/'))
      r.error("command", "'command' must start with an absolute path to the program");
  }
  if (r.read("user", spec.user) && !getpwnam(spec.user.c_str())) r.error("user", "unknown user " + quoteValue(spec.user));
  checks::readExecLimits(r, spec);
  return std::make_shared<ExecStep>(std::move(spec));
}

std::string ExecStep::commandLine() const {
  std::string line;
  for (const auto& a : spec_.command) line += (line.empty() ? "" : " ") + a;
  return line;
}

std::vector<std::string> ExecStep::describe(const std::string&, Duration timeout) const {
  return {"run '" + commandLine() + "' as " + spec_.user + ", killed after " + formatDuration(timeout)};
}

void ExecStep::run(StepEnv& env, const StepRun& run, StepDone done) const {
  checks::ExecSpec spec = spec_;
  if (!checks::resolveUser(spec.user, spec)) {
    spdlog::error("{}: exec step: unknown user '{}'", run.service, spec.user);
    env.loop.post([done, user = spec.user] { done({StepOutcome::Result::failed, "unknown user '" + user + "'"}); });
    return;
  }
  spdlog::warn("{}: running '{}' as {} {}", run.service, commandLine(), spec.user, run.where);
  auto command = std::make_shared<checks::ExecCheck>(std::move(spec));
  env.commands.run(command, run.timeout, [service = run.service, done](checks::CheckResult r) {
    bool ok = r.status == checks::Status::healthy;
    LogAbout about(service);
    spdlog::log(ok ? spdlog::level::info : spdlog::level::err, "{}: exec step {}: {}", service, ok ? "done" : "failed", r.message);
    done({ok ? StepOutcome::Result::done : StepOutcome::Result::failed, r.message});
  });
}

}  // namespace medic::strategies
