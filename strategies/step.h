#pragma once
/// The recovery step abstraction. A Step is configured once from its ladder entry and is
/// then immutable: each run is started with run() and reports exactly one StepOutcome. It
/// touches only what StepEnv gives it and the paths its own config names (writes() lists
/// them). The recovery machine decides which step runs when; a step never decides that.
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checks/check_runner.h"
#include "runtime/background.h"
#include "runtime/event_loop.h"
#include "runtime/map_reader.h"
#include "strategies/systemd_client.h"

namespace medic::strategies {

/// How a step ended.
struct StepOutcome {
  enum class Result { done, failed, skipped };
  Result result;
  std::string detail;  ///< systemd's job result or the reason
  /// The step leaves the service's own unit down on purpose (failover): verify by the
  /// checks alone.
  bool primaryDown = false;
};
using StepDone = std::function<void(StepOutcome)>;

/// Everything a step may touch, in one place. All of it runs on the agent's one event loop.
struct StepEnv {
  EventLoop& loop;
  SystemdClient& systemd;            ///< every job on a unit
  BackgroundTasks& background;       ///< file work too slow for the loop (restore)
  checks::ProbeRunner& commands;     ///< runs a command as an exec check runs (exec)
};

/// One run of a step: for which service and unit, how long it may take, and where in the
/// ladder it stands (said in the journal).
struct StepRun {
  std::string service;
  std::string unit;
  Duration timeout{};
  std::string where;              ///< "(restart 1 of 2, round 1 of 3)"
  std::time_t recoveryStart = 0;  ///< when the recovery under way began (seconds since the epoch)
};

/// A step that moves the service onto another unit (failover), and how it comes back.
struct UnitSwitch {
  std::string backupUnit;
  bool failBack = true;  ///< back to the service's own unit by itself, once its conditions hold
};

/// A config dir kept as known-good snapshots while its service is healthy (rollback): the
/// agent takes one when a changed `configDir` has run healthy for `after`.
struct SnapshotPolicy {
  std::string configDir;
  std::string snapshotDir;  ///< one directory per snapshot, named by its UTC time
  Duration after{};
  int keep = 3;
};

/// Made by its parser with make_shared: a run holds on to its step (shared_from_this), so a
/// reload that replaces the configuration never frees a step under way.
class Step : public std::enable_shared_from_this<Step> {
 public:
  virtual ~Step() = default;
  /// What run() would do, one line per action, touching nothing (`medic plan`).
  virtual std::vector<std::string> describe(const std::string& unit, Duration timeout) const = 0;
  /// Why run() would be refused now (a path fails the safety rules, the defaults are
  /// missing), checked again right before it acts.
  virtual std::optional<std::string> refusal() const { return std::nullopt; }
  /// Whether run() stops and starts the service's own unit (restart, restore, rollback): what
  /// services that depend on it with `on_dependency_restart: restart` follow.
  virtual bool restartsUnit() const { return false; }
  /// The directories run() writes, for the start-up report of read-only paths.
  virtual std::vector<std::string> writes() const { return {}; }
  /// The unit this step switches the service to, when it does (failover).
  virtual const UnitSwitch* unitSwitch() const { return nullptr; }
  /// The config dir whose known-good snapshots this step goes back to, when it does (rollback).
  virtual const SnapshotPolicy* snapshots() const { return nullptr; }
  /// Starts one run; `done` is called exactly once, on the loop, never before run() returns.
  virtual void run(StepEnv& env, const StepRun& run, StepDone done) const = 0;
};

/// What a step's settings may depend on besides its own keys.
struct StepContext {
  std::string service;
  std::string unit;      ///< the service's own unit
  std::string stateDir;  ///< agent.state_dir (restore keeps its backups under it by default)
};

/// Reads the step-specific keys of one ladder entry (the common ones are already read) and
/// returns the configured step, or nullptr after reporting errors to the reader.
using StepParser = std::shared_ptr<const Step> (*)(MapReader& keys, const StepContext& context);

}  // namespace medic::strategies
