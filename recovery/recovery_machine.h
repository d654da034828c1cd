#pragma once
/// One service's recovery, as a state machine with no I/O. It takes events (check results,
/// systemd's unit states, a step's outcome, a verification's outcome, time passing) and
/// returns decisions (run a step, verify now, record an event). The agent carries the
/// decisions out and feeds the outcomes back. Time is passed in, so tests move it by hand.
///
/// The ladder, read top to bottom in kTransitions (recovery_machine.cpp):
///   healthy --failure--> recovering(step 1, attempt 1) --step done--> verifying
///   verifying --unit active and critical checks pass--> healthy
///   verifying/recovering --failed--> next attempt | next step | cooldown | gave-up
///   cooldown --time--> recovering(round + 1) ; gave-up --healed by itself--> healthy
///   before every step, the recovery conditions: not met --> blocked (no attempt used)
///   too many recoveries within the flapping window --> flapping (held, not restarting forever)
///   a verified failover --> failed-over; conditions met again --> failing-back --> healthy,
///   or back on the backup when the primary does not verify
/// and an operator's commands: pause (no recovery starts; a step under way is let finish),
/// resume, reset (out of gave-up/flapping/cooldown/blocked, counters cleared) and recover
/// (one step now, verified, never escalated by itself).
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "checks/check.h"
#include "config/spec.h"
#include "recovery/failure_detector.h"
#include "recovery/unit_watch.h"

namespace medic::recovery {

enum class Phase { healthy, blocked, recovering, verifying, cooldown, gaveUp, flapping, failedOver, failingBack, held };
std::string_view toString(Phase p);
/// Every phase, for what lists them (the status schema's enum is checked against it).
inline constexpr Phase kPhases[] = {Phase::healthy,  Phase::blocked,  Phase::recovering, Phase::verifying,  Phase::cooldown,
                                    Phase::gaveUp,   Phase::flapping, Phase::failedOver, Phase::failingBack,
                                    Phase::held};

/// What the machine records: each one journalled (MEDIC_EVENT=, by toString()), and the
/// ones worth it sent to the alert sinks.
enum class Event {
  unhealthy,
  paused,
  unpaused,
  recoveryStarted,
  roundStarted,
  stepResumed,
  resumed,
  stepFailed,
  stepSkipped,
  roundFailed,
  gaveUp,
  recovered,
  healed,
  blocked,
  unblocked,
  flapping,
  flappingOver,
  failedOver,
  failbackRequested,
  failedBack,
  failbackFailed,
  recoveryStopped,
  reset,
  resetRefused,
  queued,
  rtoExceeded,  ///< (the supervisor's) a recovery still under way at the service's `rto:`
  held,         ///< a failure put down to a dependency that is down: no step until it is up
};
std::string_view toString(Event e);
/// Whether an event is about a failure and its recovery (it then carries the failure's
/// cause), rather than an operator's command or medic's own bookkeeping.
bool concernsFailure(Event e);

/// What the machine asks the agent to do.
struct Decision {
  enum class Kind {
    runStep,          ///< run ladder step `step` (attempt `attempt`, round `round`)
    verify,           ///< run the service's critical checks now and report onVerified()
    checkConditions,  ///< evaluate the recovery conditions and report onConditions()
    failBack,         ///< stop the backup unit, start the primary; report onStepFinished()
    returnToBackup,   ///< the primary did not verify: stop it, start the backup again
    record,           ///< an event worth knowing: journal now, alert sinks later
  };
  Kind kind = Kind::record;
  size_t step = 0;
  int attempt = 0;
  int round = 0;
  Event event = Event::unhealthy;  ///< record: what happened
  std::string reason;  ///< record, recoveryStarted: what failed ("health: HTTP 500")
  strategies::Cause cause;  ///< record, recoveryStarted: the failure's cause, typed
  int priority = 6;     ///< record: syslog priority (2 crit ... 6 info)
  std::string message;  ///< record: human sentence
  /// runStep: wait this long before running it. A second attempt of the same step is spaced
  /// from the first (a unit that crashed at once would otherwise be started again 1 ms later).
  Duration after{};

