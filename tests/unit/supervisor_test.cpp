// The supervisor, driven by hand: a scripted systemd (jobs that succeed, fail or never end;
// unit states changed on demand), checks that answer what the test says, and a clock moved
// by hand. What is asserted is what a user sees: the jobs systemd is asked for, in order,
// the events journalled, the phase, the history and what survives a restart of medic.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/supervisor.h"
#include "strategies/failover_step.h"
#include "supervised.h"

using namespace medic;
using namespace std::chrono_literals;
using checks::Status;
using medic::test::ManualClock;
using medic::test::ScriptedSystemd;
using medic::test::TempDir;
using recovery::Phase;
using strategies::JobKind;
using testing::ElementsAre;

namespace {
using Fixture = medic::test::Supervised;
using medic::test::Answer;
using medic::test::ScriptedCheck;
using medic::test::rung;
using medic::test::restart;
using medic::test::service;
}  // namespace

TEST(Supervisor, ACheckFailingPastItsThresholdRestartsTheUnitThenVerifiesByTheChecks) {
  Fixture f;
  f.start();
  // The scheduled checks fail; by the time the restart is verified, they pass.
  f.report("web", Status::unhealthy);
  EXPECT_TRUE(f.systemd.jobs.empty()) << "one failure is below failure_threshold 2";
  f.report("web", Status::unhealthy);
  EXPECT_THAT(f.systemd.jobs, ElementsAre("restart web.service"));
  EXPECT_EQ(f.phase("web"), Phase::healthy);
  EXPECT_THAT(f.events, ElementsAre("web recovery-started", "web recovered"));
  EXPECT_THAT(f.results("web"), ElementsAre("restart: done, healed"));
  EXPECT_EQ(f.sup->saved().services.at("web").history[0].reason, "check 'health' failed 2 in a row: HTTP 500") << "what failed, as the history shows it";
}

TEST(Supervisor, AStepThatDoesNotHealEscalatesToTheNextStepAfterTheGrace) {
  Fixture f;
  f.start();
  f.systemd.units["web.service"].canReload = true;
  f.fail("web");
  EXPECT_THAT(f.systemd.jobs, ElementsAre("restart web.service"));
  EXPECT_EQ(f.phase("web"), Phase::verifying) << "the check still fails: verification is retried within the grace";
  f.clock.advance(10s);
  EXPECT_THAT(f.systemd.jobs, ElementsAre("restart web.service", "reload web.service"));
  EXPECT_THAT(f.results("web"), ElementsAre("restart: done, did not heal", "reload: done"));
}

TEST(Supervisor, AFailedJobIsAFailedAttemptAndTheNextOneWaitsItsSpacing) {
  Fixture f;
  f.config.services[0].recovery.ladder = {rung("restart", 2, restart())};
  f.start();
  f.systemd.script(JobKind::restart, "web.service", {"failed"});
  f.fail("web");
  EXPECT_THAT(f.systemd.jobs, ElementsAre("restart web.service"));
  EXPECT_THAT(f.events, ElementsAre("web recovery-started", "web step-failed"));
  f.heal("web");
  f.clock.advance(1s);
  EXPECT_THAT(f.systemd.jobs, ElementsAre("restart web.service", "restart web.service"));
  EXPECT_EQ(f.phase("web"), Phase::healthy);
  EXPECT_THAT(f.results("web"), ElementsAre("restart: failed: systemd's job ended 'failed'", "restart: done, healed"));
}

TEST(Supervisor, AJobSystemdNeverEndsFailsTheStepAtItsTimeout) {
  Fixture f;
  f.config.services[0].recovery.ladder = {rung("restart", 1, restart())};
  f.start();
  f.systemd.script(JobKind::restart, "web.service", {"hang"});
  f.fail("web");
  EXPECT_EQ(f.phase("web"), Phase::recovering);
  f.clock.advance(89s);
  EXPECT_EQ(f.phase("web"), Phase::recovering) << "the step's timeout is 90s";
  f.clock.advance(1s);
  EXPECT_THAT(f.results("web"), ElementsAre("restart: failed: systemd's job ended 'deadline'"));
  EXPECT_EQ(f.phase("web"), Phase::gaveUp) << "one round of one step";
}

