// The scheduler with time moved by hand: no clock, no sleeps.
#include <gtest/gtest.h>

#include <map>
#include <set>

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

TEST(Scheduler, FirstRunsShareWakeUpsOnOneGridWhenTheyWereAdded) {
  Scheduler s(7);
  // A thousand checks at 1 s, loaded at an instant off the grid; a hundred more at a reload
  // 1.234 s later. Each first run is within its first interval, yet they fall due at only
  // ten instants a second (every kPhaseStep), the reload's on the same instants: that is
  // one wake-up for many checks, where a spread to the nanosecond wakes for nearly each.
  const TimePoint loaded = kStart + 37ms, reloaded = loaded + 1234ms;
  std::map<Scheduler::Id, TimePoint> addedAt;
  for (int i = 0; i < 1000; ++i) addedAt[s.add(1s, std::nullopt, loaded)] = loaded;
  for (int i = 0; i < 100; ++i) addedAt[s.add(1s, std::nullopt, reloaded)] = reloaded;
  std::set<TimePoint> instants;
  std::set<Scheduler::Id> ran;
  for (TimePoint now = loaded; now < reloaded + 1s; now += 1ms) {
    for (const auto& d : s.takeDue(now)) {
      s.finished(d.id);
      if (!ran.insert(d.id).second) continue;  // a first run only
      EXPECT_GE(d.dueAt, addedAt[d.id]);
      EXPECT_LT(d.dueAt, addedAt[d.id] + 1s);
      EXPECT_EQ(d.dueAt.time_since_epoch() % Scheduler::kPhaseStep, Duration(0));
      instants.insert(d.dueAt);
    }
  }
  EXPECT_EQ(ran.size(), 1100u) << "every check ran in its first interval";
  // 1 s of grid points after the load, and the reload's points are among those a second on.
  EXPECT_LE(instants.size(), 10u + 10u);
  std::set<Duration> phases;
  for (TimePoint t : instants) phases.insert(t.time_since_epoch() % 1s);
  EXPECT_EQ(phases.size(), 10u) << "every phase of the grid used, and no other";
}

TEST(Scheduler, ManyChecksAtOneServerAreNotGatheredIntoOneInstant) {
  Scheduler s(11);
  // Fifty checks at 1 s of one server (a small one: Python's listen backlog is 5), and fifty
  // of other servers. The grid has ten points a second: gathered freely, one of them would
  // send the server a dozen connections at once.
  std::map<Scheduler::Id, std::string> serverOf;
  for (int i = 0; i < 50; ++i) serverOf[s.add(1s, std::nullopt, kStart, std::nullopt, "127.0.0.1:8080")] = "one";
  for (int i = 0; i < 50; ++i)
    serverOf[s.add(1s, std::nullopt, kStart, std::nullopt, "10.0.0." + std::to_string(i) + ":80")] = "other";
  s.placed();
  std::map<TimePoint, int> atOnce;
  int onGrid = 0, ran = 0;
  for (TimePoint now = kStart; now < kStart + 1s; now += 1ms)
    for (const auto& d : s.takeDue(now)) {
      ++ran;
      s.finished(d.id);
      if (serverOf[d.id] != "one") {
        EXPECT_EQ(d.dueAt.time_since_epoch() % Scheduler::kPhaseStep, Duration(0)) << "a server with room stays on the grid";
        continue;
      }
      ++atOnce[d.dueAt];
      if (d.dueAt.time_since_epoch() % Scheduler::kPhaseStep == Duration(0)) ++onGrid;
    }
  EXPECT_EQ(ran, 100) << "every check ran once in its first interval";
  for (auto [at, n] : atOnce) EXPECT_LE(n, Scheduler::kRunsAtOneServer) << "at " << (at - kStart).count() << " ns";
  EXPECT_EQ(onGrid, 10 * Scheduler::kRunsAtOneServer) << "the grid filled up to the limit, the rest spread";
}