  static Decision of(Kind kind) {
    Decision d;
    d.kind = kind;
    return d;
  }
};

/// What survives an agent restart. Times are kept as durations relative to the moment of
/// saving (monotonic clocks do not survive a reboot); agedBy() moves them on by the time
/// medic was down, so a cooldown, a pause or the flapping window ends when it would have.
struct MachineSnapshot {
  Phase phase = Phase::healthy;
  int round = 0;
  size_t step = 0;
  int attempt = 0;
  bool stepRunning = false;            ///< a step (or its verification) was under way
  Duration cooldownLeft{}, holdLeft{}, recheckLeft{};
  std::vector<Duration> recoveryAges;  ///< how long ago each recent recovery started (flapping)
  Duration sinceChange{};              ///< how long ago the phase (or the pause) last changed
  bool paused = false;
  std::optional<Duration> pauseLeft;   ///< unset: paused until resumed
  std::string pauseReason;
  strategies::Cause cause;  ///< of the current (or last) failure
  int ladder = config::RecoverySpec::kDefaultLadder;  ///< the ladder being climbed

  /// The same state `elapsed` later.
  MachineSnapshot agedBy(Duration elapsed) const;
};

class RecoveryMachine {
 public:
  /// Between attempts of one step.
  /// How often each row of the transition table was taken in this process, in table order
  /// (all machines together), and a row in words ("healthy --failure [always]--> recovering").
  static std::vector<uint64_t> transitionsTaken();
  static std::string describeTransition(size_t row);

  static constexpr Duration kAttemptSpacing = std::chrono::seconds(1);
  /// A unit that went down (failed, or inactive after running) is acted on once it has
  /// stayed down this long (UnitWatch).
  static constexpr Duration kDownConfirm = UnitWatch::kConfirm;

  explicit RecoveryMachine(const config::ServiceSpec& spec, TimePoint now = {})
      : spec_(&spec), detector_(spec), watch_(spec.unit), changedAt_(now) {}
  /// After a configuration reload: the same service, perhaps with new settings.
  void setSpec(const config::ServiceSpec& spec) {
    spec_ = &spec;
    detector_.setSpec(spec);
    watch_.setUnit(spec.unit);
  }

  /// `rule`: the firing rule that made the result fail, when the check's own run passed.
  std::vector<Decision> onCheckResult(const std::string& check, bool critical, checks::Status status,
                                      const std::string& message, TimePoint now, const checks::RuleSpec* rule = nullptr);
  /// The unit's active and sub states changed, or its job. While systemd has a job for the
  /// unit (its Restart= timer just fired, an operator's start), it is acting on it, so medic
  /// holds off, whatever the states say.
  std::vector<Decision> onUnitState(const strategies::UnitState& unit, TimePoint now);
  /// What systemd said when asked about a failed unit: its Result and main process' end
  /// make the failure's cause; with Restart=no nobody else will restart it, so there is
  /// nothing to wait for.
  std::vector<Decision> onFailedUnitRead(const strategies::UnitState& state, TimePoint now);
  std::vector<Decision> onStepFinished(const strategies::StepOutcome& outcome, TimePoint now);
  std::vector<Decision> onVerified(bool passed, const std::string& message, TimePoint now);
  /// The recovery conditions, evaluated: `why` names the first one not met.
  std::vector<Decision> onConditions(bool met, const std::string& why, TimePoint now);
  /// What it depends on (`depends_on:`): the first one down, as a cause (kind dependency,
  /// naming it), or nullopt when all are up. While one is down a failure is put down to it
  /// and held (no step, no attempt, round or flapping count used); once all are up, a held
  /// service is verified at once: healthy, it healed with them; still failing, its own
  /// recovery starts.
  std::vector<Decision> onDependency(std::optional<strategies::Cause> down, TimePoint now);
  /// The dependency down, as last told; nullopt: none.
  const std::optional<strategies::Cause>& dependencyDown() const { return dependency_; }
  /// Something its conditions in force name has changed (a host check's result, a unit's
  /// state): a blocked recovery looks at them now rather than at the next `recheck`.
  std::vector<Decision> onConditionsChanged(TimePoint now);
  /// Time passed: confirm windows, verification deadlines, cooldowns.
  std::vector<Decision> onTimer(TimePoint now);
  /// When onTimer() next has something to decide.
  std::optional<TimePoint> wakeAt() const;