TEST(Supervisor, AtMostMaxConcurrentRecoveriesRunAndTheOthersQueueInOrder) {
  Fixture f({"a", "b", "c"});
  f.config.agent.maxConcurrentRecoveries = 1;
  for (auto name : {"a", "b", "c"}) f.systemd.script(JobKind::restart, std::string(name) + ".service", {"hang"});
  f.start();
  f.fail("a");
  f.fail("b");
  f.fail("c");
  EXPECT_THAT(f.systemd.jobs, ElementsAre("restart a.service")) << "b and c wait for the slot";
  f.clock.advance(90s);  // a's step times out; a gives up and frees the slot
  EXPECT_THAT(f.systemd.jobs, ElementsAre("restart a.service", "restart b.service"));
  f.clock.advance(90s);
  EXPECT_THAT(f.systemd.jobs, ElementsAre("restart a.service", "restart b.service", "restart c.service"));
}

TEST(Supervisor, AfterARestartOfMedicAnInterruptedStepIsRecordedAndVerifiedFirst) {
  Fixture f;
  f.systemd.script(JobKind::restart, "web.service", {"hang"});
  f.start();
  f.fail("web");
  ASSERT_THAT(f.systemd.jobs, ElementsAre("restart web.service"));
  f.heal("web");  // it came up meanwhile
  f.events.clear();
  f.start();  // medic restarted while the job ran
  EXPECT_THAT(f.results("web"), ElementsAre("restart: interrupted: medic stopped while it ran"));
  EXPECT_THAT(f.systemd.jobs, ElementsAre("restart web.service")) << "verified first, not repeated blindly";
  EXPECT_EQ(f.phase("web"), Phase::healthy);
  EXPECT_THAT(f.events, testing::Contains("web recovered"));
}

TEST(Supervisor, APausedServiceIsNotRecoveredAndIsOnResume) {
  Fixture f;
  f.start();
  f.sup->pause("web", std::nullopt, "maintenance", 0, "root");
  f.fail("web", 3);
  EXPECT_TRUE(f.systemd.jobs.empty());
  EXPECT_EQ(f.sup->resume("web", "root"), "");
  f.clock.advance();
  EXPECT_THAT(f.systemd.jobs, ElementsAre("restart web.service"));
}

TEST(Supervisor, AFailoverSwitchesToTheBackupAndFailsBackOnceTheConditionsHold) {
  Fixture f;
  auto& web = f.config.services[0];
  web.recovery.ladder = {rung("failover", 1, std::make_shared<strategies::FailoverStep>(strategies::UnitSwitch{"web-backup.service", true}))};
  web.recovery.conditions.unitsActive = {"db.service"};
  web.recovery.conditions.recheck = 30s;
  f.systemd.setState("db.service", "failed", "failed");
  f.start();
  f.report("web", Status::unhealthy);  // the backup will answer the checks
  f.report("web", Status::unhealthy);
  EXPECT_THAT(f.systemd.jobs, ElementsAre("stop web.service", "start web-backup.service"));
  EXPECT_EQ(f.phase("web"), Phase::failedOver);
  f.clock.advance(30s);
  EXPECT_EQ(f.phase("web"), Phase::failedOver) << "db.service is still failed";
  f.systemd.setState("db.service", "active", "running");
  f.clock.advance(30s);
  EXPECT_THAT(f.systemd.jobs, ElementsAre("stop web.service", "start web-backup.service", "stop web-backup.service", "start web.service"));
  EXPECT_EQ(f.phase("web"), Phase::healthy);
  EXPECT_THAT(f.events, testing::IsSupersetOf({"web failed-over", "web failed-back"}));
}

