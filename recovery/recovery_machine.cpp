#include "recovery/recovery_machine.h"

namespace medic::recovery {

using checks::Status;
using M = RecoveryMachine;
using E = RecoveryMachine::Trigger;

bool concernsFailure(Event e) {
  switch (e) {
    case Event::paused: case Event::unpaused: case Event::reset: case Event::resetRefused: case Event::queued:
    case Event::failbackRequested: case Event::failedBack: case Event::failbackFailed: case Event::flappingOver:
    case Event::unblocked:
      return false;
    default:
      return true;
  }
}

std::string_view toString(Event e) {
  switch (e) {
    case Event::unhealthy: return "unhealthy";
    case Event::paused: return "paused";
    case Event::unpaused: return "unpaused";
    case Event::recoveryStarted: return "recovery-started";
    case Event::roundStarted: return "round-started";
    case Event::stepResumed: return "step-resumed";
    case Event::resumed: return "resumed";
    case Event::stepFailed: return "step-failed";
    case Event::stepSkipped: return "step-skipped";
    case Event::roundFailed: return "round-failed";
    case Event::gaveUp: return "gave-up";
    case Event::recovered: return "recovered";
    case Event::healed: return "healed";
    case Event::blocked: return "blocked";
    case Event::unblocked: return "unblocked";
    case Event::flapping: return "flapping";
    case Event::flappingOver: return "flapping-over";
    case Event::failedOver: return "failed-over";
    case Event::failbackRequested: return "failback-requested";
    case Event::failedBack: return "failed-back";
    case Event::failbackFailed: return "failback-failed";
    case Event::recoveryStopped: return "recovery-stopped";
    case Event::reset: return "reset";
    case Event::resetRefused: return "reset-refused";
    case Event::queued: return "queued";
    case Event::rtoExceeded: return "rto-exceeded";
    case Event::held: return "held";
  }
  return "?";
}

std::string_view toString(Phase p) {
  switch (p) {
    case Phase::healthy: return "healthy";
    case Phase::blocked: return "blocked";
    case Phase::flapping: return "flapping";
    case Phase::failedOver: return "failed-over";
    case Phase::failingBack: return "failing-back";
    case Phase::held: return "held";
    case Phase::recovering: return "recovering";
    case Phase::verifying: return "verifying";
    case Phase::cooldown: return "cooldown";
    case Phase::gaveUp: return "gave-up";
  }
  return "?";
}

struct RecoveryMachine::Transition {
  Phase from;
  Trigger on;
  bool (RecoveryMachine::*guard)() const;
  Phase to;
  void (RecoveryMachine::*act)(std::vector<Decision>&, TimePoint, const std::string&);
};

// The whole ladder. For an event, the first row whose phase matches and whose guard holds
// is taken; an event no row takes in the current phase changes nothing.
const RecoveryMachine::Transition RecoveryMachine::kTransitions[] = {
    // from               on                guard              to                  action
    {Phase::healthy,    E::failure,       &M::isPaused,      Phase::healthy,     &M::notePaused},
    {Phase::healthy,    E::failure,       &M::recoveryOff,   Phase::healthy,     &M::noteDisabled},
    {Phase::healthy,    E::failure,       &M::heldByDependency, Phase::held,     &M::holdForDependency},
    {Phase::healthy,    E::failure,       &M::tooManyRecoveries, Phase::flapping, &M::holdForFlapping},
    {Phase::healthy,    E::failure,       &M::always,        Phase::recovering,  &M::startRound},

    {Phase::recovering, E::conditionsMet, &M::isPaused,      Phase::healthy,     &M::stopForPause},
    {Phase::recovering, E::conditionsMet, &M::always,        Phase::recovering,  &M::proceed},
    {Phase::recovering, E::conditionsNotMet, &M::isPaused,   Phase::healthy,     &M::stopForPause},
    {Phase::recovering, E::conditionsNotMet, &M::always,     Phase::blocked,     &M::block},
    {Phase::blocked,    E::conditionsMet, &M::always,        Phase::recovering,  &M::unblock},
    {Phase::blocked,    E::healed,        &M::always,        Phase::healthy,     &M::healedByItself},

    {Phase::recovering, E::stepDone,      &M::always,        Phase::verifying,   &M::awaitVerification},
    {Phase::recovering, E::stepSkipped,   &M::isManual,      Phase::healthy,     &M::manualFailed},
    {Phase::recovering, E::stepSkipped,   &M::isPaused,      Phase::healthy,     &M::stopForPause},
    {Phase::recovering, E::stepFailed,    &M::isManual,      Phase::healthy,     &M::manualFailed},
    {Phase::recovering, E::stepFailed,    &M::isPaused,      Phase::healthy,     &M::stopForPause},
    {Phase::recovering, E::stepFailed,    &M::heldByDependency, Phase::held,     &M::holdForDependency},
    {Phase::recovering, E::stepSkipped,   &M::moreSteps,     Phase::recovering,  &M::skipToNextStep},
    {Phase::recovering, E::stepSkipped,   &M::moreRounds,    Phase::cooldown,    &M::startCooldown},
    {Phase::recovering, E::stepSkipped,   &M::always,        Phase::gaveUp,      &M::giveUp},
    {Phase::recovering, E::stepFailed,    &M::moreAttempts,  Phase::recovering,  &M::nextAttempt},
    {Phase::recovering, E::stepFailed,    &M::moreSteps,     Phase::recovering,  &M::nextStep},
    {Phase::recovering, E::stepFailed,    &M::moreRounds,    Phase::cooldown,    &M::startCooldown},
    {Phase::recovering, E::stepFailed,    &M::always,        Phase::gaveUp,      &M::giveUp},

    {Phase::verifying,  E::verifyPassed,  &M::failingBack,   Phase::healthy,     &M::failedBack},
    {Phase::verifying,  E::verifyFailed,  &M::failingBack,   Phase::failedOver,  &M::backToBackup},
    {Phase::verifying,  E::verifyPassed,  &M::onBackup,      Phase::failedOver,  &M::enterFailover},
    {Phase::verifying,  E::verifyPassed,  &M::always,        Phase::healthy,     &M::recovered},
    {Phase::verifying,  E::verifyFailed,  &M::isManual,      Phase::healthy,     &M::manualFailed},
    {Phase::verifying,  E::verifyFailed,  &M::isPaused,      Phase::healthy,     &M::stopForPause},
    {Phase::verifying,  E::verifyFailed,  &M::heldByDependency, Phase::held,     &M::holdForDependency},
    {Phase::verifying,  E::verifyFailed,  &M::resumedStep,   Phase::recovering,  &M::rerunStep},
    {Phase::verifying,  E::verifyFailed,  &M::moreAttempts,  Phase::recovering,  &M::nextAttempt},
    {Phase::verifying,  E::verifyFailed,  &M::moreSteps,     Phase::recovering,  &M::nextStep},
    {Phase::verifying,  E::verifyFailed,  &M::moreRounds,    Phase::cooldown,    &M::startCooldown},
    {Phase::verifying,  E::verifyFailed,  &M::always,        Phase::gaveUp,      &M::giveUp},

    {Phase::cooldown,   E::healed,        &M::always,        Phase::healthy,     &M::healedByItself},
    {Phase::cooldown,   E::cooldownOver,  &M::heldByDependency, Phase::held,     &M::holdForDependency},
    {Phase::cooldown,   E::cooldownOver,  &M::always,        Phase::recovering,  &M::startRound},
    {Phase::gaveUp,     E::healed,        &M::always,        Phase::healthy,     &M::healedByItself},
    {Phase::flapping,   E::healed,        &M::always,        Phase::healthy,     &M::healedByItself},
    {Phase::flapping,   E::holdOver,      &M::always,        Phase::healthy,     &M::releaseHold},

    {Phase::failedOver, E::failbackDue,   &M::isPaused,      Phase::failedOver,  &M::stayOnBackup},
    {Phase::failedOver, E::failbackDue,   &M::always,        Phase::failedOver,  &M::askFailback},
    {Phase::failedOver, E::conditionsMet, &M::always,        Phase::failingBack, &M::startFailback},
    {Phase::failedOver, E::conditionsNotMet, &M::always,     Phase::failedOver,  &M::stayOnBackup},
    {Phase::failingBack, E::failbackDone, &M::always,        Phase::verifying,   &M::awaitPrimary},
    {Phase::failingBack, E::failbackFailed, &M::always,      Phase::failedOver,  &M::backToBackup},
    {Phase::failedOver, E::manualFailback, &M::always,       Phase::failingBack, &M::startManualFailback},

    // Held by a dependency that is down: nothing runs until it is up again; then it is
    // verified at once, and either healed with it or starts its own recovery (onVerified).
    {Phase::held,       E::healed,        &M::always,        Phase::healthy,     &M::healedWithDependency},
    {Phase::held,       E::dependencyUp,  &M::always,        Phase::held,        &M::verifyWithDependency},
    {Phase::held,       E::verifyPassed,  &M::always,        Phase::healthy,     &M::healedWithDependency},
    {Phase::held,       E::verifyFailed,  &M::heldByDependency, Phase::held,     &M::stayHeld},
    {Phase::held,       E::verifyFailed,  &M::always,        Phase::healthy,     &M::leaveHold},

    // An operator's commands. A pause stops what waits (a cooldown, a block) at once; a step
    // under way is let finish (rows above). Recover and reset are refused while a step runs.
    {Phase::blocked,    E::pause,         &M::always,        Phase::healthy,     &M::stopForPause},
    {Phase::cooldown,   E::pause,         &M::always,        Phase::healthy,     &M::stopForPause},
    {Phase::healthy,    E::reset,         &M::always,        Phase::healthy,     &M::clearCounters},
    {Phase::blocked,    E::reset,         &M::always,        Phase::healthy,     &M::clearCounters},
    {Phase::cooldown,   E::reset,         &M::always,        Phase::healthy,     &M::clearCounters},
    {Phase::gaveUp,     E::reset,         &M::always,        Phase::healthy,     &M::clearCounters},
    {Phase::flapping,   E::reset,         &M::always,        Phase::healthy,     &M::clearCounters},
    {Phase::held,       E::reset,         &M::always,        Phase::healthy,     &M::clearCounters},
    {Phase::healthy,    E::manual,        &M::always,        Phase::recovering,  &M::startManual},
    {Phase::blocked,    E::manual,        &M::always,        Phase::recovering,  &M::startManual},
    {Phase::cooldown,   E::manual,        &M::always,        Phase::recovering,  &M::startManual},
    {Phase::gaveUp,     E::manual,        &M::always,        Phase::recovering,  &M::startManual},
    {Phase::flapping,   E::manual,        &M::always,        Phase::recovering,  &M::startManual},
    {Phase::held,       E::manual,        &M::always,        Phase::recovering,  &M::startManual},

    // medic restarted while a step ran: whatever the step got done, the unit's real state
    // decides, so it is verified before anything else.
    // (saved while its step ran, or while it was being verified: snapshot()'s stepRunning)
    {Phase::recovering, E::restartedMidStep, &M::always,     Phase::verifying,   &M::verifyAfterRestart},
    {Phase::verifying,  E::restartedMidStep, &M::always,     Phase::verifying,   &M::verifyAfterRestart},
};

// Per row; the machines all run on one thread.
uint64_t RecoveryMachine::rowsTaken_[std::size(kTransitions)] = {};

std::vector<uint64_t> RecoveryMachine::transitionsTaken() { return {std::begin(rowsTaken_), std::end(rowsTaken_)}; }

namespace {
// A switch, not an array: -Wswitch names a trigger added without its word here.
std::string_view triggerName(RecoveryMachine::Trigger t) {
  using T = RecoveryMachine::Trigger;
  switch (t) {
    case T::failure: return "failure";
    case T::conditionsMet: return "conditionsMet";
    case T::conditionsNotMet: return "conditionsNotMet";
    case T::stepDone: return "stepDone";
    case T::stepSkipped: return "stepSkipped";
    case T::stepFailed: return "stepFailed";
    case T::verifyPassed: return "verifyPassed";
    case T::verifyFailed: return "verifyFailed";
    case T::cooldownOver: return "cooldownOver";
    case T::holdOver: return "holdOver";
    case T::healed: return "healed";
    case T::failbackDue: return "failbackDue";
    case T::failbackDone: return "failbackDone";
    case T::failbackFailed: return "failbackFailed";
    case T::restartedMidStep: return "restartedMidStep";
    case T::pause: return "pause";
    case T::reset: return "reset";
    case T::manual: return "manual";
    case T::manualFailback: return "manualFailback";
    case T::dependencyUp: return "dependencyUp";
  }
  return "?";
}
}  // namespace

std::string RecoveryMachine::describeTransition(size_t row) {
  const Transition& t = kTransitions[row];
  return "row " + std::to_string(row + 1) + " of kTransitions: " + std::string(toString(t.from)) + " --" +
         std::string(triggerName(t.on)) + "--> " + std::string(toString(t.to));
}

std::vector<Decision> RecoveryMachine::fire(Trigger trigger, TimePoint now, const std::string& detail) {
  std::vector<Decision> out;
  for (const auto& t : kTransitions) {
    if (t.from != phase_ || t.on != trigger || !(this->*t.guard)()) continue;
    ++rowsTaken_[&t - kTransitions];
    if (t.to != phase_) changedAt_ = now;
    phase_ = t.to;
    (this->*t.act)(out, now, detail);
    break;
  }
  return out;
}

// ---- guards --------------------------------------------------------------------------

bool RecoveryMachine::recoveryOff() const { return !spec_->recovery.enabled || spec_->recovery.ladder.empty(); }
bool RecoveryMachine::moreAttempts() const { return step_ < ladder().size() && attempt_ < ladder()[step_].attempts; }
bool RecoveryMachine::moreSteps() const { return step_ + 1 < ladder().size(); }
bool RecoveryMachine::moreRounds() const { return round_ < spec_->recovery.maxRounds; }
bool RecoveryMachine::tooManyRecoveries() const {
  return static_cast<int>(recoveryStarts_.size()) >= spec_->recovery.flapping.maxRecoveries;
}
bool RecoveryMachine::hasConditions() const { return config::conditionsFor(spec_->recovery, ladder(), step_) != nullptr; }

const config::ConditionsSpec* RecoveryMachine::conditionsInForce() const {
  if (phase_ == Phase::failedOver) return &spec_->recovery.conditions;  // fail-back
  return config::conditionsFor(spec_->recovery, ladder(), step_);
}

Duration RecoveryMachine::recheck() const {
  const config::ConditionsSpec* gate = conditionsInForce();
  return gate ? gate->recheck : spec_->recovery.conditions.recheck;
}

// ---- actions -------------------------------------------------------------------------

Decision RecoveryMachine::record(Event event, int priority, std::string message) const {
  Decision d = Decision::of(Decision::Kind::record);
  d.step = step_;
  d.attempt = attempt_;
  d.round = round_;
  d.event = event;
  d.priority = priority;
  d.message = std::move(message);
  return d;
}

std::string RecoveryMachine::stepName() const {
  if (step_ >= ladder().size()) return "?";
  return ladder()[step_].kind;
}

void RecoveryMachine::runStep(std::vector<Decision>& out) {
  Decision d = Decision::of(Decision::Kind::runStep);
  d.step = step_;
  d.attempt = attempt_;
  d.round = round_;
  if (attempt_ > 1) d.after = kAttemptSpacing;
  awaiting_ = Awaiting::step;
  out.push_back(d);
}

void RecoveryMachine::startManualFailback(std::vector<Decision>& out, TimePoint now, const std::string& why) {
  manual_ = true;
  out.push_back(record(Event::failbackRequested, 5, "failing back to " + spec_->unit + " now, " + why));
  startFailback(out, now, why);
}

void RecoveryMachine::beginStep(std::vector<Decision>& out) {
  if (!hasConditions()) return runStep(out);
  awaiting_ = Awaiting::conditions;
  out.push_back(Decision::of(Decision::Kind::checkConditions));
}

void RecoveryMachine::startRound(std::vector<Decision>& out, TimePoint now, const std::string& why) {
  ++round_;
  step_ = 0;
  attempt_ = 1;
  if (round_ == 1) {
    recoveryStarts_.push_back(now);
    ladder_ = spec_->recovery.chosen(cause_);
    std::string which = ladder_ == config::RecoverySpec::kDefaultLadder
                            ? ""
                            : "; climbing " + spec_->recovery.ladderName(ladder_) + " for its cause (" + std::string(cause_.id()) + ")";
    out.push_back(record(Event::recoveryStarted, 4, "recovery started: " + why + which));
    out.back().reason = why;
    out.back().cause = cause_;
  } else {
    out.push_back(record(Event::roundStarted, 4, "round " + std::to_string(round_) + " of " +
                                                 std::to_string(spec_->recovery.maxRounds) + " starts"));
  }
  beginStep(out);
}

void RecoveryMachine::proceed(std::vector<Decision>& out, TimePoint, const std::string&) { runStep(out); }

void RecoveryMachine::rerunStep(std::vector<Decision>& out, TimePoint, const std::string& why) {
  resumed_ = false;
  out.push_back(record(Event::stepResumed, 4, "the interrupted " + stepName() + " left it unhealthy (" + why +
                                               "); running it again"));
  beginStep(out);
}

// ---- failover ------------------------------------------------------------------------

// The failover step of the ladder being climbed (a cause's ladder may have its own).
static const strategies::UnitSwitch* failoverOf(const std::vector<config::StepSpec>& ladder, size_t step) {
  if (step >= ladder.size() || !ladder[step].step) return nullptr;
  return ladder[step].step->unitSwitch();
}

void RecoveryMachine::enterFailover(std::vector<Decision>& out, TimePoint now, const std::string& why) {
  const auto* f = failoverOf(ladder(), step_);
  failbackAt_ = now + spec_->recovery.conditions.recheck;
  out.push_back(record(Event::failedOver, 4, "failed over to " + (f ? f->backupUnit : std::string("the backup")) + ": " + why +
                                             (f && f->failBack ? "; failing back once " + spec_->unit + "'s conditions hold"
                                                               : "; staying there (fail_back: false)")));
}

void RecoveryMachine::askFailback(std::vector<Decision>& out, TimePoint, const std::string&) {
  awaiting_ = Awaiting::conditions;
  out.push_back(Decision::of(Decision::Kind::checkConditions));
}

void RecoveryMachine::stayOnBackup(std::vector<Decision>&, TimePoint now, const std::string&) {
  failbackAt_ = now + spec_->recovery.conditions.recheck;
}

void RecoveryMachine::startFailback(std::vector<Decision>& out, TimePoint, const std::string&) {
  Decision d = Decision::of(Decision::Kind::failBack);
  d.step = step_;
  d.round = round_;
  awaiting_ = Awaiting::step;
  out.push_back(d);
}

void RecoveryMachine::awaitPrimary(std::vector<Decision>& out, TimePoint now, const std::string& why) {
  serving_ = Serving::primaryOnTrial;
  awaitVerification(out, now, why);
}

void RecoveryMachine::failedBack(std::vector<Decision>& out, TimePoint now, const std::string& why) {
  serving_ = Serving::primary;
  out.push_back(record(Event::failedBack, 5, "failed back to " + spec_->unit + ": " + why));
  forget(now);
}

void RecoveryMachine::verifyAfterRestart(std::vector<Decision>& out, TimePoint now, const std::string&) {
  resumed_ = true;
  out.push_back(record(Event::resumed, 4, "medic restarted while " + stepName() + " (attempt " + std::to_string(attempt_) +
                                         ", round " + std::to_string(round_) + ") was under way; verifying " +
                                         spec_->unit + " before going on"));
  awaitVerification(out, now, "");
}

void RecoveryMachine::backToBackup(std::vector<Decision>& out, TimePoint now, const std::string& why) {
  serving_ = Serving::backup;
  manual_ = false;  // an operator's fail-back has its verdict
  failbackAt_ = now + spec_->recovery.conditions.recheck;
  out.push_back(record(Event::failbackFailed, 3, spec_->unit + " did not verify after failing back (" + why +
                                                 "); back on the backup"));
  Decision d = Decision::of(Decision::Kind::returnToBackup);
  d.step = step_;
  out.push_back(d);
}

MachineSnapshot MachineSnapshot::agedBy(Duration elapsed) const {
  // Ages saturate: what happened ten years ago is as old as it needs to be, and the sum
  // never overflows however long medic was down.
  static constexpr Duration kOldest = std::chrono::hours(24 * 3650);
  elapsed = std::clamp(elapsed, Duration::zero(), kOldest);
  auto older = [elapsed](Duration d) { return std::min(d + elapsed, kOldest); };
  MachineSnapshot s = *this;
  auto less = [elapsed](Duration d) { return std::max(Duration::zero(), d - elapsed); };
  s.cooldownLeft = less(cooldownLeft);
  s.holdLeft = less(holdLeft);
  s.recheckLeft = less(recheckLeft);
  if (pauseLeft) s.pauseLeft = less(*pauseLeft);
  for (Duration& age : s.recoveryAges) age = older(age);
  s.sinceChange = older(sinceChange);
  return s;
}

MachineSnapshot RecoveryMachine::snapshot(TimePoint now) const {
  MachineSnapshot s;
  s.phase = phase_;
  s.round = round_;
  s.step = step_;
  s.attempt = attempt_;
  s.stepRunning = phase_ == Phase::recovering || phase_ == Phase::verifying;
  auto left = [now](TimePoint t) { return t > now ? t - now : Duration::zero(); };
  s.cooldownLeft = left(cooldownUntil_);
  s.holdLeft = left(holdUntil_);
  s.recheckLeft = left(recheckAt_);
  for (TimePoint t : recoveryStarts_) s.recoveryAges.push_back(now - t);
  s.sinceChange = now - changedAt_;
  s.paused = paused_.has_value();
  if (paused_ && paused_->until) s.pauseLeft = left(*paused_->until);
  if (paused_) s.pauseReason = paused_->reason;
  s.cause = cause_;
  s.ladder = ladder_;
  return s;
}

std::vector<Decision> RecoveryMachine::resume(const MachineSnapshot& s, TimePoint now) {
  round_ = s.round;
  cause_ = s.cause;
  // A reload while medic was down may have taken the ladder away: the default then.
  ladder_ = spec_->recovery.hasLadder(s.ladder) ? s.ladder : config::RecoverySpec::kDefaultLadder;
  step_ = std::min(s.step, ladder().empty() ? 0 : ladder().size() - 1);
  attempt_ = s.attempt;
  cooldownUntil_ = now + s.cooldownLeft;
  holdUntil_ = now + s.holdLeft;
  recheckAt_ = now + s.recheckLeft;
  recoveryStarts_.clear();
  for (Duration age : s.recoveryAges) recoveryStarts_.push_back(now - age);
  changedAt_ = now - s.sinceChange;
  paused_.reset();
  if (s.paused) paused_ = Pause{s.pauseLeft ? std::optional<TimePoint>(now + *s.pauseLeft) : std::nullopt, s.pauseReason};
  phase_ = s.phase;  // (restored as saved: the one write of the phase outside fire())
  std::vector<Decision> out;
  if (s.stepRunning && !ladder().empty()) {
    out = fire(E::restartedMidStep, now, "");
  } else if (phase_ == Phase::blocked) {
    awaiting_ = Awaiting::nothing;  // re-checked at recheckAt_
  }
  return out;
}

void RecoveryMachine::block(std::vector<Decision>& out, TimePoint now, const std::string& why) {
  recheckAt_ = now + recheck();
  out.push_back(record(Event::blocked, 4, "recovery held, no attempt used: " + why + "; checking again every " +
                                         formatDuration(recheck())));
}

void RecoveryMachine::unblock(std::vector<Decision>& out, TimePoint, const std::string&) {
  out.push_back(record(Event::unblocked, 5, "recovery conditions met again; going on with " + stepName()));
  runStep(out);
}

void RecoveryMachine::holdForFlapping(std::vector<Decision>& out, TimePoint, const std::string& why) {
  holdUntil_ = recoveryStarts_.front() + spec_->recovery.flapping.within;
  out.push_back(record(Event::flapping, 3, why + "; not recovering: " + std::to_string(recoveryStarts_.size()) +
                                          " recoveries within " + formatDuration(spec_->recovery.flapping.within) +
                                          " (the limit is " + std::to_string(spec_->recovery.flapping.maxRecoveries) +
                                          ")"));
}

void RecoveryMachine::releaseHold(std::vector<Decision>& out, TimePoint now, const std::string&) {
  out.push_back(record(Event::flappingOver, 5, "fewer recoveries within the flapping window now; recovery allowed again"));
  detector_.forgetFailures();
  settleUntil_ = now;
}

void RecoveryMachine::awaitVerification(std::vector<Decision>& out, TimePoint now, const std::string&) {
  awaiting_ = Awaiting::nothing;
  verifyDeadline_ = now + spec_->recovery.verifyGrace;
  verifyRetryAt_ = now;  // as soon as the unit is active
  auto more = onTimer(now);
  out.insert(out.end(), more.begin(), more.end());
}

void RecoveryMachine::nextAttempt(std::vector<Decision>& out, TimePoint, const std::string& why) {
  out.push_back(record(Event::stepFailed, 3, stepName() + " (attempt " + std::to_string(attempt_) + " of " +
                                             std::to_string(ladder()[step_].attempts) + ") did not heal it: " + why));
  ++attempt_;
  beginStep(out);
}

void RecoveryMachine::nextStep(std::vector<Decision>& out, TimePoint now, const std::string& why) {
  out.push_back(record(Event::stepFailed, 3, stepName() + " (attempt " + std::to_string(attempt_) + " of " +
                                             std::to_string(ladder()[step_].attempts) + ") did not heal it: " + why));
  skipToNextStep(out, now, why);
}

// A skipped step was recorded as such when it was reported (onStepFinished).
void RecoveryMachine::skipToNextStep(std::vector<Decision>& out, TimePoint, const std::string&) {
  ++step_;
  attempt_ = 1;
  beginStep(out);
}

void RecoveryMachine::startCooldown(std::vector<Decision>& out, TimePoint now, const std::string& why) {
  awaiting_ = Awaiting::nothing;
  cooldownUntil_ = now + spec_->recovery.cooldown;
  out.push_back(record(Event::roundFailed, 3, "round " + std::to_string(round_) + " of " +
                                              std::to_string(spec_->recovery.maxRounds) + " did not heal it (" + why +
                                              "); next round in " + formatDuration(spec_->recovery.cooldown)));
}

void RecoveryMachine::giveUp(std::vector<Decision>& out, TimePoint, const std::string& why) {
  awaiting_ = Awaiting::nothing;
  out.push_back(record(Event::gaveUp, 2, "gave up after " + std::to_string(round_) + (round_ == 1 ? " round" : " rounds") +
                                         " (" + why + "): manual intervention needed"));
}

void RecoveryMachine::recovered(std::vector<Decision>& out, TimePoint now, const std::string& why) {
  resumed_ = false;
  out.push_back(record(Event::recovered, 5, "recovered by " + stepName() + " (attempt " + std::to_string(attempt_) +
                                           ", round " + std::to_string(round_) + "): " + why));
  forget(now);
}

void RecoveryMachine::healedByItself(std::vector<Decision>& out, TimePoint now, const std::string&) {
  out.push_back(record(Event::healed, 5, "healthy again without medic's help"));
  forget(now);
}

void RecoveryMachine::noteDisabled(std::vector<Decision>& out, TimePoint, const std::string& why) {
  if (disabledNoted_) return;
  disabledNoted_ = true;
  out.push_back(record(Event::unhealthy, 4, why + (spec_->isHost() ? "; a host check alerts, it has no recovery of its own" : "; recovery is disabled for this service")));
}

// Success resets the counters (as the seeds do): the next failure starts a fresh ladder.
void RecoveryMachine::forget(TimePoint now) {
  endLadder();
  serving_ = Serving::primary;
  detector_.forgetFailures();
  disabledNoted_ = false;
  settleUntil_ = now + spec_->recovery.verifyGrace;
}

void RecoveryMachine::endLadder() {
  round_ = 0;
  step_ = 0;
  attempt_ = 0;
  awaiting_ = Awaiting::nothing;
  verifyRetryAt_.reset();
  manual_ = false;
  resumed_ = false;
}

// ---- what it depends on ----------------------------------------------------------------

std::vector<Decision> RecoveryMachine::onConditionsChanged(TimePoint now) {
  if (phase_ != Phase::blocked || awaiting_ == Awaiting::conditions) return {};
  recheckAt_ = std::min(recheckAt_, now);
  return onTimer(now);
}

std::vector<Decision> RecoveryMachine::onDependency(std::optional<strategies::Cause> down, TimePoint now) {
  dependency_ = std::move(down);
  if (phase_ != Phase::held) return {};
  if (dependency_) {
    cause_ = *dependency_;  // (another of them, or the same one saying more)
    return {};
  }
  if (awaiting_ == Awaiting::verification) return {};
  return fire(E::dependencyUp, now, "");
}

// Its own failure (`why`), put down to the dependency that is down: no step, no attempt,
// round or flapping count used; the ladder starts afresh if it comes to that.
void RecoveryMachine::holdForDependency(std::vector<Decision>& out, TimePoint, const std::string& why) {
  std::string what = why.empty() ? spec_->name + " still fails" : round_ > 0 ? stepName() + " did not heal it: " + why : why;
  endLadder();
  cause_ = *dependency_;
  out.push_back(record(Event::held, 4, what + "; put down to its dependency: " + dependency_->words + "; no recovery until " +
                                         dependency_->name + " is up again"));
  out.back().cause = cause_;
}

void RecoveryMachine::verifyWithDependency(std::vector<Decision>& out, TimePoint, const std::string&) {
  awaiting_ = Awaiting::verification;
  out.push_back(Decision::of(Decision::Kind::verify));
}

void RecoveryMachine::healedWithDependency(std::vector<Decision>& out, TimePoint now, const std::string& why) {
  out.push_back(record(Event::healed, 5, dependency_ ? "healthy again, without a step, while " + dependency_->words
                                                    : "healthy again now that " + cause_.name + " is up, without a step" +
                                                          (why.empty() ? "" : ": " + why)));
  forget(now);
}

void RecoveryMachine::stayHeld(std::vector<Decision>&, TimePoint, const std::string&) {}

// Its dependencies are up, and it still fails: onVerified takes it from here as a failure
// of its own.
void RecoveryMachine::leaveHold(std::vector<Decision>&, TimePoint, const std::string&) {}

// ---- an operator's commands ----------------------------------------------------------

void RecoveryMachine::notePaused(std::vector<Decision>& out, TimePoint, const std::string& why) {
  if (!paused_ || paused_->noted) return;  // once per pause, not on every failing result
  paused_->noted = true;
  out.push_back(record(Event::unhealthy, 4, why + "; not recovering: paused (" + paused_->reason + ")"));
}

// The failure streaks stay: on resume a service still failing is recovered at once.
void RecoveryMachine::stopForPause(std::vector<Decision>& out, TimePoint, const std::string& why) {
  out.push_back(record(Event::recoveryStopped, 4, "recovery stopped, paused (" + pauseReason() + ")" +
                                                  (why.empty() ? "" : ": " + why)));
  if (paused_) paused_->noted = true;
  endLadder();
}

void RecoveryMachine::startManual(std::vector<Decision>& out, TimePoint, const std::string& why) {
  endLadder();
  manual_ = true;
  round_ = 1;
  ladder_ = manualLadder_;  // an operator's step is named in the default ladder
  step_ = manualStep_;
  attempt_ = 1;
  out.push_back(record(Event::recoveryStarted, 4, "recovery started: " + stepName() + " " + why));
  out.back().reason = stepName() + " " + why;
  if (ladder_ == config::RecoverySpec::kDependencyRestart) out.back().cause = cause_;
  runStep(out);
}

void RecoveryMachine::manualFailed(std::vector<Decision>& out, TimePoint, const std::string& why) {
  out.push_back(record(Event::stepFailed, 3, "the requested " + stepName() + " did not heal it: " + why +
                                             "; medic's own recovery takes over if it keeps failing"));
  endLadder();
}

void RecoveryMachine::clearCounters(std::vector<Decision>& out, TimePoint now, const std::string& why) {
  endLadder();
  recoveryStarts_.clear();
  detector_.forgetAll();
  disabledNoted_ = false;
  if (paused_) paused_->noted = false;
  serving_ = Serving::primary;
  // A unit that is down now is looked at afresh, through the usual confirm window.
  watch_.rewatch(now);
  out.push_back(record(Event::reset, 5, "recovery state reset " + why + ": rounds, attempts, the flapping count and "
                                   "failure streaks start afresh"));
}

std::vector<Decision> RecoveryMachine::pause(std::optional<TimePoint> until, const std::string& reason, TimePoint now) {
  paused_ = Pause{until, reason};
  changedAt_ = now;
  std::string how = until ? "for " + formatDuration(*until - now) : "until resumed";
  std::vector<Decision> out{record(Event::paused, 5, "recovery paused " + how + ": " + reason +
                                                    (phase_ == Phase::recovering || phase_ == Phase::verifying
                                                         ? "; the step under way is let finish"
                                                         : ""))};
  auto more = fire(E::pause, now, "");
  out.insert(out.end(), more.begin(), more.end());
  return out;
}

std::vector<Decision> RecoveryMachine::unpause(const std::string& why, TimePoint now) {
  if (!paused_) return {};
  paused_.reset();
  changedAt_ = now;
  std::vector<Decision> out{record(Event::unpaused, 5, "recovery resumed: " + why)};
  if (phase_ != Phase::healthy) return out;
  // Still failing? Then recover now rather than after another threshold's worth of failures.
  strategies::Cause failing;
  if (auto check = detector_.failing()) failing = strategies::Cause::ofCheck(*check, "check '" + *check + "' is still failing");
  if (!failing.known() && watch_.unexpectedlyDown()) failing = watch_.causeOrFailed();
  if (failing.known()) {
    auto more = detectFailure(failing, now);
    out.insert(out.end(), more.begin(), more.end());
  }
  return out;
}

const std::string& RecoveryMachine::pauseReason() const {
  static const std::string none;
  return paused_ ? paused_->reason : none;
}

// Why an operator's reset or recover cannot act now; empty when it can.
std::string RecoveryMachine::busyReason() const {
  if (phase_ == Phase::recovering || phase_ == Phase::verifying || phase_ == Phase::failingBack)
    return "a recovery step is under way (" + stepName() + ", attempt " + std::to_string(attempt_) + ")";
  if (phase_ == Phase::failedOver)
    return "it runs on its backup unit after a failover; medic fails back once the recovery conditions hold "
           "(fail_back), or now with `medic recover " + spec_->name + " --step failback`";
  return {};
}

std::vector<Decision> RecoveryMachine::reset(const std::string& why, TimePoint now, std::string& refused) {
  refused = busyReason();
  if (!refused.empty() && phase_ != Phase::failedOver) refused += "; reset it once that has ended, or pause it";
  if (!refused.empty()) return {};
  return fire(E::reset, now, why);
}

std::vector<Decision> RecoveryMachine::failBackNow(const std::string& why, TimePoint now, std::string& refused) {
  refused = phase_ == Phase::failedOver ? "" : "it is not failed over (it is " + std::string(toString(phase_)) + ")";
  if (!refused.empty()) return {};
  return fire(E::manualFailback, now, why);
}

std::vector<Decision> RecoveryMachine::recoverNow(size_t step, const std::string& why, TimePoint now,
                                                  std::string& refused) {
  refused = step < spec_->recovery.ladder.size() ? busyReason() : "no such step in its recovery ladder";
  if (!refused.empty()) return {};
  manualStep_ = step;
  manualLadder_ = config::RecoverySpec::kDefaultLadder;
  return fire(E::manual, now, why);
}

std::vector<Decision> RecoveryMachine::afterDependencyRestart(const std::string& dependency, TimePoint now,
                                                              std::string& refused) {
  refused = spec_->recovery.dependencyRestart.empty() ? "it has no on_dependency_restart"
            : recoveryOff()                          ? "its recovery is disabled"
            : paused_                                ? "its recovery is paused (" + paused_->reason + ")"
            : phase_ != Phase::healthy && phase_ != Phase::held
                ? "it is " + std::string(toString(phase_)) + (busyReason().empty() ? "" : ": " + busyReason())
                : "";
  if (!refused.empty()) return {};
  dependency_.reset();  // (the one restarted is up, and the caller asks only when no other is down)
  cause_ = strategies::Cause::ofDependency(dependency, dependency + " was restarted by medic");
  manualStep_ = 0;
  manualLadder_ = config::RecoverySpec::kDependencyRestart;
  return fire(E::manual, now, "after " + dependency + "'s restart (on_dependency_restart: restart)");
}

// ---- detection -----------------------------------------------------------------------

bool RecoveryMachine::pastThreshold() const { return detector_.failing().has_value(); }

bool RecoveryMachine::allCriticalHealthy() const { return detector_.allHealthy().value_or(watch_.unit().up()); }

std::string RecoveryMachine::holdReason(TimePoint now) const {
  if (phase_ != Phase::healthy) return "recovery is already " + std::string(toString(phase_));
  // systemd is acting on the unit itself (Restart=, a job): acting too would make a storm.
  const strategies::UnitState& unit = watch_.unit();
  if (unit.moving() || unit.autoRestarting())
    return "systemd is already " + std::string(strategies::toString(unit.activeState)) + " it (" + unit.subState + ")";
  // Between states: when Restart='s timer fires, the unit is briefly inactive (dead) with
  // the start job already queued.
  if (unit.jobQueued) return "systemd has a job queued for it (" + std::string(strategies::toString(unit.activeState)) + ", " + unit.subState + ")";
  // A unit that is down cannot settle: waiting out its grace would only delay the obvious.
  if (now < settleUntil_ && !unit.down()) return "it was just (re)started and is within its grace";
  return {};
}

std::vector<Decision> RecoveryMachine::detectFailure(const strategies::Cause& cause, TimePoint now) {
  if (!holdReason(now).empty()) return {};
  cause_ = cause;
  ++failures_;
  return fire(E::failure, now, cause.words);
}

std::vector<Decision> RecoveryMachine::onCheckResult(const std::string& check, bool critical, Status status,
                                                     const std::string& message, TimePoint now,
                                                     const checks::RuleSpec* rule) {
  if (!critical) return {};  // non-critical checks degrade; they never recover
  bool reached = detector_.record(check, status);
  if ((phase_ == Phase::cooldown || phase_ == Phase::gaveUp || phase_ == Phase::blocked || phase_ == Phase::flapping ||
       phase_ == Phase::held) &&
      allCriticalHealthy())
    return fire(E::healed, now, "");
  if (phase_ != Phase::healthy || !reached) return {};
  std::string threshold = detector_.threshold();
  std::string words = "check '" + check + "' failed" + (threshold.empty() ? "" : " " + threshold) + ": " + message;
  return detectFailure(rule ? strategies::Cause::ofRule(rule->name, check, words) : strategies::Cause::ofCheck(check, words), now);
}

std::vector<Decision> RecoveryMachine::onUnitState(const strategies::UnitState& unit, TimePoint now) {
  bool onPurpose = serving_ == Serving::backup || phase_ == Phase::failedOver || phase_ == Phase::failingBack;
  bool cameUp = watch_.report(unit, onPurpose, awaiting_ == Awaiting::step, now);
  if (cameUp && phase_ == Phase::healthy) {
    // (Re)started by someone (systemd's Restart=, an operator): give it its grace.
    detector_.forgetFailures();
    settleUntil_ = now + spec_->recovery.verifyGrace;
  }
  if (phase_ == Phase::verifying) {
    // Down again while being verified: no need to wait out the grace.
    if (unit.failed()) {
      awaiting_ = Awaiting::nothing;
      return fire(E::verifyFailed, now, "systemd reports " + spec_->unit + " failed again");
    }
    return onTimer(now);  // a verification waits for the unit to be active
  }
  return {};
}

std::vector<Decision> RecoveryMachine::onFailedUnitRead(const strategies::UnitState& state, TimePoint now) {
  if (!watch_.resultRead(state)) return {};
  if (state.restartPolicy != "no" || phase_ != Phase::healthy) return {};
  watch_.take();
  return detectFailure(watch_.cause(), now);
}

std::vector<Decision> RecoveryMachine::onStepFinished(const strategies::StepOutcome& outcome, TimePoint now) {
  if (phase_ == Phase::failingBack && awaiting_ == Awaiting::step) {
    awaiting_ = Awaiting::nothing;
    if (outcome.result == strategies::StepOutcome::Result::done) return fire(E::failbackDone, now, outcome.detail);
    // The primary would not even start: stay on (go back to) the backup.
    return fire(E::failbackFailed, now, outcome.detail);
  }
  if (phase_ != Phase::recovering || awaiting_ != Awaiting::step) return {};
  awaiting_ = Awaiting::nothing;
  serving_ = outcome.primaryDown && outcome.result == strategies::StepOutcome::Result::done ? Serving::backup : Serving::primary;
  switch (outcome.result) {
    case strategies::StepOutcome::Result::done: return fire(E::stepDone, now, outcome.detail);
    case strategies::StepOutcome::Result::skipped: {
      // A step that cannot apply (reload without a reload command) is skipped, not failed.
      std::vector<Decision> out{record(Event::stepSkipped, 5, stepName() + " skipped: " + outcome.detail)};
      auto more = fire(E::stepSkipped, now, "skipped: " + outcome.detail);
      out.insert(out.end(), more.begin(), more.end());
      return out;
    }
    case strategies::StepOutcome::Result::failed: return fire(E::stepFailed, now, outcome.detail);
  }
  return {};
}

std::vector<Decision> RecoveryMachine::onVerified(bool passed, const std::string& message, TimePoint now) {
  if (phase_ == Phase::held) {
    if (awaiting_ != Awaiting::verification) return {};
    awaiting_ = Awaiting::nothing;
    auto out = fire(passed ? E::verifyPassed : E::verifyFailed, now, message);
    if (phase_ != Phase::healthy || passed) return out;
    // Its dependencies are up and it still fails: a failure of its own now.
    strategies::Cause own;
    if (watch_.unexpectedlyDown()) own = watch_.causeOrFailed();
    else if (auto check = detector_.failing())
      own = strategies::Cause::ofCheck(*check, "check '" + *check + "' still fails with its dependencies up: " + message);
    if (own.known()) {
      auto more = detectFailure(own, now);
      out.insert(out.end(), more.begin(), more.end());
    }
    return out;
  }
  if (phase_ != Phase::verifying || awaiting_ != Awaiting::verification) return {};
  awaiting_ = Awaiting::nothing;
  if (passed) return fire(E::verifyPassed, now, message);
  // Not yet: try again shortly while the grace lasts (a service may take a moment to listen).
  Duration retry = std::min<Duration>(std::chrono::seconds(1), spec_->recovery.verifyGrace / 5);
  if (now + retry < verifyDeadline_) {
    verifyRetryAt_ = now + retry;
    lastVerifyMessage_ = message;
    return {};
  }
  return fire(E::verifyFailed, now, message);
}

std::vector<Decision> RecoveryMachine::onConditions(bool met, const std::string& why, TimePoint now) {
  if (awaiting_ != Awaiting::conditions || (phase_ != Phase::recovering && phase_ != Phase::blocked && phase_ != Phase::failedOver))
    return {};
  if (phase_ == Phase::failedOver) {
    awaiting_ = Awaiting::nothing;
    return fire(met ? E::conditionsMet : E::conditionsNotMet, now, why);
  }
  awaiting_ = Awaiting::nothing;
  if (met) return fire(E::conditionsMet, now, why);
  if (phase_ == Phase::blocked) {  // still not met: look again later, say nothing new
    recheckAt_ = now + recheck();
    return {};
  }
  return fire(E::conditionsNotMet, now, why);
}

std::vector<Decision> RecoveryMachine::onTimer(TimePoint now) {
  if (paused_ && paused_->until && now >= *paused_->until) {
    auto out = unpause("the pause (" + paused_->reason + ") expired", now);
    auto more = onTimer(now);
    out.insert(out.end(), more.begin(), more.end());
    return out;
  }
  // Recoveries older than the flapping window no longer count.
  while (!recoveryStarts_.empty() && now - recoveryStarts_.front() >= spec_->recovery.flapping.within)
    recoveryStarts_.pop_front();
  switch (phase_) {
    case Phase::healthy:
      if (watch_.confirmedBy(now)) return detectFailure(watch_.cause(), now);
      return {};
    case Phase::verifying:
      if (awaiting_ == Awaiting::verification) return {};
      if (now >= verifyDeadline_) {
        std::string why = !watch_.unit().up() && serving_ != Serving::backup
                              ? spec_->unit + " is " + std::string(strategies::toString(watch_.unit().activeState)) + " after " + formatDuration(spec_->recovery.verifyGrace)
                              : lastVerifyMessage_;
        return fire(E::verifyFailed, now, why);
      }
      if (verifyRetryAt_ && now >= *verifyRetryAt_ && (watch_.unit().up() || serving_ == Serving::backup)) {
        verifyRetryAt_.reset();
        awaiting_ = Awaiting::verification;
        Decision d = Decision::of(Decision::Kind::verify);
        d.step = step_;
        d.attempt = attempt_;
        d.round = round_;
        return {d};
      }
      return {};
    case Phase::cooldown:
      if (now >= cooldownUntil_) return fire(E::cooldownOver, now, "");
      return {};
    case Phase::blocked:
      if (awaiting_ != Awaiting::conditions && now >= recheckAt_) {
        awaiting_ = Awaiting::conditions;
        return {Decision::of(Decision::Kind::checkConditions)};
      }
      return {};
    case Phase::flapping:
      if (now >= holdUntil_) return fire(E::holdOver, now, "");
      return {};
    case Phase::failedOver: {
      const auto* f = failoverOf(ladder(), step_);
      if (f && f->failBack && awaiting_ != Awaiting::conditions && now >= failbackAt_) return fire(E::failbackDue, now, "");
      return {};
    }
    case Phase::failingBack:
    case Phase::recovering:
    case Phase::gaveUp:
    case Phase::held:
      return {};
  }
  return {};
}

std::optional<TimePoint> RecoveryMachine::wakeAt() const {
  auto at = phaseWakeAt();
  if (paused_ && paused_->until && (!at || *paused_->until < *at)) return paused_->until;
  return at;
}

std::optional<TimePoint> RecoveryMachine::phaseWakeAt() const {
  switch (phase_) {
    case Phase::healthy:
      return watch_.confirmAt();
    case Phase::verifying: {
      if (awaiting_ == Awaiting::verification) return std::nullopt;
      TimePoint at = verifyDeadline_;
      if (verifyRetryAt_ && (watch_.unit().up() || serving_ == Serving::backup)) at = std::min(at, *verifyRetryAt_);
      return at;
    }
    case Phase::cooldown: return cooldownUntil_;
    case Phase::blocked: return awaiting_ == Awaiting::conditions ? std::nullopt : std::optional<TimePoint>(recheckAt_);
    case Phase::flapping: return holdUntil_;
    case Phase::failedOver: {
      const auto* f = failoverOf(ladder(), step_);
      if (!f || !f->failBack || awaiting_ == Awaiting::conditions) return std::nullopt;
      return failbackAt_;
    }
    default: return std::nullopt;
  }
}

}  // namespace medic::recovery
