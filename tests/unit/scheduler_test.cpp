// The scheduler with time moved by hand: no clock, no sleeps.
#include <gtest/gtest.h>

#include <map>

#include "checks/scheduler.h"

using namespace medic;
using namespace medic::checks;
using namespace std::chrono_literals;

namespace {

const TimePoint kStart = TimePoint(1000s);

std::vector<Scheduler::Id> ids(const std::vector<Scheduler::Due>& due) {
  std::vector<Scheduler::Id> out;
  for (const auto& d : due) out.push_back(d.id);
  return out;
}

TEST(Scheduler, InitialDelayFixesTheFirstRunThenTheIntervalRepeats) {
  Scheduler s(1);
  auto a = s.add(10s, 2s, kStart);
  EXPECT_EQ(s.nextDue(), kStart + 2s);
  EXPECT_TRUE(s.takeDue(kStart + 1999ms).empty());
  auto due = s.takeDue(kStart + 2s);
  ASSERT_EQ(ids(due), std::vector<Scheduler::Id>{a});
  EXPECT_EQ(due[0].dueAt, kStart + 2s);
  s.finished(a);
  EXPECT_EQ(s.nextDue(), kStart + 12s);
}

TEST(Scheduler, FirstRunsWithoutDelayAreSpreadOverTheFirstInterval) {
  Scheduler s(42);
  for (int i = 0; i < 1000; ++i) s.add(10s, std::nullopt, kStart);
  // Count first runs per second of the first interval: a uniform spread puts ~100 in each.
  std::map<int, int> perSecond;
  for (int second = 1; second <= 10; ++second) {
    auto due = s.takeDue(kStart + std::chrono::seconds(second) - 1ns);
    perSecond[second] = static_cast<int>(due.size());
    for (const auto& d : due) s.finished(d.id);
  }
  int total = 0;
  for (auto [second, n] : perSecond) {
    total += n;
    EXPECT_GT(n, 50) << "second " << second;
    EXPECT_LT(n, 150) << "second " << second;
  }
  EXPECT_EQ(total, 1000) << "every check ran exactly once in its first interval";
}

TEST(Scheduler, ACheckNeverOverlapsItselfAndTheSkippedSlotIsCounted) {
  Scheduler s(1);
  auto a = s.add(1s, 0s, kStart);
  EXPECT_EQ(s.takeDue(kStart).size(), 1u);
  EXPECT_TRUE(s.running(a));
  // Still running when its next slot comes: that slot is skipped, not stacked.
  EXPECT_TRUE(s.takeDue(kStart + 1s).empty());
  EXPECT_EQ(s.skippedSlots(a), 1u);
  s.finished(a);
  EXPECT_EQ(ids(s.takeDue(kStart + 2s)), std::vector<Scheduler::Id>{a});
}

TEST(Scheduler, StaysOnItsGridWhateverARunTook) {
  Scheduler s(1);
  auto a = s.add(10s, 0s, kStart);
  s.takeDue(kStart);
  s.finished(a);  // a run of any length does not shift the grid
  auto due = s.takeDue(kStart + 10s + 3ms);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].dueAt, kStart + 10s);
  EXPECT_EQ(s.nextDue(), kStart + 20s);
}

TEST(Scheduler, AfterAStallItRunsOnceAndSkipsTheMissedSlots) {
  Scheduler s(1);
  auto a = s.add(1s, 0s, kStart);
  s.takeDue(kStart);
  s.finished(a);
  auto due = s.takeDue(kStart + 5500ms);  // the host was suspended for 5 s
  EXPECT_EQ(due.size(), 1u);
  EXPECT_EQ(s.nextDue(), kStart + 6s);
}

TEST(Scheduler, OneSlowCheckDoesNotHoldBackOthers) {
  Scheduler s(1);
  auto slow = s.add(1s, 0s, kStart);
  auto fast = s.add(100ms, 0s, kStart);
  s.takeDue(kStart);
  s.finished(fast);  // `slow` stays running throughout
  int fastRuns = 0;
  for (int tick = 1; tick <= 20; ++tick) {
    for (const auto& d : s.takeDue(kStart + tick * 100ms)) {
      EXPECT_EQ(d.id, fast);
      EXPECT_EQ(d.dueAt, kStart + tick * 100ms) << "fast check ran late";
      ++fastRuns;
      s.finished(d.id);
    }
  }
  EXPECT_EQ(fastRuns, 20);
  EXPECT_TRUE(s.running(slow));
}

}  // namespace