TEST(Supervisor, AFailedUnitWithoutCriticalChecksIsStartedAndVerifiedByItsStateAlone) {
  Fixture f;
  f.config.services[0].checks[0].critical = false;
  f.start();
  f.systemd.units["web.service"].restartPolicy = "no";  // systemd will not restart it itself
  f.systemd.setState("web.service", "failed", "failed");
  f.clock.advance();
  EXPECT_THAT(f.systemd.jobs, ElementsAre("restart web.service"));
  EXPECT_EQ(f.phase("web"), Phase::healthy);
  EXPECT_THAT(f.events, testing::Contains("web recovered"));
}

TEST(Supervisor, AServiceRecoveryWaitsWhileAHostCheckItNamesIsFailing) {
  Fixture f;
  // The host section: a service without a unit or a recovery, checked like one.
  f.answers["host"] = std::make_shared<Answer>();
  config::ServiceSpec host = service("host", f.answers["host"]);
  host.unit.clear();
  host.recovery.enabled = false;
  host.recovery.ladder.clear();
  host.checks[0].name = "root-disk";
  f.config.services.insert(f.config.services.begin(), host);
  auto& web = f.config.services[1].recovery.conditions;
  web.checksHealthy = {"root-disk"};
  web.recheck = 5s;
  f.start();

  auto hostSays = [&](Status s, const std::string& message) {
    f.sup->onCheckResult("host", f.config.services[0].checks[0], {s, message, {}, {}});
    f.clock.advance();
  };
  hostSays(Status::unhealthy, "/: 99.0% space used (critical at 95%)");
  hostSays(Status::unhealthy, "/: 99.0% space used (critical at 95%)");
  EXPECT_EQ(f.sup->health(*f.sup->find("host")), Status::unhealthy) << "the host has no unit that could say otherwise";
  EXPECT_TRUE(f.systemd.jobs.empty()) << "the host has nothing to restart";

  f.fail("web");
  EXPECT_TRUE(f.systemd.jobs.empty()) << "held by the host's disk";
  EXPECT_EQ(f.phase("web"), Phase::blocked);

  // A warning is not a failure: the restart goes at once, not at the next recheck.
  hostSays(Status::degraded, "/: 90.0% space used (warning at 85%)");
  EXPECT_THAT(f.systemd.jobs, ElementsAre("restart web.service"));
}

TEST(Supervisor, ARecoveryHeldByAUnitThatMustBeActiveGoesTheMomentItIs) {
  Fixture f;
  auto& web = f.config.services[0].recovery.conditions;
  web.unitsActive = {"db.service"};
  web.recheck = 5min;
  f.systemd.setState("db.service", "failed", "failed");
  f.start();
  f.fail("web");
  ASSERT_EQ(f.phase("web"), Phase::blocked);
  EXPECT_TRUE(f.systemd.jobs.empty());
  f.systemd.setState("db.service", "active", "running");
  f.clock.advance();
  EXPECT_THAT(f.systemd.jobs, ElementsAre("restart web.service")) << "at once, not 5 minutes later";
}

// A check that stays across a reload keeps its rules' windows: a reload does not restart a
// "for: 30s" that has been running for 20 s.
TEST(Supervisor, AReloadKeepsTheRuleWindowsOfAStayingCheck) {
  TempDir dir;
  auto loaded = config::loadConfig(dir.write("medic.yaml", "services:\n  web:\n    unit: web.service\n    checks:\n"
                                                           "      - {name: h, type: http, url: 'http://127.0.0.1/', rules: "
                                                           "[{value: time, stat: max, over: 5m, above: 800ms, for: 30s, min_samples: 1}]}\n"));
  ASSERT_TRUE(loaded.config) << loaded.errors.str();
  Fixture f;
  auto& web = f.config.services[0];
  web.recovery.enabled = false;  // only the check's result is looked at here
  web.checks[0].rules = loaded.config->services[0].checks[0].rules;
  f.start();
  auto slow = [&](const config::Config& config) {  // 2 s, every 10 s
    f.sup->onCheckResult("web", config.services[0].checks[0], {Status::healthy, "HTTP 200", {}, {{"time", 2.0, "s"}}});
    f.clock.advance(10s);
  };
  auto latest = [&] { return f.sup->find("web")->last("health")->result; };
  for (int i = 0; i < 3; ++i) slow(f.config);
  EXPECT_EQ(latest().status, Status::healthy) << "above 800ms for 20s, not yet 30s: " << latest().message;
  config::Config reloaded = f.config;
  reloaded.services[0].recovery.cooldown = 2min;  // some other setting changed
  f.sup->apply(reloaded);
  slow(reloaded);
  slow(reloaded);
  EXPECT_EQ(latest().status, Status::degraded) << latest().message;
  EXPECT_EQ(latest().message, "HTTP 200; max of time over 5m is 2s, above 800ms for 40s");
}