  MachineSnapshot snapshot(TimePoint now) const;
  /// Takes up where a previous agent left off. A step that was under way is not repeated
  /// blindly: the unit's real state is verified first, and the step is run again only if
  /// that verification fails.
  std::vector<Decision> resume(const MachineSnapshot& s, TimePoint now);

  // ---- an operator's commands (medic pause/resume/reset/recover) ----
  /// Holds recovery off until `until` (unset: until resumed). Checks go on and failures are
  /// seen; a step under way is let finish and verified, but nothing starts after it.
  std::vector<Decision> pause(std::optional<TimePoint> until, const std::string& reason, TimePoint now);
  /// Ends a pause; a service still failing starts its recovery at once.
  std::vector<Decision> unpause(const std::string& why, TimePoint now);
  /// Leaves gave-up, flapping, cooldown or blocked: rounds, attempts, the flapping count and
  /// failure streaks start afresh. `refused` says why not (a step under way, failed over).
  std::vector<Decision> reset(const std::string& why, TimePoint now, std::string& refused);
  /// Fails back from the backup unit now, without waiting for the conditions (an
  /// operator's `medic recover SERVICE --step failback`), verified like any step; on failure
  /// the service goes back to its backup. `refused` says why not (not failed over).
  std::vector<Decision> failBackNow(const std::string& why, TimePoint now, std::string& refused);
  /// Runs ladder step `step` now, without the conditions, once, and verifies it. Whatever
  /// the verification says, the machine does not escalate by itself from it: on failure it
  /// goes back to watching, and its own recovery starts with the next failing check.
  std::vector<Decision> recoverNow(size_t step, const std::string& why, TimePoint now, std::string& refused);

  /// `on_dependency_restart: restart`: medic restarted `dependency` and verified it healthy;
  /// this service, which does not reconnect by itself, is restarted once too and verified
  /// like any step, with no attempt, round or flapping count used; on failure its own
  /// recovery takes over as after an operator's step. Only from healthy or held: `refused`
  /// says why not (a recovery of its own under way, paused, failed over, disabled).
  std::vector<Decision> afterDependencyRestart(const std::string& dependency, TimePoint now, std::string& refused);

  bool paused() const { return paused_.has_value(); }
  /// The conditions a checkConditions decision asks about: the current step's gate, or
  /// while failed over the service's (for the fail-back). nullptr: none.
  const config::ConditionsSpec* conditionsInForce() const;
  /// Whether a critical check has failed its threshold (or window), as detection judges:
  /// what makes an alert of the service's health more than a blip.
  bool pastThreshold() const;
  std::optional<TimePoint> pausedUntil() const { return paused_ ? paused_->until : std::nullopt; }
  const std::string& pauseReason() const;
  bool manualStepRunning() const { return manual_; }
  TimePoint changedAt() const { return changedAt_; }

  Phase phase() const { return phase_; }
  /// Why the current (or the last) recovery started; none before the first failure.
  const strategies::Cause& cause() const { return cause_; }
  /// Failures detected since medic started (each a new cause()): what alerts read news by.
  uint64_t failures() const { return failures_; }
  /// Why the unit is down, while it is and no failure is detected yet; `downCauseKnown`:
  /// systemd's Result has been read (or it was stopped cleanly), not only "failed".
  const strategies::Cause& downCause() const { return watch_.cause(); }
  bool downCauseKnown() const { return watch_.causeKnown(); }
  /// systemd's latest report of the unit.
  const strategies::UnitState& unit() const { return watch_.unit(); }
  /// The ladder the current (or last) recovery climbs (RecoverySpec::steps()).
  int ladderIndex() const { return ladder_; }
  const std::vector<config::StepSpec>& ladder() const { return spec_->recovery.steps(ladder_); }
  int round() const { return round_; }
  size_t step() const { return step_; }
  int attempt() const { return attempt_; }
  /// Why a detected failure would not be acted on right now; empty when it would.
  std::string holdReason(TimePoint now) const;

  /// What drives the machine, for the transition table.
  enum class Trigger {
    failure, conditionsMet, conditionsNotMet, stepDone, stepSkipped, stepFailed,
    verifyPassed, verifyFailed, cooldownOver, holdOver, healed, failbackDue, failbackDone, failbackFailed,
    pause, reset, manual, manualFailback, restartedMidStep, dependencyUp
  };

