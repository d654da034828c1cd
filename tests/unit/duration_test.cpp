#include <gtest/gtest.h>

#include "runtime/duration.h"

using namespace medic;
using namespace std::chrono_literals;

TEST(Duration, ParsesTheUnitsOperatorsWrite) {
  EXPECT_EQ(parseDuration("500ms"), Duration(500ms));
  EXPECT_EQ(parseDuration("10s"), Duration(10s));
  EXPECT_EQ(parseDuration("5m"), Duration(5min));
  EXPECT_EQ(parseDuration("2h"), Duration(2h));
  EXPECT_EQ(parseDuration("1d"), Duration(24h));
  EXPECT_EQ(parseDuration("1m30s"), Duration(90s));
}

TEST(Duration, RejectsBareNumbersAndUnknownUnits) {
  EXPECT_EQ(parseDuration("30"), std::nullopt);
  EXPECT_EQ(parseDuration("10 s"), std::nullopt);
  EXPECT_EQ(parseDuration("10sec"), std::nullopt);
  EXPECT_EQ(parseDuration("-5s"), std::nullopt);
  EXPECT_EQ(parseDuration(""), std::nullopt);
  EXPECT_EQ(parseDuration("s"), std::nullopt);
  EXPECT_EQ(parseDuration("99999999999999s"), std::nullopt);
}

TEST(Duration, FormatsShortestFaithfulSpelling) {
  EXPECT_EQ(formatDuration(0s), "0ms");
  EXPECT_EQ(formatDuration(250ms), "250ms");
  EXPECT_EQ(formatDuration(1500ms), "1.5s");
  EXPECT_EQ(formatDuration(5s), "5s");
  EXPECT_EQ(formatDuration(90s), "1m30s");
  EXPECT_EQ(formatDuration(2h), "2h");
}

// Found by fuzzing (tests/fuzz/regressions/duration): medic printed "7.077s" in `medic plan`
// and status, and refused the same words in a config an operator copied them into.
TEST(Duration, WhatMedicPrintsReadsBack) {
  EXPECT_EQ(parseDuration("1.5s"), Duration(1500ms));
  EXPECT_EQ(parseDuration("0.25h"), Duration(15min));
  EXPECT_EQ(parseDuration("250us"), Duration(250us));
  EXPECT_EQ(parseDuration("1m30.5s"), Duration(90500ms));
  for (Duration d : {Duration(7077ms), Duration(90500ms), Duration(1500us), Duration(250us), Duration(3723001ms),
                     Duration(kMaxDuration), Duration(0ms)})
    EXPECT_EQ(parseDuration(formatDuration(d)), d) << formatDuration(d);
  EXPECT_EQ(formatDuration(90500ms), "1m30.5s") << "the milliseconds past a minute are kept";
  EXPECT_EQ(formatDuration(1500us), "1.5ms");
  EXPECT_EQ(formatDuration(Duration(1)), "0us") << "below a microsecond";
  EXPECT_EQ(formatDuration(-1500ms), "-1.5s");
  for (const char* text : {"1.s", ".5s", "1.5", "1..5s", "1.0000000001s"}) EXPECT_EQ(parseDuration(text), std::nullopt) << text;
}

TEST(Duration, RefusesWhatIsLongerThanTenYearsWithoutOverflowing) {
  bool tooLong = false;
  EXPECT_EQ(parseDuration("3650d", &tooLong), Duration(kMaxDuration));
  EXPECT_FALSE(tooLong);
  for (const char* text : {"3650d1ms", "99999999999d", "999999999999h", "999999999999d999999999999d", "3649d24h1s", "3650.001d", "3649d24h0.5s"}) {
    EXPECT_EQ(parseDuration(text, &tooLong), std::nullopt) << text;
    EXPECT_TRUE(tooLong) << text;
  }
  EXPECT_EQ(parseDuration("99999999999dx", &tooLong), std::nullopt);
}

// A step of the wall clock is told once, by how much and which way; a slew is not a step.
TEST(WallClockSteps, TellsAStepOnceAndNotASlew) {
  WallClockSteps steps;
  TimePoint mono{std::chrono::hours(10)};
  const int64_t wall = 1'795'000'000'000;
  EXPECT_EQ(steps.observe(mono, wall).steppedMs, 0) << "the first reading has nothing to compare with";
  EXPECT_EQ(steps.observe(mono + 10s, wall + 10'000).steppedMs, 0);
  EXPECT_EQ(steps.observe(mono + 20s, wall + 20'005).steppedMs, 0) << "5 ms of slew";
  EXPECT_EQ(steps.observe(mono + 30s, wall + 30'005 + 3'600'000).steppedMs, 3'600'000) << "set an hour forward";
  EXPECT_EQ(steps.observe(mono + 31s, wall + 31'005 + 3'600'000).steppedMs, 0) << "told once";
  EXPECT_EQ(steps.observe(mono + 32s, wall + 32'005).steppedMs, -3'600'000) << "and back";
  EXPECT_EQ(steps.observe(mono + 32s, wall + 32'005).nowMs, wall + 32'005);
  // Slews of 900 ms each, read after each other: never one step, however long it goes on.
  for (int i = 1; i <= 10; ++i) EXPECT_EQ(steps.observe(mono + 32s + i * 100s, wall + 32'005 + i * 100'900).steppedMs, 0);
}
