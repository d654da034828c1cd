// The recovery state machine, driven event by event with time moved by hand: every row
// of its transition table, and the failure detection in front of it.
#include <gtest/gtest.h>

#include "recovery/recovery_machine.h"
#include "strategies/failover_step.h"
#include "strategies/reload_step.h"
#include "strategies/restart_step.h"
#include "strategies/restore_step.h"

using namespace medic;
using namespace medic::recovery;
using namespace std::chrono_literals;
using checks::Status;
using Kind = recovery::Decision::Kind;
using Result = strategies::StepOutcome::Result;

namespace {

const TimePoint t0 = TimePoint(1000s);

// What systemd reports of the unit: its states, and whether it has a job queued.
strategies::UnitState unit(std::string active, std::string sub, bool jobQueued = false) {
  strategies::UnitState u;
  u.activeState = strategies::parseActiveState(active);
  u.subState = std::move(sub);
  u.jobQueued = jobQueued;
  return u;
}

config::ServiceSpec service(int threshold = 3) {
  config::ServiceSpec s;
  s.name = "web";
  s.unit = "web.service";
  s.failureThreshold = threshold;
  s.recovery.verifyGrace = 10s;
  s.recovery.cooldown = 5min;
  s.recovery.maxRounds = 2;
  config::StepSpec restart{"restart", 2, 90s, std::make_shared<strategies::RestartStep>(std::vector<std::string>{}, ""), {}, {}};
  config::StepSpec reload{"reload", 1, 90s, std::make_shared<strategies::ReloadStep>(), {}, {}};
  s.recovery.ladder = {restart, reload};
  checks::CheckSpec health;
  health.name = "health";
  health.critical = true;
  s.checks = {health};
  return s;
}

std::vector<Kind> kinds(const std::vector<recovery::Decision>& ds) {
  std::vector<Kind> out;
  for (const auto& d : ds) out.push_back(d.kind);
  return out;
}

// A machine with its unit up and its critical check failing past the threshold.
struct Fixture {
  config::ServiceSpec spec;
  recovery::RecoveryMachine m;
  explicit Fixture(config::ServiceSpec s = service(1)) : spec(std::move(s)), m(spec) {
    m.onUnitState(unit("active", "running"), t0 - 1h);
  }
  std::vector<recovery::Decision> fail(TimePoint at) { return m.onCheckResult("health", true, Status::unhealthy, "HTTP 500", at); }
  std::vector<recovery::Decision> pass(TimePoint at) { return m.onCheckResult("health", true, Status::healthy, "HTTP 200", at); }
};

// ---- detection -------------------------------------------------------------------------

TEST(RecoveryMachine, StartsTheLadderAfterThresholdConsecutiveFailures) {
  Fixture f(service(3));
  EXPECT_TRUE(f.fail(t0).empty());
  EXPECT_TRUE(f.fail(t0 + 1s).empty());
  auto ds = f.fail(t0 + 2s);
  ASSERT_EQ(kinds(ds), (std::vector<Kind>{Kind::record, Kind::runStep}));
  EXPECT_EQ(toString(ds[0].event), "recovery-started");
  EXPECT_EQ(ds[0].priority, 4);
  EXPECT_EQ(ds[0].message, "recovery started: check 'health' failed 3 in a row: HTTP 500");
  EXPECT_EQ(ds[1].step, 0u);
  EXPECT_EQ(ds[1].attempt, 1);
  EXPECT_EQ(ds[1].round, 1);
  EXPECT_EQ(f.m.phase(), recovery::Phase::recovering);
}

TEST(RecoveryMachine, APassInBetweenStartsTheCountAgain) {
  Fixture f(service(2));
  f.fail(t0);
  f.pass(t0 + 1s);
  EXPECT_TRUE(f.fail(t0 + 2s).empty());
  EXPECT_FALSE(f.fail(t0 + 3s).empty());
}

TEST(RecoveryMachine, NonCriticalAndDegradedResultsNeverStartIt) {
  Fixture f;
  EXPECT_TRUE(f.m.onCheckResult("workers", false, Status::unhealthy, "0 processes", t0).empty());
  EXPECT_TRUE(f.m.onCheckResult("health", true, Status::degraded, "slow", t0).empty());
}

TEST(RecoveryMachine, FailureWindowCountsNOfTheLastM) {
  auto spec = service();
  spec.window = config::FailureWindow{2, 4};
  Fixture f(spec);
  f.fail(t0);
  f.pass(t0 + 1s);
  auto ds = f.fail(t0 + 2s);
  ASSERT_FALSE(ds.empty());
  EXPECT_EQ(ds[0].message, "recovery started: check 'health' failed 2 of the last 4: HTTP 500");
}

TEST(RecoveryMachine, AFailureOlderThanTheWindowNoLongerCounts) {
  auto spec = service();
  spec.window = config::FailureWindow{2, 4};
  Fixture f(spec);
  f.fail(t0);
  for (int i = 1; i <= 3; ++i) f.pass(t0 + i * 1s);
  EXPECT_TRUE(f.fail(t0 + 4s).empty()) << "the first failure is the fifth result back: out of the window";
  for (int i = 5; i <= 100; ++i) f.pass(t0 + i * 1s);
  EXPECT_TRUE(f.fail(t0 + 101s).empty());
  ASSERT_FALSE(f.fail(t0 + 102s).empty()) << "2 of the last 4";
}

TEST(RecoveryMachine, AFailedUnitWithoutRestartPolicyStartsItAtOnce) {
  Fixture f;
  f.m.onUnitState(unit("failed", "failed"), t0);
  strategies::UnitState read;
  read.activeState = strategies::ActiveState::failed;
  read.restartPolicy = "on-failure";
  EXPECT_TRUE(f.m.onFailedUnitRead(read, t0 + 1ms).empty()) << "systemd may still restart it";
  read.restartPolicy = "no";
  auto ds = f.m.onFailedUnitRead(read, t0 + 1ms);
  ASSERT_FALSE(ds.empty());
  EXPECT_EQ(ds[0].message, "recovery started: systemd reports web.service failed");
}

TEST(RecoveryMachine, AFailedUnitStartsItOnceItStaysFailed) {
  Fixture f;
  f.m.onUnitState(unit("failed", "failed"), t0);
  EXPECT_EQ(f.m.wakeAt(), t0 + recovery::RecoveryMachine::kDownConfirm);
  EXPECT_TRUE(f.m.onTimer(t0 + recovery::RecoveryMachine::kDownConfirm - 1ms).empty());
  EXPECT_FALSE(f.m.onTimer(t0 + recovery::RecoveryMachine::kDownConfirm).empty());
}

TEST(RecoveryMachine, LeavesTheUnitToSystemdWhileItAutoRestarts) {
  Fixture f;
  f.m.onUnitState(unit("failed", "failed"), t0);
  f.m.onUnitState(unit("activating", "auto-restart"), t0 + 2ms);
  EXPECT_TRUE(f.m.onTimer(t0 + 1s).empty());
  EXPECT_TRUE(f.fail(t0 + 1s).empty());
  EXPECT_EQ(f.m.holdReason(t0 + 1s), "systemd is already activating it (auto-restart)");
  f.m.onUnitState(unit("active", "running"), t0 + 3s);
  EXPECT_TRUE(f.fail(t0 + 4s).empty()) << "within the grace after systemd's restart";
  EXPECT_FALSE(f.fail(t0 + 14s).empty());
}

// Seen in a real systemd 252 (system case no_restart_storm): when Restart='s timer fires the
// unit reports inactive (dead) for a moment, with the start job already queued. Acting then
// made a second restart on top of systemd's.
TEST(RecoveryMachine, AnInactiveUnitWithAJobQueuedIsLeftToSystemd) {
  Fixture f;
  f.m.onUnitState(unit("failed", "failed"), t0);
  f.m.onUnitState(unit("activating", "auto-restart"), t0 + 2ms);
  f.m.onUnitState(unit("inactive", "dead", true), t0 + 2s);
  EXPECT_TRUE(f.fail(t0 + 2s).empty());
  EXPECT_TRUE(f.m.onTimer(t0 + 2s + recovery::RecoveryMachine::kDownConfirm).empty());
  EXPECT_EQ(f.m.holdReason(t0 + 2s), "systemd has a job queued for it (inactive, dead)");
  f.m.onUnitState(unit("active", "running"), t0 + 2s + 10ms);
  EXPECT_TRUE(f.fail(t0 + 3s).empty()) << "within the grace after systemd's restart";
}

TEST(RecoveryMachine, AUnitStoppedBehindItsBackIsStartedAgain) {
  Fixture f;
  f.m.onUnitState(unit("deactivating", "stop-sigterm"), t0);
  f.m.onUnitState(unit("inactive", "dead"), t0 + 5ms);
  auto ds = f.m.onTimer(t0 + 5ms + recovery::RecoveryMachine::kDownConfirm);
  ASSERT_FALSE(ds.empty());
  EXPECT_EQ(ds[0].message, "recovery started: web.service stopped although it was running (not by medic)");
}

TEST(RecoveryMachine, AnOperatorsRestartPassingThroughInactiveIsNotAFailure) {
  Fixture f;
  f.m.onUnitState(unit("inactive", "dead"), t0);
  f.m.onUnitState(unit("activating", "start"), t0 + 3ms);
  f.m.onUnitState(unit("active", "running"), t0 + 40ms);
  EXPECT_TRUE(f.m.onTimer(t0 + 1s).empty());
  EXPECT_FALSE(f.m.wakeAt());
}

TEST(RecoveryMachine, AUnitThatWasNeverUpIsNotStarted) {
  auto spec = service();
  recovery::RecoveryMachine m(spec);
  m.onUnitState(unit("inactive", "dead"), t0);
  EXPECT_FALSE(m.wakeAt());
}

TEST(RecoveryMachine, DisabledRecoveryRecordsOnceAndNeverActs) {
  auto spec = service(1);
  spec.recovery.enabled = false;
  Fixture f(spec);
  auto ds = f.fail(t0);
  ASSERT_EQ(kinds(ds), std::vector<Kind>{Kind::record});
  EXPECT_EQ(ds[0].message, "check 'health' failed: HTTP 500; recovery is disabled for this service");
  EXPECT_TRUE(f.fail(t0 + 1s).empty());
}

// ---- the ladder ------------------------------------------------------------------------

TEST(RecoveryLadder, ARestartThatHealsIsVerifiedByTheCriticalChecks) {
  Fixture f;
  f.fail(t0);
  auto ds = f.m.onStepFinished({Result::done, "done"}, t0 + 1s);
  EXPECT_EQ(f.m.phase(), recovery::Phase::verifying);
  ASSERT_EQ(kinds(ds), std::vector<Kind>{Kind::verify}) << "the unit is active: verify at once";
  ds = f.m.onVerified(true, "health: HTTP 200", t0 + 1s + 5ms);
  ASSERT_EQ(kinds(ds), std::vector<Kind>{Kind::record});
  EXPECT_EQ(toString(ds[0].event), "recovered");
  EXPECT_EQ(ds[0].message, "recovered by restart (attempt 1, round 1): health: HTTP 200");
  EXPECT_EQ(f.m.phase(), recovery::Phase::healthy);
  EXPECT_EQ(f.m.round(), 0) << "success resets the counters";
}

TEST(RecoveryLadder, VerificationWaitsForTheUnitToBeActive) {
  Fixture f;
  f.fail(t0);
  f.m.onUnitState(unit("activating", "start"), t0 + 1s);
  EXPECT_TRUE(f.m.onStepFinished({Result::done, "done"}, t0 + 1s).empty());
  auto ds = f.m.onUnitState(unit("active", "running"), t0 + 2s);
  EXPECT_EQ(kinds(ds), std::vector<Kind>{Kind::verify});
}

TEST(RecoveryLadder, AFailedVerificationIsRetriedWithinTheGrace) {
  Fixture f;
  f.fail(t0);
  f.m.onStepFinished({Result::done, "done"}, t0);
  EXPECT_TRUE(f.m.onVerified(false, "health: connection refused", t0 + 10ms).empty()) << "still starting up";
  EXPECT_EQ(f.m.wakeAt(), t0 + 10ms + 1s);
  EXPECT_EQ(kinds(f.m.onTimer(t0 + 10ms + 1s)), std::vector<Kind>{Kind::verify});
  EXPECT_FALSE(f.m.onVerified(true, "ok", t0 + 1020ms).empty());
  EXPECT_EQ(f.m.phase(), recovery::Phase::healthy);
}

TEST(RecoveryLadder, EscalatesToTheNextAttemptThenToReloadWhenRestartDidNotHeal) {
  Fixture f;
  f.fail(t0);
  ASSERT_EQ(kinds(f.m.onStepFinished({Result::done, "done"}, t0)), std::vector<Kind>{Kind::verify});
  // Failing this close to the end of the grace leaves no time for another try.
  auto ds = f.m.onVerified(false, "health: HTTP 500", t0 + 9500ms);
  ASSERT_EQ(kinds(ds), (std::vector<Kind>{Kind::record, Kind::runStep}));
  EXPECT_EQ(toString(ds[0].event), "step-failed");
  EXPECT_EQ(ds[0].message, "restart (attempt 1 of 2) did not heal it: health: HTTP 500");
  EXPECT_EQ(ds[1].step, 0u);
  EXPECT_EQ(ds[1].attempt, 2);
  EXPECT_EQ(ds[1].after, recovery::RecoveryMachine::kAttemptSpacing) << "a second attempt is spaced from the first";
  EXPECT_TRUE(f.m.onVerified(false, "x", t0 + 10s).empty()) << "a stale report changes nothing";
  ds = f.m.onStepFinished({Result::failed, "failed"}, t0 + 11s);
  ASSERT_EQ(kinds(ds), (std::vector<Kind>{Kind::record, Kind::runStep}));
  EXPECT_EQ(ds[0].message, "restart (attempt 2 of 2) did not heal it: failed");
  EXPECT_EQ(ds[1].step, 1u) << "on to reload";
  EXPECT_EQ(ds[1].attempt, 1);
  EXPECT_EQ(ds[1].after, Duration::zero()) << "a new step's first attempt runs at once";
}

TEST(RecoveryLadder, AReloadThatCannotApplyIsSkippedNotCounted) {
  auto spec = service(1);
  spec.recovery.ladder[0].attempts = 1;
  Fixture f(spec);
  f.fail(t0);
  f.m.onStepFinished({Result::failed, "failed"}, t0);  // restart: on to reload
  auto ds = f.m.onStepFinished({Result::skipped, "web.service has no reload command"}, t0 + 1s);
  ASSERT_EQ(ds.size(), 2u);
  EXPECT_EQ(toString(ds[0].event), "step-skipped");
  EXPECT_EQ(ds[0].priority, 5);
  EXPECT_EQ(ds[0].message, "reload skipped: web.service has no reload command");
  EXPECT_EQ(toString(ds[1].event), "round-failed");
  EXPECT_EQ(f.m.phase(), recovery::Phase::cooldown) << "the ladder is exhausted: round 1 is over";
}

TEST(RecoveryLadder, CoolsDownBetweenRoundsThenGivesUp) {
  auto spec = service(1);
  spec.recovery.ladder = {config::StepSpec{"restart", 1, 90s, std::make_shared<strategies::RestartStep>(std::vector<std::string>{}, ""), {}, {}}};
  Fixture f(spec);
  f.fail(t0);
  auto ds = f.m.onStepFinished({Result::failed, "timeout"}, t0 + 1s);
  ASSERT_EQ(kinds(ds), std::vector<Kind>{Kind::record});
  EXPECT_EQ(toString(ds[0].event), "round-failed");
  EXPECT_EQ(ds[0].message, "round 1 of 2 did not heal it (timeout); next round in 5m");
  EXPECT_EQ(f.m.phase(), recovery::Phase::cooldown);
  EXPECT_EQ(f.m.wakeAt(), t0 + 1s + 5min);
  EXPECT_TRUE(f.fail(t0 + 2min).empty()) << "no action during the cooldown";
  ds = f.m.onTimer(t0 + 1s + 5min);
  ASSERT_EQ(kinds(ds), (std::vector<Kind>{Kind::record, Kind::runStep}));
  EXPECT_EQ(ds[0].message, "round 2 of 2 starts");
  EXPECT_EQ(ds[1].round, 2);
  ds = f.m.onStepFinished({Result::failed, "timeout"}, t0 + 6min);
  ASSERT_EQ(kinds(ds), std::vector<Kind>{Kind::record});
  EXPECT_EQ(toString(ds[0].event), "gave-up");
  EXPECT_EQ(ds[0].priority, 2) << "crit: a human is needed";
  EXPECT_EQ(ds[0].message, "gave up after 2 rounds (timeout): manual intervention needed");
  EXPECT_EQ(f.m.phase(), recovery::Phase::gaveUp);
  EXPECT_TRUE(f.fail(t0 + 1h).empty()) << "no more automatic action";
  EXPECT_FALSE(f.m.wakeAt());
}

TEST(RecoveryLadder, AServiceThatHealsByItselfLeavesGaveUp) {
  auto spec = service(1);
  spec.successThreshold = 2;
  spec.recovery.maxRounds = 1;
  spec.recovery.ladder = {config::StepSpec{"restart", 1, 90s, std::make_shared<strategies::RestartStep>(std::vector<std::string>{}, ""), {}, {}}};
  Fixture f(spec);
  f.fail(t0);
  f.m.onStepFinished({Result::failed, "failed"}, t0);
  ASSERT_EQ(f.m.phase(), recovery::Phase::gaveUp);
  EXPECT_TRUE(f.pass(t0 + 1min).empty()) << "one pass is not yet success_threshold";
  auto ds = f.pass(t0 + 2min);
  ASSERT_EQ(kinds(ds), std::vector<Kind>{Kind::record});
  EXPECT_EQ(ds[0].message, "healthy again without medic's help");
  EXPECT_EQ(f.m.phase(), recovery::Phase::healthy);
}

TEST(RecoveryLadder, AServiceThatHealsDuringTheCooldownNeedsNoNextRound) {
  Fixture f;
  f.fail(t0);
  f.m.onStepFinished({Result::failed, "x"}, t0);
  f.m.onStepFinished({Result::failed, "x"}, t0);
  f.m.onStepFinished({Result::failed, "x"}, t0);
  ASSERT_EQ(f.m.phase(), recovery::Phase::cooldown);
  EXPECT_FALSE(f.pass(t0 + 1min).empty());
  EXPECT_EQ(f.m.phase(), recovery::Phase::healthy);
  EXPECT_TRUE(f.m.onTimer(t0 + 10min).empty()) << "the cooldown is over and forgotten";
}

TEST(RecoveryLadder, AUnitThatNeverComesUpFailsVerificationAtTheGrace) {
  Fixture f;
  f.fail(t0);
  f.m.onUnitState(unit("activating", "start"), t0);
  f.m.onStepFinished({Result::done, "done"}, t0);
  auto ds = f.m.onTimer(t0 + 10s);
  ASSERT_FALSE(ds.empty());
  EXPECT_EQ(ds[0].message, "restart (attempt 1 of 2) did not heal it: web.service is activating after 10s");
}

TEST(RecoveryLadder, ItsOwnRestartPassingThroughInactiveIsNotANewFailure) {
  Fixture f;
  f.fail(t0);  // restart running
  f.m.onUnitState(unit("inactive", "dead"), t0 + 2ms);
  f.m.onUnitState(unit("active", "running"), t0 + 9ms);
  f.m.onStepFinished({Result::done, "done"}, t0 + 10ms);
  f.m.onVerified(true, "ok", t0 + 20ms);
  EXPECT_EQ(f.m.phase(), recovery::Phase::healthy);
  EXPECT_FALSE(f.m.wakeAt());
}

}  // namespace