TEST(Scheduler, AnIntervalShorterThanTheGridIsSpreadAsBefore) {
  Scheduler s(3);
  const TimePoint now = kStart + 1ms;  // the next grid point is 99 ms away: past a 50 ms interval
  std::set<TimePoint> firsts;
  for (int i = 0; i < 100; ++i) s.add(50ms, std::nullopt, now);
  for (const auto& d : s.takeDue(now + 50ms - 1ns)) firsts.insert(d.dueAt);
  EXPECT_GT(firsts.size(), 50u) << "spread over the interval, not gathered";
  for (TimePoint t : firsts) EXPECT_LT(t, now + 50ms);
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

TEST(Scheduler, AFailedRunIsRepeatedAtTheFailingIntervalUntilOnePasses) {
  Scheduler s(1);
  auto a = s.add(10s, 0s, kStart, 1s);
  s.takeDue(kStart);
  s.failed(a, kStart + 20ms);
  EXPECT_EQ(s.nextDue(), kStart + 1020ms) << "1 s after the failed run ended, not at its 10 s slot";
  EXPECT_TRUE(s.takeDue(kStart + 1019ms).empty());
  auto due = s.takeDue(kStart + 1020ms);
  ASSERT_EQ(ids(due), std::vector<Scheduler::Id>{a});
  EXPECT_EQ(due[0].dueAt, kStart + 1020ms);
  s.failed(a, kStart + 1030ms);
  ASSERT_EQ(ids(s.takeDue(kStart + 2030ms)), std::vector<Scheduler::Id>{a});
  s.finished(a);  // it passes: back on its grid
  EXPECT_EQ(s.nextDue(), kStart + 10s);
  EXPECT_TRUE(s.takeDue(kStart + 9999ms).empty());
  ASSERT_EQ(ids(s.takeDue(kStart + 10s)), std::vector<Scheduler::Id>{a}) << "exactly one run at its slot";
  EXPECT_EQ(s.nextDue(), kStart + 20s);
}

TEST(Scheduler, AFailingCheckStillRunsAtEachSlotAndNeverTwiceAtOnce) {
  Scheduler s(1);
  auto a = s.add(10s, 0s, kStart, 3s);
  s.takeDue(kStart);
  s.failed(a, kStart + 8s);  // its slot (10 s) comes before 8 s + 3 s
  EXPECT_EQ(s.nextDue(), kStart + 10s);
  // Failing for a minute: 3 s after each run, or at its slot if that comes first; never two
  // at once (each slot's entry is replaced by the re-run, not kept beside it).
  int runs = 0;
  TimePoint last{};
  for (TimePoint t = kStart + 10s; t < kStart + 70s; t += 10ms) {
    for (const auto& d : s.takeDue(t)) {
      EXPECT_EQ(d.id, a);
      if (runs) {
        EXPECT_GE(d.dueAt - last, 1s);
      }
      last = d.dueAt, ++runs;
      s.failed(a, t);
    }
  }
  EXPECT_EQ(runs, 24);  // in each 10 s: at its slot, then 3, 6 and 9 s after it
}

TEST(Scheduler, WithoutAFailingIntervalAFailedRunKeepsItsSlot) {
  Scheduler s(1);
  auto a = s.add(10s, 0s, kStart);
  s.takeDue(kStart);
  s.failed(a, kStart + 20ms);
  EXPECT_EQ(s.nextDue(), kStart + 10s);
}

TEST(Scheduler, OneCheckFailingFastLeavesTheOthersOnTheirGrid) {
  Scheduler s(1);
  auto failing = s.add(10s, 0s, kStart, 500ms);
  auto steady = s.add(2s, 0s, kStart);
  s.takeDue(kStart);
  s.finished(steady);
  s.failed(failing, kStart);
  int failingRuns = 0, steadyRuns = 0;
  for (TimePoint t = kStart + 1ms; t <= kStart + 10s; t += 1ms)
    for (const auto& d : s.takeDue(t)) {
      if (d.id == steady) {
        EXPECT_EQ((d.dueAt - kStart) % 2s, Duration::zero()) << "steady left its grid";
        ++steadyRuns;
      } else {
        ++failingRuns;
      }
      d.id == failing ? s.failed(d.id, t) : s.finished(d.id);
    }
  EXPECT_EQ(steadyRuns, 5);
  EXPECT_EQ(failingRuns, 20);  // at 0.5 s, 1 s, ... 10 s (the last one its slot)
}

}  // namespace
