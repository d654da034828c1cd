#pragma once
/// When the service's unit is down when it should be up, as systemd reports it: failed, or
/// stopped cleanly behind medic's back after it was seen running. A unit that went down is a
/// failure once it has stayed down kConfirm (systemd reports a unit failed for an instant
/// before its own Restart= brings it back, and a restart passes through inactive), with the
/// cause systemd gives once its Result is read. Kept apart from what is done about it, as
/// the failure detector is for the checks; the recovery machine owns one.
#include <optional>

#include "runtime/clock.h"
#include "strategies/cause.h"
#include "strategies/systemd_client.h"

namespace medic::recovery {

class UnitWatch {
 public:
  static constexpr Duration kConfirm = std::chrono::milliseconds(250);

  explicit UnitWatch(std::string unit) : unitName_(std::move(unit)) {}
  /// After a reload: the service's unit by its (perhaps new) name.
  void setUnit(std::string unit) { unitName_ = std::move(unit); }

  /// How a report from systemd finds the service.
  enum class Down {
    no,          ///< running, or down on purpose: nothing to confirm
    failed,      ///< failed: its cause is known once its Result is read (resultRead)
    behindBack,  ///< stopped cleanly, not by medic, after it was seen up
  };
  /// systemd's latest report. `onPurpose`: medic keeps the unit down or is bringing it back
  /// (failover, failing back); `stepRunning`: a step of medic's may stop it for a moment.
  /// True when the unit came up (from a known state that was not up).
  bool report(const strategies::UnitState& state, bool onPurpose, bool stepRunning, TimePoint now);
  /// systemd's Result for a failed unit, read after it failed: its cause in systemd's words.
  /// True when the watch was waiting on it (the unit is still down, unconfirmed).
  bool resultRead(const strategies::UnitState& state);
  /// The confirm window passed with the unit still down: a failure of the unit, once.
  bool confirmedBy(TimePoint now);
  /// The failure is taken now, without the window (systemd will not restart it itself).
  void take() { downSince_.reset(); }
  /// Looked at afresh (an operator's reset): a unit down now goes through the window again.
  void rewatch(TimePoint now);
  /// When the confirm window ends, while one runs.
  std::optional<TimePoint> confirmAt() const;

  const strategies::UnitState& unit() const { return unit_; }
  /// Down when it should be up: failed, or inactive after it was seen up.
  bool unexpectedlyDown() const { return unit_.failed() || (unit_.down() && seenUp_); }
  /// Why it is down, as far as known; `causeKnown`: systemd's Result has been read (or it was
  /// stopped cleanly), not only "failed".
  const strategies::Cause& cause() const { return cause_; }
  bool causeKnown() const { return causeKnown_; }
  /// The cause to act on now: the one known, or "failed" in systemd's bare word.
  strategies::Cause causeOrFailed() const;

 private:
  std::string unitName_;
  strategies::UnitState unit_;  // systemd's latest report: its states, and whether a job is queued
  bool seenUp_ = false;         // from its first report of up on, it is expected up
  std::optional<TimePoint> downSince_;
  strategies::Cause cause_;
  bool causeKnown_ = false;
};

}  // namespace medic::recovery