namespace {

config::ServiceSpec withConditions() {
  auto spec = service(1);
  spec.recovery.conditions.unitsActive = {"postgresql.service"};
  spec.recovery.conditions.recheck = 30s;
  return spec;
}

TEST(RecoveryConditions, AreCheckedBeforeTheStep) {
  Fixture f(withConditions());
  auto ds = f.fail(t0);
  ASSERT_EQ(kinds(ds), (std::vector<Kind>{Kind::record, Kind::checkConditions}));
  ds = f.m.onConditions(true, "", t0 + 5ms);
  ASSERT_EQ(kinds(ds), std::vector<Kind>{Kind::runStep});
  EXPECT_EQ(ds[0].attempt, 1);
}

TEST(RecoveryConditions, NotMetBlocksWithoutUsingAnAttemptAndRechecksOnATimer) {
  Fixture f(withConditions());
  f.fail(t0);
  auto ds = f.m.onConditions(false, "postgresql.service is inactive", t0);
  ASSERT_EQ(kinds(ds), std::vector<Kind>{Kind::record});
  EXPECT_EQ(toString(ds[0].event), "blocked");
  EXPECT_EQ(ds[0].message, "recovery held, no attempt used: postgresql.service is inactive; checking again every 30s");
  EXPECT_EQ(f.m.phase(), recovery::Phase::blocked);
  EXPECT_EQ(f.m.wakeAt(), t0 + 30s);
  EXPECT_EQ(kinds(f.m.onTimer(t0 + 30s)), std::vector<Kind>{Kind::checkConditions});
  EXPECT_TRUE(f.m.onConditions(false, "postgresql.service is inactive", t0 + 30s).empty()) << "said once, not again";
  EXPECT_EQ(kinds(f.m.onTimer(t0 + 60s)), std::vector<Kind>{Kind::checkConditions});
  ds = f.m.onConditions(true, "", t0 + 60s);
  ASSERT_EQ(kinds(ds), (std::vector<Kind>{Kind::record, Kind::runStep}));
  EXPECT_EQ(toString(ds[0].event), "unblocked");
  EXPECT_EQ(ds[1].attempt, 1) << "no attempt was used while blocked";
  EXPECT_EQ(ds[1].step, 0u);
}

TEST(RecoveryConditions, GateEachStepByItsOwnAndNeverAFailoverByTheServices) {
  // "The database is up" gates restarts; the failover exists for when it is not.
  auto spec = service(1);
  spec.recovery.conditions.unitsActive = {"postgresql.service"};
  config::StepSpec restore{"restore", 1, 90s, std::make_shared<strategies::RestoreStep>(strategies::RestoreSettings{}), {}, {}};
  restore.conditions = config::ConditionsSpec{};
  restore.conditions->minMemoryAvailablePercent = 10;
  restore.conditions->recheck = 5s;
  config::StepSpec failover{"failover", 1, 90s, std::make_shared<strategies::FailoverStep>(strategies::UnitSwitch{"web-backup.service", true}), {}, {}};
  spec.recovery.ladder = {spec.recovery.ladder[0], restore, failover};
  EXPECT_EQ(config::conditionsFor(spec.recovery, spec.recovery.ladder, 0), &spec.recovery.conditions) << "restart: the service's";
  EXPECT_EQ(config::conditionsFor(spec.recovery, spec.recovery.ladder, 1), &*spec.recovery.ladder[1].conditions) << "restore: its own";
  EXPECT_EQ(config::conditionsFor(spec.recovery, spec.recovery.ladder, 2), nullptr) << "failover: none of the service's";
  Fixture f(spec);
  ASSERT_EQ(kinds(f.fail(t0)), (std::vector<Kind>{Kind::record, Kind::checkConditions}));
  EXPECT_EQ(f.m.conditionsInForce(), &f.spec.recovery.conditions);
  ASSERT_EQ(kinds(f.m.onConditions(true, "", t0)), std::vector<Kind>{Kind::runStep});
  f.m.onStepFinished({Result::failed, "failed"}, t0 + 1s);  // attempt 2 of the restart
  f.m.onConditions(true, "", t0 + 1s);
  auto ds = f.m.onStepFinished({Result::failed, "failed"}, t0 + 2s);
  ASSERT_EQ(kinds(ds), (std::vector<Kind>{Kind::record, Kind::checkConditions})) << "on to restore, its own gate";
  EXPECT_EQ(f.m.conditionsInForce()->minMemoryAvailablePercent, 10);
  ds = f.m.onConditions(false, "only 5% memory available", t0 + 2s);
  EXPECT_EQ(ds[0].message, "recovery held, no attempt used: only 5% memory available; checking again every 5s");
  EXPECT_EQ(f.m.wakeAt(), t0 + 7s) << "its own recheck";
  f.m.onTimer(t0 + 7s);
  f.m.onConditions(true, "", t0 + 7s);
  ds = f.m.onStepFinished({Result::failed, "failed"}, t0 + 8s);
  ASSERT_EQ(kinds(ds), (std::vector<Kind>{Kind::record, Kind::runStep})) << "failover: no conditions asked";
  EXPECT_EQ(ds[1].step, 2u);
  f.m.onStepFinished({Result::done, "done", true}, t0 + 9s);
  f.m.onVerified(true, "ok", t0 + 9s);
  ASSERT_EQ(f.m.phase(), recovery::Phase::failedOver);
  EXPECT_EQ(f.m.conditionsInForce(), &f.spec.recovery.conditions) << "fail-back waits for the service's";
}

TEST(RecoveryConditions, AServiceThatHealsWhileBlockedNeedsNothing) {
  Fixture f(withConditions());
  f.fail(t0);
  f.m.onConditions(false, "postgresql.service is inactive", t0);
  EXPECT_FALSE(f.pass(t0 + 5s).empty());
  EXPECT_EQ(f.m.phase(), recovery::Phase::healthy);
}

TEST(Flapping, TooManyRecoveriesWithinTheWindowHoldRecovery) {
  auto spec = service(1);
  spec.recovery.flapping = {2, 1h};
  Fixture f(spec);
  for (int i = 0; i < 2; ++i) {
    TimePoint at = t0 + i * 10min;
    ASSERT_FALSE(f.fail(at).empty());
    f.m.onStepFinished({Result::done, "done"}, at);
    f.m.onVerified(true, "ok", at);
    ASSERT_EQ(f.m.phase(), recovery::Phase::healthy);
  }
  auto ds = f.fail(t0 + 30min);
  ASSERT_EQ(kinds(ds), std::vector<Kind>{Kind::record});
  EXPECT_EQ(toString(ds[0].event), "flapping");
  EXPECT_EQ(ds[0].message, "check 'health' failed: HTTP 500; not recovering: 2 recoveries within 1h (the limit is 2)");
  EXPECT_EQ(f.m.phase(), recovery::Phase::flapping);
  EXPECT_TRUE(f.fail(t0 + 40min).empty());
  EXPECT_EQ(f.m.wakeAt(), t0 + 1h) << "when the oldest recovery leaves the window";
  ds = f.m.onTimer(t0 + 1h);
  ASSERT_EQ(kinds(ds), std::vector<Kind>{Kind::record});
  EXPECT_EQ(toString(ds[0].event), "flapping-over");
  EXPECT_EQ(f.m.phase(), recovery::Phase::healthy);
  EXPECT_FALSE(f.fail(t0 + 1h + 1s).empty()) << "recovery is allowed again";
}

}  // namespace