// Health is kept as results come (not walked over every check at each result): it must
// follow each check's latest result, and a reload's new settings must judge the results kept.
TEST(Supervisor, HealthFollowsEachChecksLatestResultAndAReloadsSettings) {
  Fixture f;
  f.watchHealthOnly();
  f.start();
  auto says = [&](const config::Config& config, size_t check, Status status) {
    f.sup->onCheckResult("web", config.services[0].checks[check], {status, "said", {}, {}});
    f.clock.advance();
  };
  auto health = [&] { return f.sup->health(*f.sup->find("web")); };
  says(f.config, 0, Status::healthy);
  says(f.config, 1, Status::healthy);
  EXPECT_EQ(health(), Status::healthy);
  says(f.config, 1, Status::unhealthy);
  EXPECT_EQ(health(), Status::degraded) << "a non-critical check failing degrades";
  says(f.config, 0, Status::unhealthy);
  EXPECT_EQ(health(), Status::unhealthy);
  says(f.config, 0, Status::unhealthy);  // the same again counts once
  says(f.config, 1, Status::healthy);
  EXPECT_EQ(health(), Status::unhealthy);
  says(f.config, 0, Status::degraded);
  EXPECT_EQ(health(), Status::degraded);
  says(f.config, 0, Status::unhealthy);

  // Reloaded: 'health' is no longer critical and 'extra' is gone. The results kept are judged
  // by the new settings at once; a result of the removed check, under way, is not counted.
  config::Config reloaded = f.config;
  reloaded.services[0].checks[0].critical = false;
  reloaded.services[0].checks.pop_back();
  f.sup->apply(reloaded);
  EXPECT_EQ(health(), Status::degraded);
  says(f.config, 1, Status::unhealthy);  // (started by the old settings)
  EXPECT_EQ(health(), Status::degraded);
  says(f.config, 0, Status::healthy);  // started by the old settings, judged by the new
  EXPECT_EQ(health(), Status::healthy);
  EXPECT_EQ(f.sup->find("web")->notHealthy.size(), 0u);
}

// Health is unknown until every check has answered once: a healthy answer from one check says
// nothing of another that has not run (say, held back by its initial_delay). What is already
// known to be wrong is said at once.
TEST(Supervisor, HealthIsUnknownUntilEveryCheckHasAnsweredUnlessAlreadyUnhealthy) {
  Fixture f;
  f.watchHealthOnly();
  f.start();
  auto health = [&] { return f.sup->health(*f.sup->find("web")); };
  auto says = [&](size_t check, Status status) {
    f.sup->onCheckResult("web", f.config.services[0].checks[check], {status, "said", {}, {}});
    f.clock.advance();
  };
  EXPECT_EQ(health(), Status::unknown) << "no check has answered";
  EXPECT_FALSE(f.sup->runsWell(*f.sup->find("web")));
  says(0, Status::healthy);
  EXPECT_EQ(health(), Status::unknown) << "'extra' has not answered yet";
  says(1, Status::healthy);
  EXPECT_EQ(health(), Status::healthy);

  Fixture g;
  g.config.services[0].recovery.enabled = false;
  g.start();
  EXPECT_EQ(g.sup->health(*g.sup->find("web")), Status::unknown);
  g.systemd.setState("web.service", "failed", "failed");
  g.clock.advance();
  EXPECT_EQ(g.sup->health(*g.sup->find("web")), Status::unhealthy) << "a failed unit is unhealthy before any check answers";
  g.systemd.setState("web.service", "active", "running");
  g.clock.advance();
  g.sup->onCheckResult("web", g.config.services[0].checks[0], {Status::unhealthy, "HTTP 500", {}, {}});
  EXPECT_EQ(g.sup->health(*g.sup->find("web")), Status::unhealthy);
}

