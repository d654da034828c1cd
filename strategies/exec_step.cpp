#include "strategies/exec_step.h"

#include <pwd.h>
#include <spdlog/spdlog.h>

#include "checks/exec_check.h"

namespace medic::strategies {

std::shared_ptr<const Step> parseExecStep(MapReader& r, const StepContext&) {
  std::vector<std::string> command;
  std::string user = "root";
  if (r.require("command") && r.read("command", command)) {
    if (command.empty() || !command[0].starts_with('/'))
      r.error("command", "'command' must start with an absolute path to the program");
  }
  if (r.read("user", user) && !getpwnam(user.c_str())) r.error("user", "unknown user " + quoteValue(user));
  return std::make_shared<ExecStep>(std::move(command), std::move(user));
}

std::string ExecStep::commandLine() const {
  std::string line;
  for (const auto& a : command_) line += (line.empty() ? "" : " ") + a;
  return line;
}

std::vector<std::string> ExecStep::describe(const std::string&, Duration timeout) const {
  return {"run '" + commandLine() + "' as " + user_ + ", killed after " + formatDuration(timeout)};
}

void ExecStep::run(StepEnv& env, const StepRun& run, StepDone done) const {
  checks::ExecSpec spec;
  spec.command = command_;
  spec.user = user_;
  if (!checks::resolveUser(user_, spec)) {
    spdlog::error("{}: exec step: unknown user '{}'", run.service, user_);
    env.loop.post([done, user = user_] { done({StepOutcome::Result::failed, "unknown user '" + user + "'"}); });
    return;
  }
  spdlog::warn("{}: running '{}' as {} {}", run.service, commandLine(), user_, run.where);
  auto command = std::make_shared<checks::ExecCheck>(std::move(spec));
  env.commands.run(command, run.timeout, [service = run.service, done](checks::CheckResult r) {
    bool ok = r.status == checks::Status::healthy;
    spdlog::log(ok ? spdlog::level::info : spdlog::level::err, "{}: exec step {}: {}", service, ok ? "done" : "failed", r.message);
    done({ok ? StepOutcome::Result::done : StepOutcome::Result::failed, r.message});
  });
}

}  // namespace medic::strategies