namespace {

TEST(Resume, AStepUnderWayIsVerifiedFirstNotRepeatedBlindly) {
  Fixture before;
  before.fail(t0);  // restart under way when the agent dies
  recovery::MachineSnapshot saved = before.m.snapshot(t0 + 1s);
  EXPECT_TRUE(saved.stepRunning);

  Fixture after;  // a new agent, at a new time
  auto ds = after.m.resume(saved, t0 + 1h);
  ASSERT_EQ(kinds(ds), (std::vector<Kind>{Kind::record, Kind::verify}));
  EXPECT_EQ(toString(ds[0].event), "resumed");
  EXPECT_EQ(ds[0].message, "medic restarted while restart (attempt 1, round 1) was under way; verifying web.service before going on");
  ds = after.m.onVerified(true, "health: HTTP 200", t0 + 1h + 10ms);
  EXPECT_EQ(after.m.phase(), recovery::Phase::healthy) << "it had finished its work: nothing repeated";
}

TEST(Resume, AStepBeingVerifiedIsVerifiedAgainFirst) {
  Fixture before;
  before.fail(t0);
  before.m.onUnitState(unit("active", "running"), t0 + 1s);
  ASSERT_EQ(kinds(before.m.onStepFinished({Result::done, "done"}, t0 + 1s)), std::vector<Kind>{Kind::verify});
  recovery::MachineSnapshot saved = before.m.snapshot(t0 + 2s);  // the agent dies during the verification
  ASSERT_EQ(saved.phase, recovery::Phase::verifying);
  ASSERT_TRUE(saved.stepRunning);

  Fixture after;
  auto ds = after.m.resume(saved, t0 + 1h);
  ASSERT_EQ(kinds(ds), (std::vector<Kind>{Kind::record, Kind::verify})) << "never left waiting on a verification nobody runs";
  EXPECT_EQ(toString(ds[0].event), "resumed");
  after.m.onVerified(true, "health: HTTP 200", t0 + 1h + 10ms);
  EXPECT_EQ(after.m.phase(), recovery::Phase::healthy);
}

TEST(Resume, AnInterruptedStepThatLeftItUnhealthyIsRunAgain) {
  Fixture before;
  before.fail(t0);
  recovery::MachineSnapshot saved = before.m.snapshot(t0 + 1s);
  Fixture after;
  after.m.onUnitState(unit("inactive", "dead"), t0 + 1h);  // stopped by the step, never started again
  after.m.resume(saved, t0 + 1h);
  auto ds = after.m.onTimer(t0 + 1h + 10s);  // the grace passes, the unit never active
  ASSERT_EQ(kinds(ds), (std::vector<Kind>{Kind::record, Kind::runStep}));
  EXPECT_EQ(toString(ds[0].event), "step-resumed");
  EXPECT_EQ(ds[1].step, 0u);
  EXPECT_EQ(ds[1].attempt, 1) << "the same attempt, finished rather than counted twice";
}

TEST(Resume, CooldownsAndFlappingMemoryCarryOver) {
  auto spec = service(1);
  spec.recovery.ladder = {config::StepSpec{"restart", 1, 90s, std::make_shared<strategies::RestartStep>(std::vector<std::string>{}, ""), {}, {}}};
  Fixture before(spec);
  before.fail(t0);
  before.m.onStepFinished({Result::failed, "x"}, t0);
  ASSERT_EQ(before.m.phase(), recovery::Phase::cooldown);
  recovery::MachineSnapshot saved = before.m.snapshot(t0 + 1min);
  EXPECT_EQ(saved.cooldownLeft, 4min);
  ASSERT_EQ(saved.recoveryAges.size(), 1u);

  Fixture after(spec);
  EXPECT_TRUE(after.m.resume(saved, t0 + 2h).empty());
  EXPECT_EQ(after.m.phase(), recovery::Phase::cooldown);
  EXPECT_EQ(after.m.wakeAt(), t0 + 2h + 4min);
  EXPECT_EQ(after.m.round(), 1);
}

}  // namespace

