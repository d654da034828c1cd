#include <gtest/gtest.h>

#include "checks/check.h"
#include "checks/nagios.h"

using namespace medic::checks;

TEST(PluginOutput, FirstLineIsTheMessageAndPerfdataIsParsed) {
  auto out = parsePluginOutput("TCP OK - 0.001 second response time on 127.0.0.1 port 22|time=0.000512s;;;0.000000;10.000000\n");
  EXPECT_EQ(out.message, "TCP OK - 0.001 second response time on 127.0.0.1 port 22");
  ASSERT_EQ(out.perfdata.size(), 1u);
  EXPECT_EQ(out.perfdata[0].label, "time");
  EXPECT_DOUBLE_EQ(out.perfdata[0].value, 0.000512);
  EXPECT_EQ(out.perfdata[0].unit, "s");
  EXPECT_FALSE(out.perfdata[0].warn);
  EXPECT_DOUBLE_EQ(*out.perfdata[0].min, 0);
  EXPECT_DOUBLE_EQ(*out.perfdata[0].max, 10);
}

TEST(PluginOutput, QuotedLabelsUnitsAndLongOutputPerfdata) {
  auto out = parsePluginOutput(
      "DISK OK | '/ used'=512MB;800;900;0;1024 'it''s'=5%\nlong text line\nmore | inodes=42;;;;\n");
  EXPECT_EQ(out.message, "DISK OK");
  ASSERT_EQ(out.perfdata.size(), 3u);
  EXPECT_EQ(out.perfdata[0].label, "/ used");
  EXPECT_EQ(out.perfdata[0].unit, "MB");
  EXPECT_DOUBLE_EQ(*out.perfdata[0].warn, 800);
  EXPECT_DOUBLE_EQ(*out.perfdata[0].crit, 900);
  EXPECT_EQ(out.perfdata[1].label, "it's");
  EXPECT_EQ(out.perfdata[1].unit, "%");
  EXPECT_EQ(out.perfdata[2].label, "inodes");
  EXPECT_DOUBLE_EQ(out.perfdata[2].value, 42);
}

TEST(PluginOutput, MalformedPerfdataIsSkippedNotFatal) {
  auto out = parsePluginOutput("OK | garbage =5 x=abc y=1;2:3;4 'open=1");
  EXPECT_EQ(out.message, "OK");
  ASSERT_EQ(out.perfdata.size(), 1u);
  EXPECT_EQ(out.perfdata[0].label, "y");
  EXPECT_FALSE(out.perfdata[0].warn) << "ranges are not plain numbers";
  EXPECT_DOUBLE_EQ(*out.perfdata[0].crit, 4);
}

// Found by fuzzing (tests/fuzz/regressions/nagios): a value past a double's range became
// +Inf, and "nan" NaN, which rules then compared and /metrics exported as if measured.
TEST(PluginOutput, ValuesThatAreNotFiniteNumbersAreSkipped) {
  auto out = parsePluginOutput("OK | big=4999999999E99999999999 n=nan i=inf;1;2 ok=3;inf;nan;0;1E999");
  ASSERT_EQ(out.perfdata.size(), 1u);
  EXPECT_EQ(out.perfdata[0].label, "ok");
  EXPECT_FALSE(out.perfdata[0].warn);
  EXPECT_FALSE(out.perfdata[0].crit);
  EXPECT_FALSE(out.perfdata[0].max);
  EXPECT_DOUBLE_EQ(*out.perfdata[0].min, 0);
}

TEST(PluginOutput, NonUtf8BytesBecomeReplacementCharacters) {
  auto out = parsePluginOutput(std::string("bad \xff\xfe bytes\x01 here"));
  EXPECT_EQ(out.message, "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes  here");
}

TEST(PluginExitCodes, FollowTheNagiosApi) {
  EXPECT_EQ(statusFromExitCode(0), Status::healthy);
  EXPECT_EQ(statusFromExitCode(1), Status::degraded);
  EXPECT_EQ(statusFromExitCode(2), Status::unhealthy);
  EXPECT_EQ(statusFromExitCode(3), Status::unknown);
  EXPECT_EQ(statusFromExitCode(127), Status::unknown);
  EXPECT_EQ(worst(Status::degraded, Status::unhealthy), Status::unhealthy);
  EXPECT_EQ(worst(Status::unknown, Status::degraded), Status::unknown);
}
