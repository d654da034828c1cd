// Failure detection and the first recovery decision, with time moved by hand.
#include <gtest/gtest.h>

#include "agent/service_watch.h"

using namespace medic;
using namespace medic::agent;
using namespace std::chrono_literals;
using checks::Status;

namespace {

const TimePoint t0 = TimePoint(100s);

config::ServiceSpec service(int threshold = 3) {
  config::ServiceSpec s;
  s.name = "web";
  s.unit = "web.service";
  s.failureThreshold = threshold;
  s.recovery.verifyGrace = 10s;
  s.recovery.cooldown = 5min;
  return s;
}

TEST(ServiceWatch, RestartsAfterThresholdConsecutiveFailuresOfACriticalCheck) {
  auto spec = service(3);
  ServiceWatch w(spec);
  w.onUnitState("active", "running", t0);
  EXPECT_FALSE(w.onCheckResult("health", true, Status::unhealthy, "HTTP 500", t0 + 11s));
  EXPECT_FALSE(w.onCheckResult("health", true, Status::unhealthy, "HTTP 500", t0 + 12s));
  auto r = w.onCheckResult("health", true, Status::unhealthy, "HTTP 500", t0 + 13s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "check 'health' failed 3 in a row: HTTP 500");
  EXPECT_TRUE(w.restarting());
}

TEST(ServiceWatch, APassInBetweenStartsTheCountAgain) {
  auto spec = service(2);
  ServiceWatch w(spec);
  EXPECT_FALSE(w.onCheckResult("health", true, Status::unhealthy, "x", t0));
  EXPECT_FALSE(w.onCheckResult("health", true, Status::healthy, "ok", t0 + 1s));
  EXPECT_FALSE(w.onCheckResult("health", true, Status::unhealthy, "x", t0 + 2s));
  EXPECT_TRUE(w.onCheckResult("health", true, Status::unhealthy, "x", t0 + 3s));
}

TEST(ServiceWatch, NonCriticalAndDegradedResultsNeverRestart) {
  auto spec = service(1);
  ServiceWatch w(spec);
  EXPECT_FALSE(w.onCheckResult("workers", false, Status::unhealthy, "0 processes", t0));
  EXPECT_FALSE(w.onCheckResult("disk", true, Status::degraded, "85% used", t0));
}

TEST(ServiceWatch, FailureWindowCountsNOfTheLastM) {
  auto spec = service();
  spec.window = config::FailureWindow{2, 4};
  ServiceWatch w(spec);
  EXPECT_FALSE(w.onCheckResult("h", true, Status::unhealthy, "x", t0));
  EXPECT_FALSE(w.onCheckResult("h", true, Status::healthy, "ok", t0 + 1s));
  auto r = w.onCheckResult("h", true, Status::unhealthy, "x", t0 + 2s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "check 'h' failed 2 of the last 4: x");
}

TEST(ServiceWatch, OnlyOneRestartAtATime) {
  auto spec = service(1);
  ServiceWatch w(spec);
  ASSERT_TRUE(w.onCheckResult("h", true, Status::unhealthy, "x", t0));
  EXPECT_FALSE(w.onCheckResult("h", true, Status::unhealthy, "x", t0 + 1s));
  EXPECT_EQ(w.holdReason(t0 + 1s), "a restart is already running");
}

TEST(ServiceWatch, AfterARestartTheServiceGetsItsGrace) {
  auto spec = service(1);
  ServiceWatch w(spec);
  ASSERT_TRUE(w.onCheckResult("h", true, Status::unhealthy, "x", t0));
  w.onRestartFinished(true, t0 + 1s);
  EXPECT_FALSE(w.onCheckResult("h", true, Status::unhealthy, "still starting", t0 + 5s));
  EXPECT_EQ(w.holdReason(t0 + 5s), "it was just (re)started and is within its grace");
  EXPECT_TRUE(w.onCheckResult("h", true, Status::unhealthy, "x", t0 + 11s + 1ms));
}

TEST(ServiceWatch, AFailedRestartCoolsDown) {
  auto spec = service(1);
  ServiceWatch w(spec);
  ASSERT_TRUE(w.onCheckResult("h", true, Status::unhealthy, "x", t0));
  w.onRestartFinished(false, t0 + 1s);
  EXPECT_FALSE(w.onCheckResult("h", true, Status::unhealthy, "x", t0 + 4min));
  EXPECT_EQ(w.holdReason(t0 + 4min), "cooling down after a failed restart");
  EXPECT_TRUE(w.onCheckResult("h", true, Status::unhealthy, "x", t0 + 5min + 2s));
}

TEST(ServiceWatch, AFailedUnitIsRestartedOnceItStaysFailed) {
  auto spec = service();
  ServiceWatch w(spec);
  w.onUnitState("active", "running", t0);
  EXPECT_FALSE(w.onUnitState("failed", "failed", t0 + 1s));
  EXPECT_EQ(w.wakeAt(), t0 + 1s + ServiceWatch::kFailedConfirm);
  EXPECT_FALSE(w.onTimer(t0 + 1s + ServiceWatch::kFailedConfirm - 1ms));
  auto r = w.onTimer(t0 + 1s + ServiceWatch::kFailedConfirm);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "systemd reports web.service failed");
}