namespace {

config::ServiceSpec withFailover(bool failBack = true) {
  auto spec = service(1);
  spec.recovery.ladder = {config::StepSpec{"failover", 1, 90s,
                                           std::make_shared<strategies::FailoverStep>(strategies::UnitSwitch{"web-backup.service", failBack}), {}, {}}};
  spec.recovery.conditions.recheck = 30s;
  return spec;
}

// Failed over and verified on the backup; at t0 + 30s the conditions hold and the failback
// starts: what the failback step's end is answered with.
std::vector<Decision> failBackFromTheBackup(Fixture& f) {
  f.fail(t0);
  f.m.onStepFinished({Result::done, "done", true}, t0);
  f.m.onVerified(true, "ok", t0);
  f.m.onTimer(t0 + 30s);
  return f.m.onConditions(true, "", t0 + 30s);
}

TEST(Failover, IsVerifiedByTheChecksAloneAndHoldsTheFailedOverPhase) {
  Fixture f(withFailover());
  f.fail(t0);
  f.m.onUnitState(unit("inactive", "dead"), t0 + 1s);  // the primary, stopped on purpose
  auto ds = f.m.onStepFinished({Result::done, "done", true}, t0 + 1s);
  ASSERT_EQ(kinds(ds), std::vector<Kind>{Kind::verify}) << "no waiting for the primary to be active";
  ds = f.m.onVerified(true, "health: HTTP 200", t0 + 1s);
  ASSERT_EQ(kinds(ds), std::vector<Kind>{Kind::record});
  EXPECT_EQ(toString(ds[0].event), "failed-over");
  EXPECT_EQ(ds[0].message, "failed over to web-backup.service: health: HTTP 200; failing back once web.service's conditions hold");
  EXPECT_EQ(f.m.phase(), recovery::Phase::failedOver);
  EXPECT_EQ(f.m.wakeAt(), t0 + 1s + 30s) << "the next failback attempt";
  EXPECT_TRUE(f.m.onTimer(t0 + 20s).empty()) << "the stopped primary is not a new failure";
}

TEST(Failover, FailsBackWhenTheConditionsHoldAndThePrimaryVerifies) {
  Fixture f(withFailover());
  f.fail(t0);
  f.m.onStepFinished({Result::done, "done", true}, t0);
  f.m.onVerified(true, "ok", t0);
  ASSERT_EQ(kinds(f.m.onTimer(t0 + 30s)), std::vector<Kind>{Kind::checkConditions});
  EXPECT_TRUE(f.m.onConditions(false, "database.service is inactive", t0 + 30s).empty());
  EXPECT_EQ(f.m.phase(), recovery::Phase::failedOver);
  ASSERT_EQ(kinds(f.m.onTimer(t0 + 60s)), std::vector<Kind>{Kind::checkConditions});
  EXPECT_EQ(kinds(f.m.onConditions(true, "", t0 + 60s)), std::vector<Kind>{Kind::failBack});
  f.m.onUnitState(unit("active", "running"), t0 + 61s);
  EXPECT_EQ(kinds(f.m.onStepFinished({Result::done, "done"}, t0 + 61s)), std::vector<Kind>{Kind::verify});
  auto ds = f.m.onVerified(true, "health: HTTP 200", t0 + 61s);
  ASSERT_EQ(kinds(ds), std::vector<Kind>{Kind::record});
  EXPECT_EQ(toString(ds[0].event), "failed-back");
  EXPECT_EQ(f.m.phase(), recovery::Phase::healthy);
}

TEST(Failover, GoesBackToTheBackupWhenThePrimaryDoesNotVerify) {
  Fixture f(withFailover());
  failBackFromTheBackup(f);
  f.m.onUnitState(unit("active", "running"), t0 + 31s);
  f.m.onStepFinished({Result::done, "done"}, t0 + 31s);
  auto ds = f.m.onVerified(false, "health: HTTP 500", t0 + 40s);  // at the end of the grace
  ASSERT_EQ(kinds(ds), (std::vector<Kind>{Kind::record, Kind::returnToBackup}));
  EXPECT_EQ(ds[0].message, "web.service did not verify after failing back (health: HTTP 500); back on the backup");
  EXPECT_EQ(f.m.phase(), recovery::Phase::failedOver);
  EXPECT_EQ(f.m.wakeAt(), t0 + 70s) << "tries again later";
}

TEST(Failover, APrimaryThatWillNotStartKeepsTheServiceOnTheBackup) {
  Fixture f(withFailover());
  ASSERT_EQ(kinds(failBackFromTheBackup(f)), std::vector<Kind>{Kind::failBack});
  auto ds = f.m.onStepFinished({Result::failed, "start of web.service: failed"}, t0 + 31s);
  ASSERT_EQ(kinds(ds), (std::vector<Kind>{Kind::record, Kind::returnToBackup}));
  EXPECT_EQ(ds[0].message, "web.service did not verify after failing back (start of web.service: failed); back on the backup");
  EXPECT_EQ(f.m.phase(), recovery::Phase::failedOver);
  EXPECT_EQ(f.m.wakeAt(), t0 + 61s) << "tries again later";
}

TEST(Failover, AnOperatorFailsBackOnDemandEvenWithoutFailBackAndItIsVerified) {
  Fixture f(withFailover(false));
  std::string refused;
  EXPECT_TRUE(f.m.failBackNow("requested by root", t0, refused).empty());
  EXPECT_EQ(refused, "it is not failed over (it is healthy)");
  f.fail(t0);
  f.m.onStepFinished({Result::done, "done", true}, t0);
  f.m.onVerified(true, "ok", t0);
  ASSERT_EQ(f.m.phase(), recovery::Phase::failedOver);
  f.m.recoverNow(0, "x", t0 + 1s, refused);
  EXPECT_NE(refused.find("or now with `medic recover web --step failback`"), std::string::npos) << refused;
  auto ds = f.m.failBackNow("requested by root", t0 + 2s, refused);
  EXPECT_EQ(refused, "");
  ASSERT_EQ(kinds(ds), (std::vector<Kind>{Kind::record, Kind::failBack})) << "no conditions asked: the operator decided";
  EXPECT_EQ(toString(ds[0].event), "failback-requested");
  EXPECT_TRUE(f.m.manualStepRunning()) << "its waiter waits for the verdict";
  f.m.onUnitState(unit("active", "running"), t0 + 3s);
  ASSERT_EQ(kinds(f.m.onStepFinished({Result::done, "done"}, t0 + 3s)), std::vector<Kind>{Kind::verify});
  ds = f.m.onVerified(false, "health: HTTP 500", t0 + 20s);
  ASSERT_EQ(kinds(ds), (std::vector<Kind>{Kind::record, Kind::returnToBackup})) << "not verified: back on the backup";
  EXPECT_FALSE(f.m.manualStepRunning());
  f.m.failBackNow("requested by root", t0 + 30s, refused);
  f.m.onUnitState(unit("active", "running"), t0 + 31s);
  f.m.onStepFinished({Result::done, "done"}, t0 + 31s);
  ds = f.m.onVerified(true, "health: HTTP 200", t0 + 31s);
  ASSERT_EQ(kinds(ds), std::vector<Kind>{Kind::record});
  EXPECT_EQ(toString(ds[0].event), "failed-back");
  EXPECT_EQ(f.m.phase(), recovery::Phase::healthy);
  EXPECT_FALSE(f.m.manualStepRunning());
}

TEST(Failover, WithoutFailBackItStaysOnTheBackup) {
  Fixture f(withFailover(false));
  f.fail(t0);
  f.m.onStepFinished({Result::done, "done", true}, t0);
  f.m.onVerified(true, "ok", t0);
  EXPECT_EQ(f.m.phase(), recovery::Phase::failedOver);
  EXPECT_FALSE(f.m.wakeAt());
}

}  // namespace

