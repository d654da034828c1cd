// Services that depend on each other (depends_on): the graph as the loader reads it, the
// machine's hold while a dependency is down, and the supervisor telling each service about
// the ones it depends on, with a scripted systemd and a clock moved by hand.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/loader.h"
#include "recovery/recovery_machine.h"
#include "recovery/report.h"
#include "strategies/restart_step.h"
#include "supervised.h"
#include "temp_dir.h"

using namespace medic;
using namespace std::chrono_literals;
using checks::Status;
using recovery::Phase;
using testing::ElementsAre;
using testing::HasSubstr;
using Kind = recovery::Decision::Kind;
using Result = strategies::StepOutcome::Result;

namespace {

// ---- the graph, as loaded ----------------------------------------------------------------

std::string loadErrors(const std::string& yaml) {
  test::TempDir dir;
  auto result = config::loadConfig(dir.write("medic.yaml", yaml));
  return result.config ? "" : result.errors.str();
}

std::string threeServices(const std::string& dbDeps, const std::string& appDeps, const std::string& workerDeps) {
  auto one = [](const std::string& name, const std::string& deps) {
    return "  " + name + ":\n    unit: " + name + ".service\n" + (deps.empty() ? "" : "    depends_on: " + deps + "\n");
  };
  return "services:\n" + one("db", dbDeps) + one("app", appDeps) + one("worker", workerDeps);
}

TEST(DependsOn, NamesOtherServicesOrHostChecks) {
  test::TempDir dir;
  auto result = config::loadConfig(dir.write("medic.yaml",
                                             "host:\n"
                                             "  checks:\n"
                                             "    - {name: network, type: tcp, host: 127.0.0.1, port: 1}\n" +
                                                 threeServices("[network]", "[db]", "[app, db]")));
  ASSERT_TRUE(result.config) << result.errors.str();
  const auto& worker = *result.config->findService("worker");
  ASSERT_EQ(worker.dependsOn.size(), 2u);
  EXPECT_EQ(worker.dependsOn[0].name, "app");
  EXPECT_FALSE(worker.dependsOn[0].hostCheck);
  EXPECT_TRUE(result.config->findService("db")->dependsOn[0].hostCheck);
}

TEST(DependsOn, ACycleIsRefusedAndSaidAsItsPath) {
  std::string errors = loadErrors(threeServices("", "[worker]", "[app]"));
  EXPECT_THAT(errors, HasSubstr("service 'worker': depends_on makes a cycle: app → worker → app")) << errors;
  EXPECT_THAT(errors, HasSubstr("medic.yaml:9:18")) << "at the entry that closes it: " << errors;
}

TEST(DependsOn, UnknownNamesItselfAndTwiceAreRefusedWithWhere) {
  EXPECT_THAT(loadErrors(threeServices("", "[dbb]", "")),
              HasSubstr("service 'app': depends_on: unknown service or host check 'dbb' (did you mean 'db'?)"));
  EXPECT_THAT(loadErrors(threeServices("", "[app]", "")), HasSubstr("service 'app': depends_on names the service itself"));
  EXPECT_THAT(loadErrors(threeServices("", "[db, db]", "")), HasSubstr("depends_on names 'db' twice"));
  EXPECT_THAT(loadErrors(threeServices("", "db", "")), HasSubstr("'depends_on' must be a list"));
}

TEST(DependsOn, AChainLongerThan32ServicesIsRefused) {
  auto chain = [](int n) {
    std::string yaml = "services:\n";
    for (int i = 0; i < n; ++i)
      yaml += "  s" + std::to_string(i) + ":\n    unit: s" + std::to_string(i) + ".service\n" +
              (i ? "    depends_on: [s" + std::to_string(i - 1) + "]\n" : "");
    return yaml;
  };
  EXPECT_EQ(loadErrors(chain(32)), "") << "32 is allowed";
  std::string errors = loadErrors(chain(33));
  EXPECT_THAT(errors, HasSubstr("depends_on chain is")) << errors;
  EXPECT_THAT(errors, HasSubstr("at most 32 are allowed")) << errors;
  EXPECT_THAT(loadErrors(chain(5000)), HasSubstr("at most 32 are allowed")) << "and a hostile one is refused without walking it whole";
}

// ---- depends_on: systemd, with what each unit needs scripted ---------------------------------

config::LoadResult loadWithUnits(const std::string& yaml, std::map<std::string, config::UnitNeeds> units) {
  test::TempDir dir;
  return config::loadConfig(dir.write("medic.yaml", yaml), [units](const std::string& unit) {
    auto it = units.find(unit);
    return it == units.end() ? config::UnitNeeds{{}, "no such unit"} : it->second;
  });
}

std::vector<std::string> edges(const config::ServiceSpec& s) {
  std::vector<std::string> out;
  for (const auto& d : s.dependsOn) out.push_back(d.name + (d.fromUnit.empty() ? "" : " (" + d.fromUnit + ")"));
  return out;
}

TEST(DependsOnSystemd, AddsTheServicesWhoseUnitsItRequiresBindsToOrIsRequisiteOf) {
  auto result = loadWithUnits(threeServices("", "systemd", "[systemd, db]") + "  cache:\n    unit: cache.service\n",
                              {{"app.service", {{{"Requires", "db.service"}, {"BindsTo", "cache.service"}, {"Requires", "sysinit.target"}}, ""}},
                               {"worker.service", {{{"Requisite", "app.service"}, {"Requires", "db.service"}}, ""}}});
  ASSERT_TRUE(result.config) << result.errors.str();
  EXPECT_THAT(edges(*result.config->findService("app")), ElementsAre("db (Requires=db.service)", "cache (BindsTo=cache.service)"))
      << "sysinit.target is no service of medic's";
  EXPECT_THAT(edges(*result.config->findService("worker")), ElementsAre("db", "app (Requisite=app.service)"))
      << "named here and said by systemd: one edge, as named";
  EXPECT_TRUE(result.config->warnings.empty());
}

TEST(DependsOnSystemd, ACycleThroughWhatSystemdSaysIsRefusedNamingTheUnitsLine) {
  auto result = loadWithUnits(threeServices("[app]", "systemd", ""), {{"app.service", {{{"Requires", "db.service"}}, ""}}});
  ASSERT_FALSE(result.config);
  EXPECT_THAT(result.errors.str(), HasSubstr("depends_on makes a cycle: app → db → app (each would wait for the other to "
                                             "recover; systemd's: app → db from app.service's Requires=db.service)"))
      << result.errors.str();
}

TEST(DependsOnSystemd, AUnitThatCannotBeReadLoadsWithAWarningKeepingTheNamedOnes) {
  auto result = loadWithUnits(threeServices("", "[systemd, db]", ""), {});
  ASSERT_TRUE(result.config) << result.errors.str();
  EXPECT_THAT(edges(*result.config->findService("app")), ElementsAre("db"));
  ASSERT_THAT(result.config->warnings, ElementsAre(HasSubstr("service 'app': depends_on: systemd: cannot read what app.service needs "
                                                     "(no such unit); only the services named here are waited for")));
  test::TempDir dir;
  auto offline = config::loadConfig(dir.write("medic.yaml", threeServices("", "systemd", "")));
  ASSERT_TRUE(offline.config);
  EXPECT_THAT(offline.config->warnings, ElementsAre(HasSubstr("depends_on: systemd: not read")));
}

TEST(OnDependencyRestart, IsOneRestartWithTheLaddersOwnTimeoutAndNeedsADependency) {
  test::TempDir dir;
  auto result = config::loadConfig(dir.write("medic.yaml", "services:\n  db: {unit: db.service}\n"
                                                           "  app:\n    unit: app.service\n    depends_on: [db]\n"
                                                           "    on_dependency_restart: restart\n"
                                                           "    recovery: {ladder: [{step: reload}, {step: restart, timeout: 20s}]}\n"));
  ASSERT_TRUE(result.config) << result.errors.str();
  const auto& restart = result.config->findService("app")->recovery.dependencyRestart;
  ASSERT_EQ(restart.size(), 1u);
  EXPECT_EQ(restart[0].kind, "restart");
  EXPECT_EQ(restart[0].timeout, 20s);
  EXPECT_EQ(restart[0].attempts, 1);
  EXPECT_TRUE(result.config->findService("db")->recovery.dependencyRestart.empty());
  EXPECT_THAT(loadErrors("services:\n  app: {unit: app.service, on_dependency_restart: restart}\n"),
              HasSubstr("'on_dependency_restart: restart' needs 'depends_on'"));
  EXPECT_THAT(loadErrors("services:\n  db: {unit: db.service}\n  app: {unit: app.service, depends_on: [db], on_dependency_restart: reload}\n"),
              HasSubstr("'on_dependency_restart' must be 'restart' or 'none'; got 'reload'"));
}

// ---- the machine's hold ---------------------------------------------------------------------

const TimePoint t0 = TimePoint(1000s);

config::ServiceSpec app(int rounds = 2) {
  config::ServiceSpec s;
  s.name = "app";
  s.unit = "app.service";
  s.failureThreshold = 1;
  s.recovery.verifyGrace = 10s;
  s.recovery.cooldown = 5min;
  s.recovery.maxRounds = rounds;
  s.recovery.ladder = {{"restart", 1, 90s, std::make_shared<strategies::RestartStep>(std::vector<std::string>{}, ""), {}, {}}};
  checks::CheckSpec health;
  health.name = "health";
  health.critical = true;
  s.checks = {health};
  s.dependsOn = {{"db", false, {}, ""}};
  return s;
}

strategies::Cause dbDown() { return strategies::Cause::ofDependency("db", "db is recovering (restart 1 of 2, round 1 of 3)"); }

std::vector<Kind> kinds(const std::vector<recovery::Decision>& ds) {
  std::vector<Kind> out;
  for (const auto& d : ds) out.push_back(d.kind);
  return out;
}

// `ds` put the machine in `held`: its first decision records that, and the message says why.
void expectHeld(const std::vector<recovery::Decision>& ds, const recovery::RecoveryMachine& m, const std::string& saying = "") {
  ASSERT_FALSE(ds.empty());
  EXPECT_EQ(toString(ds[0].event), "held");
  EXPECT_THAT(ds[0].message, HasSubstr(saying));
  EXPECT_EQ(m.phase(), Phase::held);
}

struct Machine {
  config::ServiceSpec spec;
  recovery::RecoveryMachine m;
  explicit Machine(config::ServiceSpec s = app()) : spec(std::move(s)), m(spec) {
    strategies::UnitState up;
    up.activeState = strategies::ActiveState::active;
    up.subState = "running";
    m.onUnitState(up, t0 - 1h);
  }
  std::vector<recovery::Decision> fail(TimePoint at) { return m.onCheckResult("health", true, Status::unhealthy, "HTTP 502", at); }
  // Down while db is down: held.
  void hold() {
    m.onDependency(dbDown(), t0);
    fail(t0);
    ASSERT_EQ(m.phase(), Phase::held);
  }
};

TEST(DependencyHold, AFailureWhileADependencyIsDownIsPutDownToItAndRunsNoStep) {
  Machine f;
  EXPECT_TRUE(f.m.onDependency(dbDown(), t0).empty()) << "a dependency down is not a failure of its own";
  auto ds = f.fail(t0 + 1s);
  ASSERT_THAT(kinds(ds), ElementsAre(Kind::record));
  EXPECT_EQ(toString(ds[0].event), "held");
  EXPECT_EQ(ds[0].message, "check 'health' failed: HTTP 502; put down to its dependency: db is recovering "
                           "(restart 1 of 2, round 1 of 3); no recovery until db is up again");
  EXPECT_EQ(f.m.phase(), Phase::held);
  EXPECT_EQ(f.m.cause().kind, strategies::CauseKind::dependency);
  EXPECT_EQ(f.m.cause().name, "db");
  EXPECT_EQ(f.m.round(), 0) << "no round used";
  EXPECT_TRUE(f.fail(t0 + 2s).empty()) << "failing on, it waits";
  EXPECT_EQ(f.m.wakeAt(), std::nullopt) << "nothing to wait for but the dependency";
}

TEST(DependencyHold, OnceTheDependencyIsUpItIsVerifiedAtOnceAndHealsWithoutAStep) {
  Machine f;
  f.hold();
  auto ds = f.m.onDependency(std::nullopt, t0 + 5s);
  ASSERT_THAT(kinds(ds), ElementsAre(Kind::verify)) << "at once, not at a recheck";
  ds = f.m.onVerified(true, "health: HTTP 200", t0 + 5s);
  ASSERT_THAT(kinds(ds), ElementsAre(Kind::record));
  EXPECT_EQ(toString(ds[0].event), "healed");
  EXPECT_EQ(ds[0].message, "healthy again now that db is up, without a step: health: HTTP 200");
  EXPECT_EQ(f.m.phase(), Phase::healthy);
}

TEST(DependencyHold, StillFailingOnceTheDependencyIsUpItsOwnRecoveryStarts) {
  Machine f;
  f.hold();
  f.m.onDependency(std::nullopt, t0 + 5s);
  auto ds = f.m.onVerified(false, "health: HTTP 502", t0 + 5s);
  ASSERT_THAT(kinds(ds), ElementsAre(Kind::record, Kind::runStep));
  EXPECT_EQ(toString(ds[0].event), "recovery-started");
  EXPECT_THAT(ds[0].message, HasSubstr("check 'health' still fails with its dependencies up: health: HTTP 502"));
  EXPECT_EQ(f.m.cause().kind, strategies::CauseKind::check) << "its own failure now";
  EXPECT_EQ(f.m.phase(), Phase::recovering);
  EXPECT_EQ(f.m.round(), 1) << "a fresh ladder";
}

TEST(DependencyHold, DownAgainBeforeTheVerdictItWaitsOn) {
  Machine f;
  f.hold();
  f.m.onDependency(std::nullopt, t0 + 5s);
  f.m.onDependency(dbDown(), t0 + 6s);
  EXPECT_TRUE(f.m.onVerified(false, "health: HTTP 502", t0 + 6s).empty());
  EXPECT_EQ(f.m.phase(), Phase::held);
}

TEST(DependencyHold, HealingByItselfWhileHeldIsHealthy) {
  Machine f;
  f.hold();
  auto ds = f.m.onCheckResult("health", true, Status::healthy, "HTTP 200", t0 + 1s);
  ASSERT_THAT(kinds(ds), ElementsAre(Kind::record));
  EXPECT_EQ(ds[0].message, "healthy again, without a step, while db is recovering (restart 1 of 2, round 1 of 3)");
  EXPECT_EQ(f.m.phase(), Phase::healthy);
}

TEST(DependencyHold, AStepThatDoesNotHealWhileTheDependencyIsDownHoldsInsteadOfClimbing) {
  Machine verifying;
  verifying.fail(t0);
  verifying.m.onStepFinished({Result::done, "", false}, t0 + 1s);
  ASSERT_EQ(verifying.m.phase(), Phase::verifying);
  verifying.m.onDependency(dbDown(), t0 + 2s);
  verifying.m.onVerified(false, "health: HTTP 502", t0 + 2s);  // retried within the grace
  expectHeld(verifying.m.onTimer(t0 + 12s), verifying.m, "restart did not heal it: health: HTTP 502; put down to its dependency");
  EXPECT_EQ(verifying.m.round(), 0) << "the ladder starts afresh after the dependency";

  Machine stepping;
  stepping.fail(t0);
  stepping.m.onDependency(dbDown(), t0 + 1s);
  expectHeld(stepping.m.onStepFinished({Result::failed, "systemd's job ended 'failed'", false}, t0 + 1s), stepping.m);
}

TEST(DependencyHold, ACooldownEndingWhileTheDependencyIsDownHolds) {
  Machine f;
  f.fail(t0);
  f.m.onStepFinished({Result::failed, "systemd's job ended 'failed'", false}, t0 + 1s);
  ASSERT_EQ(f.m.phase(), Phase::cooldown);
  f.m.onDependency(dbDown(), t0 + 2s);
  expectHeld(f.m.onTimer(t0 + 5min + 1s), f.m, "app still fails; put down to its dependency");
}

TEST(DependencyHold, AnOperatorMayResetOrRecoverAHeldService) {
  Machine f;
  f.hold();
  std::string refused;
  f.m.reset("by root", t0 + 1s, refused);
  EXPECT_EQ(refused, "");
  EXPECT_EQ(f.m.phase(), Phase::healthy);
  f.fail(t0 + 2s);
  ASSERT_EQ(f.m.phase(), Phase::held) << "db is still down";
  auto ds = f.m.recoverNow(0, "requested by root", t0 + 3s, refused);
  EXPECT_EQ(refused, "");
  EXPECT_THAT(kinds(ds), ElementsAre(Kind::record, Kind::runStep));
  EXPECT_EQ(f.m.phase(), Phase::recovering);
}

config::ServiceSpec appRestartingAfterDependency() {
  config::ServiceSpec s = app();
  s.recovery.dependencyRestart = {s.recovery.ladder[0]};
  return s;
}

TEST(DependencyRestart, AHeldServiceIsRestartedOnceAfterItsDependencyWithNoAttemptUsed) {
  Machine f(appRestartingAfterDependency());
  f.hold();
  std::string refused;
  auto ds = f.m.afterDependencyRestart("db", t0 + 5s, refused);
  EXPECT_EQ(refused, "");
  ASSERT_THAT(kinds(ds), ElementsAre(Kind::record, Kind::runStep));
  EXPECT_EQ(ds[0].message, "recovery started: restart after db's restart (on_dependency_restart: restart)");
  EXPECT_EQ(ds[0].cause.kind, strategies::CauseKind::dependency) << "db's fault, not app's";
  EXPECT_EQ(f.m.ladderIndex(), config::RecoverySpec::kDependencyRestart);
  f.m.onStepFinished({Result::done, "", false}, t0 + 6s);
  ds = f.m.onVerified(true, "health: HTTP 200", t0 + 6s);
  ASSERT_FALSE(ds.empty());
  EXPECT_EQ(toString(ds[0].event), "recovered");
  EXPECT_EQ(f.m.phase(), Phase::healthy);
}

TEST(DependencyRestart, IsRefusedWhileItsOwnRecoveryIsUnderWayOrPaused) {
  Machine recovering(appRestartingAfterDependency());
  recovering.fail(t0);
  ASSERT_EQ(recovering.m.phase(), Phase::recovering);
  std::string refused;
  EXPECT_TRUE(recovering.m.afterDependencyRestart("db", t0 + 1s, refused).empty());
  EXPECT_THAT(refused, HasSubstr("it is recovering: a recovery step is under way (restart, attempt 1)"));

  Machine paused(appRestartingAfterDependency());
  paused.m.pause(std::nullopt, "backup", t0);
  EXPECT_TRUE(paused.m.afterDependencyRestart("db", t0 + 1s, refused).empty());
  EXPECT_EQ(refused, "its recovery is paused (backup)");

  Machine without;  // no on_dependency_restart
  EXPECT_TRUE(without.m.afterDependencyRestart("db", t0 + 1s, refused).empty());
  EXPECT_FALSE(refused.empty());
}

// ---- the supervisor: db ← app ← worker ------------------------------------------------------

struct Graph : test::Supervised {
  Graph() : Supervised({"db", "app", "worker"}) {
    config.services[1].dependsOn = {{"db", false, {}, ""}};
    config.services[2].dependsOn = {{"app", false, {}, ""}};
  }
  // db restarted and being verified (its checks still fail); app failing meanwhile: held.
  void holdApp() {
    fail("db");
    fail("app");
    ASSERT_EQ(phase("app"), Phase::held);
  }
};

TEST(DependencySupervisor, OnlyTheCauseIsRecoveredAndTheDependentsHealWithItWithoutAStep) {
  Graph f;
  f.start();
  f.fail("db");  // restarted, and being verified: its checks still fail
  EXPECT_THAT(f.systemd.jobs, ElementsAre("restart db.service"));
  ASSERT_EQ(f.phase("db"), Phase::verifying);
  f.fail("app");
  f.fail("worker");
  EXPECT_EQ(f.phase("app"), Phase::held);
  EXPECT_EQ(f.phase("worker"), Phase::held);
  EXPECT_THAT(f.systemd.jobs, ElementsAre("restart db.service")) << "no step for the symptoms";
  EXPECT_EQ(f.sup->find("app")->machine->cause().words, "db is recovering (restart 1 of 1, round 1 of 1)");
  EXPECT_EQ(f.sup->find("worker")->machine->cause().words, "app is held itself, waiting for db");
  EXPECT_THAT(f.events, ElementsAre("db recovery-started", "app held", "worker held"));

  // db's restart healed it after all (and with it, the others).
  for (auto name : {"db", "app", "worker"}) f.heal(name);
  f.clock.advance(1s);  // db's verification, tried again
  EXPECT_EQ(f.phase("db"), Phase::healthy);
  EXPECT_EQ(f.phase("app"), Phase::healthy);
  EXPECT_EQ(f.phase("worker"), Phase::healthy);
  EXPECT_THAT(f.events, ElementsAre("db recovery-started", "app held", "worker held", "db recovered", "app healed",
                                    "worker healed"));
  EXPECT_THAT(f.systemd.jobs, ElementsAre("restart db.service"));
  EXPECT_EQ(f.sup->saved().services.at("app").figures.recoveries, 0u) << "no recovery of its own counted";
}

TEST(DependencySupervisor, ADependentStillFailingAfterItsDependencyHealedStartsItsOwnRecovery) {
  Graph f;
  f.start();
  f.holdApp();
  f.heal("db");
  f.clock.advance(1s);
  EXPECT_EQ(f.phase("db"), Phase::healthy);
  EXPECT_THAT(f.systemd.jobs, ElementsAre("restart db.service", "restart app.service"))
      << "app's own ladder, at once (its verification failed)";
  EXPECT_THAT(f.events, ElementsAre("db recovery-started", "app held", "db recovered", "app recovery-started"));
}

TEST(DependencySupervisor, AReloadThatDropsTheDependencyVerifiesTheHeldService) {
  Graph f;
  f.start();
  f.holdApp();
  f.heal("app");
  f.config.services[1].dependsOn.clear();
  f.sup->apply(f.config);
  f.clock.advance();
  EXPECT_EQ(f.phase("app"), Phase::healthy);
  EXPECT_THAT(f.events, ElementsAre("db recovery-started", "app held", "app healed"));
}

TEST(DependencySupervisor, AHeldServiceStaysHeldAcrossARestartOfMedicWhileItsDependencyIsDown) {
  Graph f;
  f.start();
  f.holdApp();
  f.start();  // medic restarts: db's step is verified first, and still fails; app waits on
  EXPECT_EQ(f.phase("app"), Phase::held);
  EXPECT_EQ(f.sup->find("app")->machine->cause().name, "db");
}

TEST(DependencySupervisor, AServiceHeldWhenMedicStoppedIsVerifiedOnceItsDependencyIsUp) {
  Graph f;
  f.start();
  f.holdApp();
  f.heal("db");
  f.heal("app");
  f.start();  // medic restarts: db's step is verified first, and passes; app is verified with it
  EXPECT_EQ(f.phase("db"), Phase::healthy);
  EXPECT_EQ(f.phase("app"), Phase::healthy);
  EXPECT_THAT(f.events, testing::Contains("app healed"));
  EXPECT_THAT(f.systemd.jobs, ElementsAre("restart db.service")) << "no step for app";
}

TEST(DependencySupervisor, OnDependencyRestartRestartsTheDependentOnceAfterItsDependencyIsVerified) {
  Graph f;
  f.config.services[1].recovery.dependencyRestart = {f.config.services[1].recovery.ladder[0]};
  f.start();
  f.holdApp();
  f.heal("db");
  f.heal("app");
  f.clock.advance(1s);  // db verified: app is restarted rather than verified
  EXPECT_THAT(f.systemd.jobs, ElementsAre("restart db.service", "restart app.service")) << "worker has no on_dependency_restart";
  f.clock.advance(1s);
  EXPECT_THAT(f.events, ElementsAre("db recovery-started", "app held", "db recovered", "app recovery-started", "app recovered"));
  EXPECT_EQ(f.phase("app"), Phase::healthy);
  const auto& faults = f.sup->saved().services.at("app").faults;
  ASSERT_EQ(faults.size(), 1u) << "the hold and the restart after db are one record";
  EXPECT_EQ(faults[0].dependency, "db");
  EXPECT_EQ(faults[0].outcome, "recovered");

  f.clock.advance(1min);
  f.fail("db");  // once per recovery of db: again after the next
  f.heal("db");
  f.clock.advance(1s);
  EXPECT_EQ(std::count(f.systemd.jobs.begin(), f.systemd.jobs.end(), "restart app.service"), 2);
  EXPECT_EQ(f.sup->saved().services.at("app").faults.size(), 1u) << "app did not fail this time: a step, but no fault";
}

TEST(DependencySupervisor, ARestartAfterADependencyIsSavedAndTakenUpByTheNextMedic) {
  Graph f;
  f.config.services[1].recovery.dependencyRestart = {f.config.services[1].recovery.ladder[0]};
  f.systemd.script(strategies::JobKind::restart, "app.service", {"hang"});
  f.start();
  f.holdApp();
  f.heal("db");
  f.heal("app");
  f.clock.advance(1s);
  ASSERT_EQ(f.sup->find("app")->machine->ladderIndex(), config::RecoverySpec::kDependencyRestart);
  std::string warning;
  recovery::StateStore(f.stateDir.path.string()).load(warning);
  EXPECT_EQ(warning, "") << "the state file holds what medic wrote";
  f.start();  // medic restarts mid-step: the step is verified first, as any step
  EXPECT_EQ(f.sup->find("app")->machine->ladderIndex(), config::RecoverySpec::kDependencyRestart);
  EXPECT_EQ(f.phase("app"), Phase::healthy);
  EXPECT_EQ(f.sup->saved().services.at("app").faults.back().dependency, "db");
}

TEST(DependencySupervisor, TheReportCountsFailuresPutDownToADependencyApart) {
  Graph f;
  f.start();
  f.holdApp();
  f.fail("worker");  // held too, waiting for app
  f.heal("db");
  f.heal("worker");
  f.clock.advance(1s);  // db healed; app still fails: its own recovery starts, worker waits on for it
  auto r = recovery::buildReport(f.sup->saved(), 0, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(r.faults, 2u) << "db's, and app's own once db was up";
  EXPECT_EQ(r.dependents.faults, 2u);
  EXPECT_THAT(r.dependents.byDependency, ElementsAre(std::pair<const std::string, uint64_t>("app", 1),
                                                     std::pair<const std::string, uint64_t>("db", 1)));
  EXPECT_EQ(r.dependents.byOutcome.at("own-recovery"), 1u) << "app still failed with db up";
  std::string text = recovery::reportText(r);
  EXPECT_THAT(text, HasSubstr("put down to a dependency (apart from the faults; each is its dependency's): 2\n"
                              "  by dependency: app 1, db 1\n  by service:    app 1, worker 1\n"));
  EXPECT_THAT(recovery::reportJson(r), HasSubstr("\"put_down_to_dependency\""));
}

TEST(DependencySupervisor, WhenSlotsAreFewWhatOthersDependOnRecoversFirst) {
  test::Supervised f({"other", "app", "db"});
  f.config.services[1].dependsOn = {{"db", false, {}, ""}};
  f.config.agent.maxConcurrentRecoveries = 1;
  f.systemd.script(strategies::JobKind::restart, "other.service", {"hang"});
  f.start();
  f.fail("other");  // takes the one slot
  f.fail("app");    // before db is seen failing: a failure of its own, queued
  f.fail("db");     // queued after app
  EXPECT_THAT(f.systemd.jobs, ElementsAre("restart other.service"));
  f.clock.advance(90s);  // other's step times out and frees the slot
  ASSERT_GE(f.systemd.jobs.size(), 2u);
  EXPECT_EQ(f.systemd.jobs[1], "restart db.service") << "db first: app depends on it";
}

}  // namespace
