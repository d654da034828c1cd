#pragma once
/// Failure detection and the first recovery step for one service. Pure logic, no I/O:
/// it takes check results and systemd's unit states with the time they happened and says
/// when to restart. The recovery ladder (restart -> reload -> restore) will take over the
/// decision side; detection stays here.
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "checks/check.h"
#include "config/spec.h"

namespace medic::agent {

class ServiceWatch {
 public:
  struct Restart {
    std::string reason;
  };

  /// systemd may report a unit failed for an instant before restarting it itself
  /// (Restart=on-failure), and a restart passes through inactive: a unit that went down
  /// (failed, or inactive after running) is acted on once it has stayed down this long.
  static constexpr Duration kFailedConfirm = std::chrono::milliseconds(250);

  explicit ServiceWatch(const config::ServiceSpec& spec) : spec_(&spec) {}
  /// After a configuration reload: the same service, perhaps with new settings. What it
  /// has seen (failures, a restart in flight, a cooldown) carries over.
  void setSpec(const config::ServiceSpec& spec) { spec_ = &spec; }

  std::optional<Restart> onCheckResult(const std::string& check, bool critical, checks::Status status,
                                       const std::string& message, TimePoint now);
  /// ActiveState/SubState as systemd reports them.
  std::optional<Restart> onUnitState(const std::string& active, const std::string& sub, TimePoint now);
  /// The restart medic asked for has ended (ok: systemd's job result was "done").
  void onRestartFinished(bool ok, TimePoint now);
  /// What systemd said when asked about the failed unit: with Restart=no nobody else will
  /// restart it, so there is nothing to wait for.
  std::optional<Restart> onFailedUnitRead(const std::string& activeState, const std::string& restartPolicy, TimePoint now);
  /// Time passed: acts on a unit that stayed failed through the confirm window.
  std::optional<Restart> onTimer(TimePoint now);
  /// When onTimer() next has something to decide; nullopt when nothing is pending.
  std::optional<TimePoint> wakeAt() const;

  bool restarting() const { return restarting_; }
  /// Why no action is taken right now, or empty when medic would act.
  std::string holdReason(TimePoint now) const;

 private:
  std::optional<Restart> trigger(std::string reason, TimePoint now);
  bool thresholdReached(const std::deque<bool>& history) const;

  const config::ServiceSpec* spec_;
  std::map<std::string, std::deque<bool>> history_;  // per critical check, newest last: true = failed
  std::string unitActive_;
  std::string unitSub_;
  bool seenUp_ = false;  // seen active since medic started: expected up from then on
  std::optional<TimePoint> downSince_;
  std::string downReason_;
  bool restarting_ = false;
  TimePoint settleUntil_{};   // after a (re)start, the service gets verify_grace to come up
  TimePoint cooldownUntil_{};  // after a failed restart, hold off for the cooldown
};

}  // namespace medic::agent