// ---- an operator's commands ------------------------------------------------------------

std::vector<std::string> events(const std::vector<recovery::Decision>& ds) {
  std::vector<std::string> out;
  for (const auto& d : ds)
    if (d.kind == Kind::record) out.push_back(std::string(toString(d.event)));
  return out;
}

TEST(OperatorPause, AFailureWhilePausedIsRecordedOnceAndNotActedOn) {
  Fixture f(service(1));
  auto ds = f.m.pause(std::nullopt, "maintenance (uid 0)", t0);
  ASSERT_EQ(events(ds), std::vector<std::string>{"paused"});
  EXPECT_EQ(ds[0].message, "recovery paused until resumed: maintenance (uid 0)");
  ds = f.fail(t0 + 1s);
  ASSERT_EQ(kinds(ds), std::vector<Kind>{Kind::record}) << "no step";
  EXPECT_EQ(ds[0].message, "check 'health' failed: HTTP 500; not recovering: paused (maintenance (uid 0))");
  EXPECT_TRUE(f.fail(t0 + 2s).empty()) << "said once, not on every failing run";
  EXPECT_EQ(f.m.phase(), recovery::Phase::healthy);
}

TEST(OperatorPause, ResumingAServiceStillFailingRecoversItAtOnce) {
  Fixture f(service(2));
  f.m.pause(std::nullopt, "maintenance", t0);
  f.fail(t0 + 1s);
  f.fail(t0 + 2s);
  auto ds = f.m.unpause("by uid 0", t0 + 3s);
  EXPECT_EQ(events(ds), (std::vector<std::string>{"unpaused", "recovery-started"}));
  EXPECT_EQ(kinds(ds).back(), Kind::runStep);
  EXPECT_EQ(f.m.phase(), recovery::Phase::recovering);
}

TEST(OperatorPause, ResumingAHealthyServiceDoesNothingElse) {
  Fixture f(service(2));
  f.m.pause(std::nullopt, "maintenance", t0);
  f.fail(t0 + 1s);
  f.pass(t0 + 2s);
  EXPECT_EQ(kinds(f.m.unpause("by uid 0", t0 + 3s)), std::vector<Kind>{Kind::record});
}

TEST(OperatorPause, LetsTheStepUnderWayFinishButStartsNothingAfterIt) {
  Fixture f(service(1));
  f.fail(t0);  // restart 1 runs
  f.m.pause(std::nullopt, "maintenance", t0 + 1s);
  EXPECT_EQ(f.m.phase(), recovery::Phase::recovering) << "a step under way cannot be taken back";
  auto ds = f.m.onStepFinished({Result::failed, "timeout"}, t0 + 2s);
  ASSERT_EQ(events(ds), std::vector<std::string>{"recovery-stopped"});
  EXPECT_EQ(kinds(ds), std::vector<Kind>{Kind::record}) << "no second attempt";
  EXPECT_EQ(f.m.phase(), recovery::Phase::healthy);
  EXPECT_EQ(f.m.round(), 0);
}

TEST(OperatorPause, AVerifiedStepStillCountsAsRecovered) {
  Fixture f(service(1));
  f.fail(t0);
  f.m.pause(std::nullopt, "maintenance", t0 + 1s);
  f.m.onStepFinished({Result::done, "done"}, t0 + 2s);
  EXPECT_EQ(events(f.m.onVerified(true, "ok", t0 + 2s)), std::vector<std::string>{"recovered"});
}

