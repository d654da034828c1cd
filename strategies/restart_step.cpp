#include "strategies/restart_step.h"

#include "runtime/logging.h"

#include <glob.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "runtime/path_rules.h"
#include "strategies/unit_jobs.h"

namespace medic::strategies {

std::shared_ptr<const Step> parseRestartStep(MapReader& r, const StepContext&) {
  std::vector<std::string> cleanup;
  std::string pidfile;
  if (r.read("cleanup", cleanup)) refuseDestructivePaths(r, "cleanup", cleanup, true);
  if (r.read("pidfile", pidfile)) refuseDestructivePaths(r, "pidfile", {pidfile}, false);
  return std::make_shared<RestartStep>(std::move(cleanup), std::move(pidfile));
}

std::vector<std::string> RestartStep::describe(const std::string& unit, Duration) const {
  if (cleanup_.empty() && pidfile_.empty()) return {"restart " + unit};
  std::vector<std::string> lines = {"stop " + unit};
  for (const auto& g : cleanup_) lines.push_back("remove what matches " + g);
  if (!pidfile_.empty()) lines.push_back("remove " + pidfile_);
  lines.push_back("start " + unit);
  return lines;
}

std::vector<std::string> RestartStep::writes() const {
  std::vector<std::string> dirs;
  for (const auto& g : cleanup_) dirs.push_back(g.substr(0, g.rfind('/')));
  if (!pidfile_.empty()) dirs.push_back(pidfile_.substr(0, pidfile_.rfind('/')));
  return dirs;
}

void RestartStep::run(StepEnv& env, const StepRun& run, StepDone done) const {
  if (cleanup_.empty() && pidfile_.empty()) {
    spdlog::info("{}: restarting {} {}", run.service, run.unit, run.where);
    return unitJob(env.systemd, run.service, JobKind::restart, run.unit, run.timeout, done);
  }
  spdlog::info("{}: stopping {} to clean up before starting it again", run.service, run.unit);
  auto self = std::static_pointer_cast<const RestartStep>(shared_from_this());
  unitJob(env.systemd, run.service, JobKind::stop, run.unit, run.timeout,
          [&env, run, done, self](StepOutcome stopped) {
            if (stopped.result != StepOutcome::Result::done) return done(stopped);
            self->removeLeftovers(run.service);
            unitJob(env.systemd, run.service, JobKind::start, run.unit, run.timeout, done);
          });
}

void RestartStep::removeLeftovers(const std::string& service) const {
  LogAbout about(service);
  std::vector<std::string> victims;
  for (const auto& pattern : cleanup_) {
    if (auto why = checkDestructiveGlob(pattern)) {
      spdlog::error("{}: not cleaning {}: {}", service, pattern, *why);
      continue;
    }
    glob_t g{};
    if (::glob(pattern.c_str(), GLOB_NOSORT, nullptr, &g) == 0)
      for (size_t i = 0; i < g.gl_pathc; ++i) victims.emplace_back(g.gl_pathv[i]);
    globfree(&g);
  }
  if (!pidfile_.empty()) victims.push_back(pidfile_);
  for (const auto& path : victims) {
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::symlink_status(path, ec))) continue;
    auto removed = std::filesystem::remove_all(path, ec);  // removes a symlink itself, never its target
    if (ec) spdlog::error("{}: cannot remove {}: {}", service, path, ec.message());
    else spdlog::info("{}: removed {} ({} entries)", service, path, removed);
  }
}

}  // namespace medic::strategies
