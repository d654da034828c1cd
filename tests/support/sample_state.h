#pragma once
/// A saved state with something in every part a recovery leaves: the integration tests'
/// round trips and the fuzz targets' seeds start from it.
#include <chrono>

#include "recovery/state_store.h"

namespace medic::test {

inline recovery::SavedState sampleState() {
  using namespace std::chrono_literals;
  recovery::SavedState s;
  s.nextActionId = 42;
  recovery::ServiceState& web = s.services["web"];
  web.machine.phase = recovery::Phase::cooldown;
  web.machine.round = 2;
  web.machine.step = 1;
  web.machine.attempt = 1;
  web.machine.cooldownLeft = 90s;
  web.machine.recoveryAges = {10min, 2min};
  web.history.push_back({41, "restart", 1, 2, "check 'health' failed 3 in a row: HTTP 500", "check", 1700000000000, 1700000000900, "failed: timeout"});
  web.figures.recoveries = 3;
  web.figures.successes = 2;
  web.figures.recoverySeconds = {1.5, 2.5};
  web.figures.steps = {{"restart", {{"healed", 2}, {"failed", 1}}}, {"restore", {{"did_not_heal", 1}}}};
  web.recoveryStartedMs = 1700000000000;
  web.recoveryReason = "check 'health' failed 3 in a row: HTTP 500";
  return s;
}

}  // namespace medic::test