TEST(OperatorPause, StopsACooldownAtOnce) {
  auto spec = service(1);
  spec.recovery.ladder = {config::StepSpec{"restart", 1, 90s, std::make_shared<strategies::RestartStep>(std::vector<std::string>{}, ""), {}, {}}};
  Fixture f(spec);
  f.fail(t0);
  f.m.onStepFinished({Result::failed, "timeout"}, t0 + 1s);
  ASSERT_EQ(f.m.phase(), recovery::Phase::cooldown);
  EXPECT_EQ(events(f.m.pause(std::nullopt, "maintenance", t0 + 2s)),
            (std::vector<std::string>{"paused", "recovery-stopped"}));
  EXPECT_EQ(f.m.phase(), recovery::Phase::healthy);
  EXPECT_FALSE(f.m.wakeAt()) << "no next round is due";
}

TEST(OperatorPause, ATimedPauseEndsByItselfAndRecoversWhatStillFails) {
  Fixture f(service(1));
  f.m.pause(t0 + 30min, "deploy", t0);
  EXPECT_EQ(f.m.wakeAt(), t0 + 30min);
  f.fail(t0 + 1min);
  EXPECT_TRUE(f.m.onTimer(t0 + 29min).empty());
  auto ds = f.m.onTimer(t0 + 30min);
  ASSERT_EQ(events(ds), (std::vector<std::string>{"unpaused", "recovery-started"}));
  EXPECT_EQ(ds[0].message, "recovery resumed: the pause (deploy) expired");
  EXPECT_FALSE(f.m.paused());
}

TEST(OperatorPause, SurvivesARestartWithWhatIsLeftOfIt) {
  Fixture f(service(1));
  f.m.pause(t0 + 30min, "deploy", t0);
  auto snap = f.m.snapshot(t0 + 10min);
  EXPECT_TRUE(snap.paused);
  ASSERT_TRUE(snap.pauseLeft);
  EXPECT_EQ(*snap.pauseLeft, 20min);
  recovery::RecoveryMachine again(f.spec);
  again.resume(snap, t0 + 2h);
  EXPECT_TRUE(again.paused());
  EXPECT_EQ(again.pausedUntil(), t0 + 2h + 20min);
  EXPECT_EQ(again.pauseReason(), "deploy");
}

TEST(Resume, TheSavedStateAgesByTheTimeSinceItWasWritten) {
  recovery::MachineSnapshot s;
  s.cooldownLeft = 5min;
  s.holdLeft = 30s;
  s.pauseLeft = 20min;
  s.recoveryAges = {10min};
  s.sinceChange = 1min;
  recovery::MachineSnapshot later = s.agedBy(2min);
  EXPECT_EQ(later.cooldownLeft, 3min);
  EXPECT_EQ(later.holdLeft, Duration::zero()) << "over while medic was down";
  EXPECT_EQ(later.pauseLeft, std::optional<Duration>(18min));
  EXPECT_EQ(later.recoveryAges, std::vector<Duration>{12min}) << "the flapping window moves on too";
  EXPECT_EQ(later.sinceChange, 3min);
  s.pauseLeft.reset();
  EXPECT_FALSE(s.agedBy(1h).pauseLeft) << "a pause until resumed stays one";
}

TEST(OperatorReset, LeavesGaveUpAndLetsTheNextFailuresStartAFreshLadder) {
  auto spec = service(2);
  spec.recovery.maxRounds = 1;
  spec.recovery.ladder = {config::StepSpec{"restart", 1, 90s, std::make_shared<strategies::RestartStep>(std::vector<std::string>{}, ""), {}, {}}};
  Fixture f(spec);
  f.fail(t0);
  f.fail(t0 + 1s);
  f.m.onStepFinished({Result::failed, "timeout"}, t0 + 2s);
  ASSERT_EQ(f.m.phase(), recovery::Phase::gaveUp);
  std::string refused;
  auto ds = f.m.reset("by uid 0", t0 + 3s, refused);
  EXPECT_TRUE(refused.empty());
  ASSERT_EQ(events(ds), std::vector<std::string>{"reset"});
  EXPECT_EQ(f.m.phase(), recovery::Phase::healthy);
  EXPECT_TRUE(f.fail(t0 + 4s).empty()) << "failure streaks start afresh";
  auto again = f.fail(t0 + 5s);
  EXPECT_EQ(events(again), std::vector<std::string>{"recovery-started"});
  EXPECT_EQ(f.m.round(), 1);
}

TEST(OperatorReset, ClearsTheFlappingCount) {
  auto spec = service(1);
  spec.recovery.flapping.maxRecoveries = 1;
  spec.recovery.flapping.within = 1h;
  Fixture f(spec);
  f.fail(t0);
  f.m.onStepFinished({Result::done, "done"}, t0);
  f.m.onVerified(true, "ok", t0);
  f.fail(t0 + 20s);
  ASSERT_EQ(f.m.phase(), recovery::Phase::flapping);
  std::string refused;
  f.m.reset("by uid 0", t0 + 21s, refused);
  EXPECT_EQ(f.m.phase(), recovery::Phase::healthy);
  EXPECT_EQ(events(f.fail(t0 + 40s)), std::vector<std::string>{"recovery-started"});
}

TEST(OperatorReset, IsRefusedWhileAStepRuns) {
  Fixture f(service(1));
  f.fail(t0);
  std::string refused;
  EXPECT_TRUE(f.m.reset("by uid 0", t0 + 1s, refused).empty());
  EXPECT_EQ(refused, "a recovery step is under way (restart, attempt 1); reset it once that has ended, or pause it");
  EXPECT_EQ(f.m.phase(), recovery::Phase::recovering);
}

TEST(OperatorRecover, RunsTheNamedStepNowWithoutTheLadderBeforeIt) {
  auto spec = service(3);
  spec.recovery.conditions.unitsActive = {"db.service"};
  Fixture f(spec);
  std::string refused;
  auto ds = f.m.recoverNow(1, "requested by uid 0", t0, refused);
  ASSERT_TRUE(refused.empty());
  ASSERT_EQ(kinds(ds), (std::vector<Kind>{Kind::record, Kind::runStep})) << "no conditions: the operator decided";
  EXPECT_EQ(ds[0].message, "recovery started: reload requested by uid 0");
  EXPECT_EQ(ds[1].step, 1u);
  EXPECT_TRUE(f.m.manualStepRunning());
  f.m.onStepFinished({Result::done, "done"}, t0 + 1s);
  EXPECT_EQ(events(f.m.onVerified(true, "ok", t0 + 1s)), std::vector<std::string>{"recovered"});
  EXPECT_FALSE(f.m.manualStepRunning());
}

TEST(OperatorRecover, AFailedRequestedStepDoesNotEscalateByItself) {
  Fixture f(service(3));
  std::string refused;
  f.m.recoverNow(0, "requested by uid 0", t0, refused);
  auto ds = f.m.onStepFinished({Result::failed, "timeout"}, t0 + 1s);
  ASSERT_EQ(kinds(ds), std::vector<Kind>{Kind::record});
  EXPECT_EQ(ds[0].message,
            "the requested restart did not heal it: timeout; medic's own recovery takes over if it keeps failing");
  EXPECT_EQ(f.m.phase(), recovery::Phase::healthy);
  EXPECT_FALSE(f.m.manualStepRunning());
}

TEST(OperatorRecover, WorksWhilePausedButNotDuringAStepNorForAStepNotInTheLadder) {
  Fixture f(service(1));
  f.m.pause(std::nullopt, "maintenance", t0);
  std::string refused;
  EXPECT_FALSE(f.m.recoverNow(0, "requested", t0 + 1s, refused).empty()) << "the operator's own request is not held";
  EXPECT_TRUE(f.m.recoverNow(0, "requested", t0 + 2s, refused).empty());
  EXPECT_EQ(refused, "a recovery step is under way (restart, attempt 1)");
  refused.clear();
  EXPECT_TRUE(f.m.recoverNow(7, "requested", t0 + 2s, refused).empty());
  EXPECT_EQ(refused, "no such step in its recovery ladder");
}

// ---- the rows no other test takes ----------------------------------------------------
// unit.every_transition_is_taken fails when a row of kTransitions is taken by no test.