// The verification that healed a service is its checks' latest truth: right after
// "recovered", status shows the passing answer, not the failure before the restart.
TEST(Supervisor, TheVerificationsResultsAreTheChecksLatestResults) {
  Fixture f;
  f.start();
  f.fail("web");
  ASSERT_THAT(f.systemd.jobs, ElementsAre("restart web.service"));
  ASSERT_EQ(f.phase("web"), Phase::verifying);
  EXPECT_EQ(f.sup->health(*f.sup->find("web")), Status::unhealthy) << "the restart's verification failed as well";
  f.heal("web");
  f.clock.advance(10s);  // the verification after the grace passes
  ASSERT_THAT(f.events, ElementsAre("web recovery-started", "web recovered"));
  const auto* last = f.sup->find("web")->last("health");
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(last->result.status, Status::healthy);
  EXPECT_EQ(last->result.message, "HTTP 200");
  EXPECT_EQ(f.sup->health(*f.sup->find("web")), Status::healthy) << "no scheduled run was needed to say so";
}

// A recovery still under way at the service's rto: is one event (journal, alert) and marks its
// fault record, while it goes on; time comes from the hand-moved clock, wall time included.
TEST(Supervisor, ARecoveryStillUnderWayAtItsRtoIsRecordedOnceAndMarked) {
  Fixture f;
  f.config.services[0].recovery.ladder = {rung("restart", 1, restart())};
  f.config.services[0].recovery.rto = 30s;
  f.start();
  f.systemd.script(JobKind::restart, "web.service", {"hang"});  // the step runs for its whole 90 s timeout
  f.fail("web");
  ASSERT_EQ(f.phase("web"), Phase::recovering);
  f.clock.advance(29s);
  EXPECT_THAT(f.events, ElementsAre("web recovery-started")) << "not yet at its rto";
  f.clock.advance(1s);
  EXPECT_THAT(f.events, ElementsAre("web recovery-started", "web rto-exceeded"));
  ASSERT_EQ(f.sup->saved().services.at("web").faults.size(), 1u);
  EXPECT_TRUE(f.sup->saved().services.at("web").faults.back().rtoExceeded);
  EXPECT_EQ(f.sup->saved().services.at("web").figures.rtoExceeded, 1u);
  f.clock.advance(60s);  // the step's timeout: it gives up, and the rto is not said again
  EXPECT_THAT(f.events, ElementsAre("web recovery-started", "web rto-exceeded", "web gave-up"));
}

// After a restart of medic, the rto is measured from the recovery's recorded start (wall
// time, which survives the restart), not from medic's start: the timer is armed for what is left.
TEST(Supervisor, AfterARestartOfMedicTheRtoCountsFromTheRecoverysStart) {
  Fixture f;
  f.config.services[0].recovery.ladder = {rung("restart", 1, restart())};
  f.config.services[0].recovery.rto = 30s;
  f.start();
  f.systemd.script(JobKind::restart, "web.service", {"hang"});
  f.fail("web");
  f.clock.advance(20s);
  f.events.clear();
  f.start();  // medic restarts 20 s into the recovery
  f.systemd.script(JobKind::restart, "web.service", {"hang"});
  f.clock.advance(9s);
  EXPECT_THAT(f.events, testing::Not(testing::Contains("web rto-exceeded"))) << "29 s since the recovery started";
  f.clock.advance(1s);
  EXPECT_THAT(f.events, testing::Contains("web rto-exceeded")) << "30 s since it started, 10 s since medic did";
}
