#pragma once
/// Where an exec check's (or exec step's) processes are contained: a transient scope unit
/// that systemd creates around the run's shepherd, with TasksMax= and MemoryMax=, so that a
/// fork bomb or a runaway allocation is stopped by the kernel inside the scope and medic
/// itself is never starved. Implemented by the agent's systemd client; without one (tests,
/// `medic check`) exec checks run as medic's own children, without these limits.
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

namespace medic::checks {

struct ExecScope {
  std::string unit;         ///< "medic-exec-<pid>.scope"
  std::string description;  ///< what runs, for `systemctl status`
  pid_t pid = 0;            ///< the shepherd: it and everything it starts go into the scope
  uint64_t tasksMax = 0;    ///< 0: no limit
  uint64_t memoryMax = 0;   ///< bytes; 0: no limit
};

/// The slice every such scope is in (`systemctl status medic-exec.slice` lists what runs).
inline constexpr const char* kExecSlice = "medic-exec.slice";

class ScopeStarter {
 public:
  virtual ~ScopeStarter() = default;
  /// Creates the scope with `scope.pid` in it. `done` gets "" once the process has moved
  /// into it, or why it has not (answered on the agent's loop, possibly before returning).
  virtual void startScope(const ExecScope& scope, std::function<void(std::string error)> done) = 0;
  /// Stops the scope: what is left in it is killed, and the unit goes. Called when a run
  /// ends, however it ends: systemd does not always see a scope empty by itself (cgroup v1
  /// inside a container), and a scope that stayed would be a unit left behind at every run.
  virtual void stopScope(const std::string& unit) = 0;
};

}  // namespace medic::checks