namespace {

config::ServiceSpec oneStep(int rounds) {
  auto spec = service(1);
  spec.recovery.maxRounds = rounds;
  spec.recovery.ladder = {config::StepSpec{"restart", 1, 90s, std::make_shared<strategies::RestartStep>(std::vector<std::string>{}, ""), {}, {}}};
  return spec;
}

// The verification of the step under way fails at the end of its grace.
std::vector<recovery::Decision> verificationFails(Fixture& f, TimePoint at) {
  f.m.onStepFinished({Result::done, "done"}, at);
  return f.m.onVerified(false, "health: HTTP 500", at + 9500ms);
}

void reachBlocked(Fixture& f) {
  f.fail(t0);
  f.m.onConditions(false, "postgresql.service is inactive", t0);
  ASSERT_EQ(f.m.phase(), recovery::Phase::blocked);
}

void reachCooldown(Fixture& f) {
  f.fail(t0);
  f.m.onStepFinished({Result::failed, "timeout"}, t0 + 1s);
  ASSERT_EQ(f.m.phase(), recovery::Phase::cooldown);
}

void reachGaveUp(Fixture& f) {
  f.fail(t0);
  f.m.onStepFinished({Result::failed, "timeout"}, t0 + 1s);
  ASSERT_EQ(f.m.phase(), recovery::Phase::gaveUp);
}

void reachFlapping(Fixture& f) {
  f.fail(t0);
  f.m.onStepFinished({Result::done, "done"}, t0);
  f.m.onVerified(true, "ok", t0);
  f.fail(t0 + 20s);
  ASSERT_EQ(f.m.phase(), recovery::Phase::flapping);
}

config::ServiceSpec flappingAfterOne() {
  auto spec = service(1);
  spec.recovery.flapping = {1, 1h};
  return spec;
}

}  // namespace

TEST(RecoveryConditions, APauseWhileTheyAreCheckedStopsTheRecoveryWhateverTheyAnswer) {
  for (bool met : {true, false}) {
    Fixture f(withConditions());
    f.fail(t0);  // conditions being evaluated
    f.m.pause(std::nullopt, "maintenance", t0 + 1ms);
    auto ds = f.m.onConditions(met, met ? "" : "postgresql.service is inactive", t0 + 2ms);
    EXPECT_EQ(events(ds), std::vector<std::string>{"recovery-stopped"}) << (met ? "met" : "not met");
    EXPECT_EQ(kinds(ds), std::vector<Kind>{Kind::record}) << "no step runs";
    EXPECT_EQ(f.m.phase(), recovery::Phase::healthy);
  }
}

TEST(RecoveryLadder, ASkippedStepGoesOnToTheNextWithoutCountingAsFailed) {
  auto spec = service(1);
  spec.recovery.ladder = {config::StepSpec{"reload", 1, 90s, std::make_shared<strategies::ReloadStep>(), {}, {}},
                          config::StepSpec{"restart", 1, 90s, std::make_shared<strategies::RestartStep>(std::vector<std::string>{}, ""), {}, {}}};
  Fixture f(spec);
  f.fail(t0);
  auto ds = f.m.onStepFinished({Result::skipped, "web.service has no reload command"}, t0 + 1s);
  EXPECT_EQ(events(ds), std::vector<std::string>{"step-skipped"}) << "skipped, and not also 'failed'";
  ASSERT_EQ(kinds(ds).back(), Kind::runStep);
  EXPECT_EQ(ds.back().step, 1u);
  EXPECT_EQ(f.m.phase(), recovery::Phase::recovering);
}

TEST(OperatorRecover, ARequestedStepThatIsSkippedOrNotVerifiedEndsTheRequest) {
  {
    Fixture f;
    std::string refused;
    f.m.recoverNow(1, "requested by root", t0, refused);  // reload
    ASSERT_TRUE(refused.empty());
    auto ds = f.m.onStepFinished({Result::skipped, "web.service has no reload command"}, t0 + 1s);
    EXPECT_EQ(f.m.phase(), recovery::Phase::healthy);
    EXPECT_NE(kinds(ds).back(), Kind::runStep) << "never escalated by itself";
  }
  {
    Fixture f;
    std::string refused;
    f.m.recoverNow(0, "requested by root", t0, refused);
    auto ds = verificationFails(f, t0);
    EXPECT_EQ(f.m.phase(), recovery::Phase::healthy);
    EXPECT_EQ(events(ds).back(), "step-failed");
    EXPECT_NE(kinds(ds).back(), Kind::runStep);
  }
}

TEST(OperatorPause, AStepEndingSkippedOrUnverifiedWhilePausedStopsTheRecovery) {
  {
    Fixture f;
    f.fail(t0);
    f.m.pause(std::nullopt, "maintenance", t0 + 1ms);
    auto ds = f.m.onStepFinished({Result::skipped, "web.service is inactive, not running"}, t0 + 1s);
    EXPECT_EQ(events(ds).back(), "recovery-stopped");
    EXPECT_EQ(f.m.phase(), recovery::Phase::healthy);
  }
  {
    Fixture f;
    f.fail(t0);
    f.m.pause(std::nullopt, "maintenance", t0 + 1ms);
    auto ds = verificationFails(f, t0);
    EXPECT_EQ(events(ds), std::vector<std::string>{"recovery-stopped"});
    EXPECT_EQ(f.m.phase(), recovery::Phase::healthy);
  }
}

TEST(RecoveryLadder, AnUnverifiedLastStepEndsTheRoundInACooldownThenGivesUp) {
  Fixture f(oneStep(2));
  f.fail(t0);
  auto ds = verificationFails(f, t0);
  EXPECT_EQ(events(ds), std::vector<std::string>{"round-failed"});
  EXPECT_EQ(f.m.phase(), recovery::Phase::cooldown);
  f.m.onTimer(*f.m.wakeAt());
  ds = verificationFails(f, *f.m.wakeAt() + 1min);
  EXPECT_EQ(events(ds), std::vector<std::string>{"gave-up"});
  EXPECT_EQ(f.m.phase(), recovery::Phase::gaveUp);
}

TEST(Flapping, AServiceThatHealsWhileHeldIsHealthyAgain) {
  Fixture f(flappingAfterOne());
  reachFlapping(f);
  EXPECT_EQ(events(f.pass(t0 + 30s)), std::vector<std::string>{"healed"});
  EXPECT_EQ(f.m.phase(), recovery::Phase::healthy);
}

TEST(Failover, APausedServiceStaysOnTheBackupWhenItsFailBackIsDue) {
  Fixture f(withFailover());
  f.fail(t0);
  f.m.onStepFinished({Result::done, "done", true}, t0);
  f.m.onVerified(true, "ok", t0);
  ASSERT_EQ(f.m.phase(), recovery::Phase::failedOver);
  f.m.pause(std::nullopt, "maintenance", t0 + 1s);
  auto ds = f.m.onTimer(t0 + 30s);
  EXPECT_EQ(f.m.phase(), recovery::Phase::failedOver);
  for (auto k : kinds(ds)) EXPECT_NE(k, Kind::checkConditions) << "no fail-back is tried while paused";
}

TEST(OperatorPause, StopsABlockedRecoveryAtOnce) {
  Fixture f(withConditions());
  reachBlocked(f);
  EXPECT_EQ(events(f.m.pause(std::nullopt, "maintenance", t0 + 1s)), (std::vector<std::string>{"paused", "recovery-stopped"}));
  EXPECT_EQ(f.m.phase(), recovery::Phase::healthy);
  EXPECT_FALSE(f.m.wakeAt()) << "no recheck is due";
}

TEST(OperatorReset, WorksFromHealthyBlockedAndCooldown) {
  {
    Fixture f;
    std::string refused;
    EXPECT_EQ(events(f.m.reset("by uid 0", t0, refused)), std::vector<std::string>{"reset"});
    EXPECT_TRUE(refused.empty());
  }
  {
    Fixture f(withConditions());
    reachBlocked(f);
    std::string refused;
    EXPECT_EQ(events(f.m.reset("by uid 0", t0 + 1s, refused)), std::vector<std::string>{"reset"});
    EXPECT_EQ(f.m.phase(), recovery::Phase::healthy);
  }
  {
    Fixture f(oneStep(2));
    reachCooldown(f);
    std::string refused;
    EXPECT_EQ(events(f.m.reset("by uid 0", t0 + 2s, refused)), std::vector<std::string>{"reset"});
    EXPECT_EQ(f.m.phase(), recovery::Phase::healthy);
    EXPECT_FALSE(f.m.wakeAt()) << "no next round";
  }
}

