// When a unit is down when it should be up, as systemd reports it: what the recovery machine
// acts on (after a confirm window) and the cause it gives.
#include <gtest/gtest.h>

#include "recovery/unit_watch.h"

using namespace medic;
using namespace std::chrono_literals;
using recovery::UnitWatch;
using strategies::ActiveState;
using strategies::CauseKind;

namespace {

const TimePoint t0 = TimePoint(1000s);

strategies::UnitState state(ActiveState active, std::string sub = "", std::string result = "", int code = 0, int status = 0) {
  strategies::UnitState s;
  s.activeState = active;
  s.subState = std::move(sub);
  s.result = std::move(result);
  s.execMainCode = code;
  s.execMainStatus = status;
  return s;
}

}  // namespace

TEST(UnitWatch, AFailedUnitIsAFailureOnceItStaysDownPastTheWindowWithSystemdsCause) {
  UnitWatch w("web.service");
  EXPECT_FALSE(w.report(state(ActiveState::active, "running"), false, false, t0)) << "the first report is no coming up";
  w.report(state(ActiveState::failed, "failed"), false, false, t0);
  EXPECT_TRUE(w.unexpectedlyDown());
  EXPECT_EQ(w.confirmAt(), t0 + UnitWatch::kConfirm);
  EXPECT_FALSE(w.causeKnown()) << "'failed' alone until systemd's Result is read";
  EXPECT_FALSE(w.confirmedBy(t0 + UnitWatch::kConfirm - 1ms));
  EXPECT_TRUE(w.resultRead(state(ActiveState::failed, "failed", "exit-code", 1, 3)));
  EXPECT_TRUE(w.causeKnown());
  EXPECT_EQ(w.cause().kind, CauseKind::exitCode);
  EXPECT_TRUE(w.confirmedBy(t0 + UnitWatch::kConfirm));
  EXPECT_FALSE(w.confirmedBy(t0 + 1s)) << "one failure, confirmed once";
  EXPECT_FALSE(w.resultRead(state(ActiveState::failed, "failed", "signal", 2, 9))) << "nothing waits on it any more";
}

TEST(UnitWatch, BackUpWithinTheWindowIsNoFailure) {
  UnitWatch w("web.service");
  w.report(state(ActiveState::active, "running"), false, false, t0);
  w.report(state(ActiveState::failed, "failed"), false, false, t0);
  w.report(state(ActiveState::activating, "auto-restart"), false, false, t0 + 100ms);
  EXPECT_FALSE(w.confirmAt());
  EXPECT_TRUE(w.report(state(ActiveState::active, "running"), false, false, t0 + 200ms)) << "it came up";
  EXPECT_FALSE(w.confirmedBy(t0 + 1s));
}

TEST(UnitWatch, StoppedCleanlyIsDownOnlyAfterItWasSeenUpAndNotByMedic) {
  UnitWatch never("web.service");
  never.report(state(ActiveState::inactive, "dead"), false, false, t0);
  EXPECT_FALSE(never.unexpectedlyDown()) << "never seen running: not expected up";
  EXPECT_FALSE(never.confirmAt());

  UnitWatch w("web.service");
  w.report(state(ActiveState::active, "running"), false, false, t0);
  w.report(state(ActiveState::inactive, "dead"), false, true, t0);
  EXPECT_FALSE(w.confirmAt()) << "a step of medic's may stop it for a moment";
  w.report(state(ActiveState::inactive, "dead"), false, false, t0 + 1s);
  ASSERT_TRUE(w.confirmAt());
  EXPECT_TRUE(w.causeKnown());
  EXPECT_EQ(w.cause().words, "web.service stopped although it was running (not by medic)");
  EXPECT_TRUE(w.confirmedBy(t0 + 2s));
}

TEST(UnitWatch, DownOnPurposeIsNothingToConfirmAndAResetLooksAgain) {
  UnitWatch w("web.service");
  w.report(state(ActiveState::active, "running"), false, false, t0);
  w.report(state(ActiveState::failed, "failed"), true, false, t0);
  EXPECT_FALSE(w.confirmAt()) << "failed over: medic keeps it down";
  EXPECT_TRUE(w.unexpectedlyDown());
  w.rewatch(t0 + 5s);
  EXPECT_EQ(w.confirmAt(), t0 + 5s + UnitWatch::kConfirm) << "looked at afresh, through the window";
  EXPECT_EQ(w.causeOrFailed().kind, CauseKind::failed);
}