TEST(ServiceWatch, AFailedUnitWithoutRestartPolicyIsRestartedAtOnce) {
  auto spec = service();
  ServiceWatch w(spec);
  w.onUnitState("failed", "failed", t0);
  EXPECT_FALSE(w.onFailedUnitRead("failed", "on-failure", t0 + 1ms)) << "systemd may still restart it";
  EXPECT_TRUE(w.onFailedUnitRead("failed", "no", t0 + 1ms));
  EXPECT_FALSE(w.onTimer(t0 + 1s)) << "already acted on";
}

TEST(ServiceWatch, LeavesTheUnitToSystemdWhileItAutoRestarts) {
  auto spec = service(1);
  ServiceWatch w(spec);
  w.onUnitState("active", "running", t0);
  w.onUnitState("failed", "failed", t0 + 1s);
  w.onUnitState("activating", "auto-restart", t0 + 1s + 2ms);  // systemd's Restart=on-failure
  EXPECT_FALSE(w.onTimer(t0 + 2s));
  EXPECT_FALSE(w.onCheckResult("h", true, Status::unhealthy, "refused", t0 + 2s));
  EXPECT_EQ(w.holdReason(t0 + 2s), "systemd is already activating it (auto-restart)");
  // Back up: the grace applies, old failures are forgotten.
  w.onUnitState("active", "running", t0 + 3s);
  EXPECT_FALSE(w.onCheckResult("h", true, Status::unhealthy, "warming up", t0 + 4s));
}

TEST(ServiceWatch, AUnitStoppedBehindItsBackIsStartedAgain) {
  auto spec = service();
  ServiceWatch w(spec);
  w.onUnitState("active", "running", t0);
  w.onUnitState("deactivating", "stop-sigterm", t0 + 1s);
  w.onUnitState("inactive", "dead", t0 + 1s + 5ms);
  auto r = w.onTimer(t0 + 1s + 5ms + ServiceWatch::kFailedConfirm);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "systemd reports web.service stopped although it was running");
}

TEST(ServiceWatch, AnOperatorsRestartPassingThroughInactiveIsNotAFailure) {
  auto spec = service();
  ServiceWatch w(spec);
  w.onUnitState("active", "running", t0);
  w.onUnitState("inactive", "dead", t0 + 1s);
  w.onUnitState("activating", "start", t0 + 1s + 3ms);
  w.onUnitState("active", "running", t0 + 1s + 40ms);
  EXPECT_FALSE(w.onTimer(t0 + 2s));
  EXPECT_FALSE(w.wakeAt());
}

TEST(ServiceWatch, AUnitThatWasNeverUpIsNotStarted) {
  auto spec = service();
  ServiceWatch w(spec);
  w.onUnitState("inactive", "dead", t0);  // as found at medic's start
  EXPECT_FALSE(w.wakeAt());
}

TEST(ServiceWatch, ItsOwnRestartPassingThroughInactiveIsNotAFailure) {
  auto spec = service(1);
  ServiceWatch w(spec);
  w.onUnitState("active", "running", t0);
  ASSERT_TRUE(w.onCheckResult("h", true, Status::unhealthy, "x", t0 + 20s));
  w.onUnitState("inactive", "dead", t0 + 20s + 2ms);
  w.onUnitState("active", "running", t0 + 20s + 9ms);
  w.onRestartFinished(true, t0 + 20s + 10ms);
  EXPECT_FALSE(w.wakeAt());
}

TEST(ServiceWatch, DisabledRecoveryNeverActs) {
  auto spec = service(1);
  spec.recovery.enabled = false;
  ServiceWatch w(spec);
  EXPECT_FALSE(w.onCheckResult("h", true, Status::unhealthy, "x", t0));
  w.onUnitState("failed", "failed", t0);
  EXPECT_FALSE(w.onFailedUnitRead("failed", "no", t0));
  EXPECT_EQ(w.holdReason(t0), "recovery is disabled");
}

}  // namespace
