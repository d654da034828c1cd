#pragma once
/// The one door to systemd. Everything medic does to a unit goes through this interface;
/// the D-Bus implementation is DbusSystemdClient; unit tests use a scripted one
/// (tests/support/scripted_systemd.h).
/// Every call is asynchronous and answers on the agent's event loop.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/duration.h"

namespace medic::strategies {

/// How a job ended: systemd's own words (done, canceled, timeout, failed, dependency,
/// skipped), or medic's when systemd never said: "deadline" (no JobRemoved in time),
/// "refused" (the call itself failed, see `error`). A job in flight when the bus dropped is
/// followed by its unit's state once the bus is back: "done" or "failed", and `error` says so.
struct JobOutcome {
  std::string result;
  std::string error;
  std::string job;  ///< the job's object path, when there was one
  Duration took{};

  bool ok() const { return result == "done"; }
};

/// systemd's ActiveState, read once by the client so that nobody compares its words.
/// `unknown` until systemd has told (and for a word newer than the systemd we know).
enum class ActiveState { unknown, active, reloading, inactive, failed, activating, deactivating, maintenance, refreshing };
/// systemd's own word; "" for unknown (as the status JSON says it)
std::string_view toString(ActiveState state);
ActiveState parseActiveState(std::string_view word);

struct UnitState {
  ActiveState activeState = ActiveState::unknown;
  std::string subState;     ///< running, dead, auto-restart, ...
  bool jobQueued = false;   ///< systemd has a job for it (its Job property): it is acting on the unit
  std::string result;       ///< success, exit-code, signal, core-dump, timeout, oom-kill, ...
  int execMainCode = 0;     ///< how the main process ended: 1 exited, 2 killed, 3 dumped core
  int execMainStatus = 0;   ///< its exit status, or the signal that ended it
  uint32_t mainPid = 0;
  uint32_t nRestarts = 0;
  bool canReload = false;
  std::string restartPolicy;  ///< the service's Restart= (no, on-failure, always, ...)
  std::string loadState;    ///< loaded, not-found, masked, ...
  uint64_t inactiveExitUs = 0;  ///< InactiveExitTimestampMonotonic: when it last began to start

  bool known() const { return activeState != ActiveState::unknown; }
  /// running as it should (systemd's "active"; not while it reloads or changes)
  bool up() const { return activeState == ActiveState::active; }
  /// nothing of it runs: stopped or failed. Whether that was expected is the watcher's
  /// question (recovery::UnitWatch), not the state's.
  bool down() const { return activeState == ActiveState::failed || activeState == ActiveState::inactive; }
  bool failed() const { return activeState == ActiveState::failed; }
  /// systemd is changing it: starting, stopping, reloading
  bool moving() const {
    return activeState == ActiveState::activating || activeState == ActiveState::deactivating ||
           activeState == ActiveState::reloading || activeState == ActiveState::refreshing;
  }
  /// between a crash and the restart its own Restart= asked for
  bool autoRestarting() const { return subState == "auto-restart"; }
  /// "failed (exit-code)": the two words systemctl shows
  std::string words() const;
};

enum class JobKind { start, stop, restart, reload, reloadOrRestart };
std::string_view toString(JobKind kind);

class SystemdClient {
 public:
  using JobDone = std::function<void(JobOutcome)>;
  using StateDone = std::function<void(std::optional<UnitState>, std::string error)>;
  using UnitChanged = std::function<void(const std::string& unit, const UnitState& state)>;

  virtual ~SystemdClient() = default;

  /// Queues a job with mode "replace" and reports when it has finished (JobRemoved), or at
  /// `deadline` at the latest. Invalid unit names are refused without a call.
  virtual void runJob(JobKind kind, const std::string& unit, Duration deadline, JobDone done) = 0;
  virtual void unitState(const std::string& unit, StateDone done) = 0;
  /// Manager.ResetFailedUnit: forgets the unit's failed state and its start-limit counter
  /// (`systemctl reset-failed`). `done` gets the error, or an empty string.
  virtual void resetFailed(const std::string& unit, std::function<void(std::string error)> done) = 0;
  /// Reports every change of the listed units' ActiveState/SubState as systemd announces
  /// it, and their state after every (re)connection.
  virtual void watchUnits(const std::vector<std::string>& units, UnitChanged onChange) = 0;
  virtual bool connected() const = 0;
};

}  // namespace medic::strategies
