#pragma once
/// exec: runs a program (a Nagios/monitoring plugin or any script) as a configured user in
/// its own process group, with a clean environment, a timeout that kills the whole group
/// (SIGTERM, then SIGKILL), an output cap, and inside a transient scope of systemd's with
/// task and memory limits. Exit codes follow the Nagios plugin API.
#include <sys/types.h>

#include <map>
#include <optional>
#include <vector>

#include "checks/check.h"
#include "runtime/map_reader.h"

namespace medic::checks {

struct ExecSpec {
  std::vector<std::string> command;  ///< argv; [0] is an absolute path (or /bin/sh with shell: true)
  bool shell = false;
  std::string user;                  ///< who runs it; resolved at load into uid/gid/groups
  std::optional<uid_t> uid;          ///< unset: run as medic's own user
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::map<std::string, std::string> environment;
  std::string workdir = "/";
  size_t outputCap = 8 * 1024;
  // Limits of the run's transient scope (checks/exec_scope.h): every process and thread it
  // starts, and all the memory they use together. 0: no limit.
  uint64_t tasksMax = 128;
  uint64_t memoryMax = uint64_t(512) << 20;
};

class ExecCheck : public Check {
 public:
  explicit ExecCheck(ExecSpec spec);
  const ExecSpec& spec() const { return spec_; }
  std::string target() const override;
  bool valuesFromOutput() const override { return true; }  ///< the plugin's perfdata, as it is
  std::unique_ptr<Probe> start(ProbeEnv& env, TimePoint deadline, ResultCallback done) const override;

 private:
  ExecSpec spec_;
  // Prepared once: the child after fork() may only make async-signal-safe calls.
  std::vector<std::string> envStrings_;
};

std::unique_ptr<Check> parseExecCheck(MapReader& keys, const CheckContext&);

/// Reads `tasks_max` and `memory_max` (exec checks and exec steps).
void readExecLimits(MapReader& keys, ExecSpec& spec);

/// Fills spec.uid, gid and groups for `user` (its primary group and every group it is in);
/// false when there is no such user. Used by exec checks and by the exec recovery step.
bool resolveUser(const std::string& user, ExecSpec& spec);

}  // namespace medic::checks