 private:
  struct Transition;
  static const Transition kTransitions[];
  static uint64_t rowsTaken_[];

  std::vector<Decision> fire(Trigger trigger, TimePoint now, const std::string& detail);
  // Guards
  bool recoveryOff() const;
  bool moreAttempts() const;
  bool moreSteps() const;
  bool moreRounds() const;
  bool tooManyRecoveries() const;
  bool resumedStep() const { return resumed_; }
  bool onBackup() const { return serving_ == Serving::backup; }
  bool failingBack() const { return serving_ == Serving::primaryOnTrial; }
  bool always() const { return true; }
  bool isPaused() const { return paused_.has_value(); }
  bool isManual() const { return manual_; }
  bool heldByDependency() const { return dependency_.has_value(); }
  // Actions
  void startRound(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void awaitVerification(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void nextAttempt(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void nextStep(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void skipToNextStep(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void startCooldown(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void giveUp(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void recovered(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void healedByItself(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void noteDisabled(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void block(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void unblock(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void holdForFlapping(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void releaseHold(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void proceed(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void rerunStep(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void enterFailover(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void askFailback(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void startFailback(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void startManualFailback(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void stayOnBackup(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void awaitPrimary(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void failedBack(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void backToBackup(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void verifyAfterRestart(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void notePaused(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void stopForPause(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void startManual(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void manualFailed(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void clearCounters(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void holdForDependency(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void verifyWithDependency(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void healedWithDependency(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void stayHeld(std::vector<Decision>& out, TimePoint now, const std::string& why);
  void leaveHold(std::vector<Decision>& out, TimePoint now, const std::string& why);

  std::vector<Decision> detectFailure(const strategies::Cause& cause, TimePoint now);
  void runStep(std::vector<Decision>& out);
  void beginStep(std::vector<Decision>& out);  // the conditions first, when there are any
  bool hasConditions() const;
  Duration recheck() const;
  Decision record(Event event, int priority, std::string message) const;
  std::string stepName() const;
  bool allCriticalHealthy() const;
  void forget(TimePoint now);
  void endLadder();  // round, step, attempt and what is under way; not the failure streaks
  std::string busyReason() const;
  std::optional<TimePoint> phaseWakeAt() const;

  /// What the machine has asked the supervisor for and waits to hear back about: at most
  /// one thing at a time.
  enum class Awaiting { nothing, conditions, step, verification };
  /// Which unit serves: the primary, the backup after a failover step, or the primary on
  /// trial (being verified after a fail-back, the backup stopped).
  enum class Serving { primary, backup, primaryOnTrial };
  /// An operator's pause: until when (none: until resumed), why, and whether a failure has
  /// been said to go unrecovered during it (once per pause).
  struct Pause {
    std::optional<TimePoint> until;
    std::string reason;
    bool noted = false;
  };

  const config::ServiceSpec* spec_;
  FailureDetector detector_;
  Phase phase_ = Phase::healthy;
  // Detection
  UnitWatch watch_;  // the unit as systemd reports it, and whether it is down when it should not be
  strategies::Cause cause_;
  uint64_t failures_ = 0;
  int ladder_ = config::RecoverySpec::kDefaultLadder;
  TimePoint settleUntil_{};
  bool disabledNoted_ = false;
  // The ladder
  int round_ = 0;
  size_t step_ = 0;
  int attempt_ = 0;
  Awaiting awaiting_ = Awaiting::nothing;
  TimePoint verifyDeadline_{};
  std::optional<TimePoint> verifyRetryAt_;
  std::string lastVerifyMessage_;
  TimePoint cooldownUntil_{};
  // Conditions and flapping
  TimePoint recheckAt_{};
  std::deque<TimePoint> recoveryStarts_;
  TimePoint holdUntil_{};
  bool resumed_ = false;  // verifying a step the previous agent left under way
  Serving serving_ = Serving::primary;
  TimePoint failbackAt_{};
  TimePoint changedAt_{};
  // An operator's pause and manual step
  std::optional<Pause> paused_;
  bool manual_ = false;
  size_t manualStep_ = 0;
  int manualLadder_ = config::RecoverySpec::kDefaultLadder;  ///< an operator's: the default; on_dependency_restart's own
  // What it depends on
  std::optional<strategies::Cause> dependency_;  // the one down (onDependency)
};

}  // namespace medic::recovery