TEST(OperatorRecover, RunsTheStepFromBlockedCooldownGaveUpAndFlapping) {
  auto recoverFrom = [](Fixture& f, TimePoint at) {
    std::string refused;
    auto ds = f.m.recoverNow(0, "requested by root", at, refused);
    EXPECT_TRUE(refused.empty()) << refused;
    EXPECT_EQ(f.m.phase(), recovery::Phase::recovering);
    ASSERT_FALSE(ds.empty());
    EXPECT_EQ(ds.back().kind, Kind::runStep);
    EXPECT_TRUE(f.m.manualStepRunning());
  };
  {
    Fixture f(withConditions());
    reachBlocked(f);
    recoverFrom(f, t0 + 1s);
  }
  {
    Fixture f(oneStep(2));
    reachCooldown(f);
    recoverFrom(f, t0 + 2s);
  }
  {
    Fixture f(oneStep(1));
    reachGaveUp(f);
    recoverFrom(f, t0 + 2s);
  }
  {
    Fixture f(flappingAfterOne());
    reachFlapping(f);
    recoverFrom(f, t0 + 30s);
  }
}

TEST(FailureDetector, CountsFailuresInARowOrWithinAWindowAndPassesInARow) {
  auto spec = service(3);
  spec.successThreshold = 2;
  recovery::FailureDetector d(spec);
  EXPECT_FALSE(d.record("health", Status::unhealthy));
  EXPECT_FALSE(d.record("health", Status::unhealthy));
  EXPECT_FALSE(d.record("health", Status::degraded)) << "a warning breaks the run";
  EXPECT_FALSE(d.failing());
  for (int i = 0; i < 2; ++i) d.record("health", Status::unhealthy);
  EXPECT_TRUE(d.record("health", Status::unhealthy));
  EXPECT_EQ(d.failing(), "health");
  EXPECT_EQ(d.threshold(), "3 in a row");
  d.record("health", Status::healthy);
  EXPECT_EQ(d.allHealthy(), false) << "success_threshold 2";
  d.record("health", Status::healthy);
  EXPECT_EQ(d.allHealthy(), true);

  spec.window = config::FailureWindow{2, 4};
  recovery::FailureDetector w(spec);
  EXPECT_FALSE(w.record("health", Status::unhealthy));
  EXPECT_FALSE(w.record("health", Status::healthy));
  EXPECT_TRUE(w.record("health", Status::unhealthy)) << "2 of the last 4";
  EXPECT_EQ(w.threshold(), "2 of the last 4");
  w.forgetFailures();
  EXPECT_FALSE(w.failing());
}

TEST(FailureDetector, AReloadRejudgesWhatItKeptByTheNewThresholdsAndCriticalChecks) {
  auto spec = service(3);
  checks::CheckSpec db;
  db.name = "db";
  db.critical = true;
  spec.checks.push_back(db);
  recovery::FailureDetector d(spec);
  d.record("health", Status::healthy);
  EXPECT_EQ(d.allHealthy(), false) << "db has not passed yet";
  d.record("db", Status::unhealthy);
  d.record("db", Status::unhealthy);
  EXPECT_FALSE(d.failing());

  auto lower = spec;  // failure_threshold 3 -> 2: the two failures kept are now past it
  lower.failureThreshold = 2;
  d.setSpec(lower);
  EXPECT_EQ(d.failing(), "db");
  auto onlyHealth = lower;  // db is no longer critical: health alone decides
  onlyHealth.checks.pop_back();
  d.setSpec(onlyHealth);
  EXPECT_EQ(d.allHealthy(), true);
  d.record("db", Status::healthy);  // a result under way across the reload: not counted
  EXPECT_EQ(d.allHealthy(), true);
  auto stricter = onlyHealth;  // success_threshold 1 -> 2: one pass is no longer enough
  stricter.successThreshold = 2;
  d.setSpec(stricter);
  EXPECT_EQ(d.allHealthy(), false);
  d.record("health", Status::healthy);
  EXPECT_EQ(d.allHealthy(), true);
  d.forgetAll();
  EXPECT_EQ(d.allHealthy(), false);
  EXPECT_FALSE(d.failing());
}

// ---- ladders chosen by cause ---------------------------------------------------------------

namespace {

// web with a `config` check: restore first when it fails; restart once (then no more) after an
// OOM kill; anything else climbs the default restart -> reload.
config::ServiceSpec serviceWithCauseLadders() {
  config::ServiceSpec s = service(1);
  checks::CheckSpec config;
  config.name = "config";
  s.checks.push_back(config);
  config::StepSpec restore{"restore", 1, 90s, std::make_shared<strategies::RestoreStep>(strategies::RestoreSettings{}), {}, {}};
  config::StepSpec restart{"restart", 1, 90s, std::make_shared<strategies::RestartStep>(std::vector<std::string>{}, ""), {}, {}};
  s.recovery.ladders = {config::LadderSpec{{"config"}, {restore, s.recovery.ladder[0]}, {}},
                        config::LadderSpec{{"oom-kill", "core-dump"}, {restart}, {}}};
  return s;
}

const recovery::Decision* firstStep(const std::vector<recovery::Decision>& ds) {
  for (const auto& d : ds)
    if (d.kind == Kind::runStep) return &d;
  return nullptr;
}

}  // namespace

TEST(RecoveryLadders, AFailingConfigCheckClimbsItsOwnLadderRestoreFirst) {
  Fixture f(serviceWithCauseLadders());
  auto ds = f.m.onCheckResult("config", true, Status::unhealthy, "syntax error at line 3", t0);
  ASSERT_NE(firstStep(ds), nullptr);
  EXPECT_EQ(f.m.ladderIndex(), 0);
  EXPECT_EQ(f.m.ladder()[firstStep(ds)->step].kind, "restore") << "restored first, not restarted";
  EXPECT_EQ(f.m.cause().kind, strategies::CauseKind::check);
  EXPECT_EQ(f.m.cause().name, "config");
  EXPECT_EQ(ds[0].message, "recovery started: check 'config' failed: syntax error at line 3; climbing ladder 1 "
                           "(when: config) for its cause (check)");
  EXPECT_EQ(ds[0].cause.name, "config") << "the recovery-started event carries its cause";
}

TEST(RecoveryLadders, AnOomKilledUnitClimbsTheLadderItsResultNames) {
  Fixture f(serviceWithCauseLadders());
  f.m.onUnitState(unit("failed", "failed"), t0);
  strategies::UnitState read;
  read.activeState = strategies::ActiveState::failed;
  read.restartPolicy = "no";
  read.result = "oom-kill";
  read.execMainCode = 2;
  read.execMainStatus = 9;
  auto ds = f.m.onFailedUnitRead(read, t0 + 1ms);
  ASSERT_NE(firstStep(ds), nullptr);
  EXPECT_EQ(f.m.ladderIndex(), 1);
  EXPECT_EQ(f.m.cause().kind, strategies::CauseKind::oomKill);
  EXPECT_EQ(ds[0].message, "recovery started: web.service was killed by the OOM killer; climbing ladder 2 "
                           "(when: oom-kill, core-dump) for its cause (oom-kill)");
  // Its one step did not heal it: no reload after it, the ladder is done for this round.
  f.m.onStepFinished({Result::done, "done"}, t0 + 2s);
  f.m.onTimer(t0 + 20s);
  EXPECT_EQ(f.m.phase(), Phase::cooldown) << "a one-step ladder ends its round after that step: no reload";
}

TEST(RecoveryLadders, ACauseNoLadderNamesClimbsTheDefault) {
  Fixture f(serviceWithCauseLadders());
  auto ds = f.fail(t0);
  ASSERT_NE(firstStep(ds), nullptr);
  EXPECT_EQ(f.m.ladderIndex(), config::RecoverySpec::kDefaultLadder);
  EXPECT_EQ(f.m.ladder()[0].kind, "restart");
  EXPECT_EQ(ds[0].message, "recovery started: check 'health' failed: HTTP 500");
}

TEST(RecoveryLadders, TheLadderAndCauseSurviveARestartOfMedic) {
  config::ServiceSpec spec = serviceWithCauseLadders();
  recovery::RecoveryMachine before(spec);
  before.onUnitState(unit("active", "running"), t0 - 1h);
  before.onCheckResult("config", true, Status::unhealthy, "bad", t0);
  MachineSnapshot saved = before.snapshot(t0 + 1s);
  recovery::RecoveryMachine after(spec);
  auto ds = after.resume(saved, t0 + 2s);
  EXPECT_EQ(after.ladderIndex(), 0);
  EXPECT_EQ(after.cause().name, "config");
  EXPECT_EQ(after.ladder()[after.step()].kind, "restore") << "the step under way is verified on the ladder it was on";
}
