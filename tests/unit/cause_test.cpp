// A failure's cause, classified from what systemd reports of a unit (its Result and the main
// process' end) or from the check or rule that failed, and what a ladder's `when:` matches.
#include <gtest/gtest.h>

#include "strategies/cause.h"
#include "strategies/unit_journal.h"

using namespace medic;
using strategies::Cause;
using strategies::CauseKind;
using checks::Severity;

namespace {

// What systemd's properties say after each kind of end (ExecMainCode: 1 exited, 2 killed, 3 dumped).
Cause unit(const std::string& result, int code, int status) {
  strategies::UnitState s;
  s.activeState = strategies::ActiveState::failed;
  s.result = result;
  s.execMainCode = code;
  s.execMainStatus = status;
  return Cause::ofUnit("demo.service", s);
}

}  // namespace

TEST(Cause, EachSystemdResultIsClassifiedAndSaidInWords) {
  struct Row {
    Cause cause;
    CauseKind kind;
    int code;
    std::string words;
    Severity severity;
  };
  for (const auto& row : std::vector<Row>{
           {unit("signal", 2, 9), CauseKind::signal, 9, "demo.service was killed by signal 9 (KILL)", Severity::critical},
           {unit("exit-code", 1, 3), CauseKind::exitCode, 3, "demo.service exited with status 3", Severity::critical},
           // systemd's own statuses for a setup that failed before the program ran
           {unit("exit-code", 1, 200), CauseKind::exitCode, 200,
            "demo.service exited with status 200/CHDIR: systemd could not change to its WorkingDirectory=, before the program ran",
            Severity::critical},
           {unit("core-dump", 3, 11), CauseKind::coreDump, 11, "demo.service dumped core (signal 11, SEGV)", Severity::critical},
           // systemd says "signal" when the dump itself was not collected; the main process' end still says core
           {unit("signal", 3, 6), CauseKind::coreDump, 6, "demo.service dumped core (signal 6, ABRT)", Severity::critical},
           {unit("oom-kill", 2, 9), CauseKind::oomKill, 0, "demo.service was killed by the OOM killer", Severity::critical},
           {unit("watchdog", 2, 6), CauseKind::watchdog, 0, "demo.service missed its watchdog (WatchdogSec=)", Severity::critical},
           {unit("timeout", 0, 0), CauseKind::timeout, 0, "demo.service timed out (starting, stopping, or running past its RuntimeMaxSec=)", Severity::critical},
           {unit("start-limit-hit", 1, 1), CauseKind::startLimit, 0, "demo.service hit its start limit (StartLimitBurst=)", Severity::critical},
           {unit("resources", 0, 0), CauseKind::resources, 0, "demo.service failed: systemd could not set up its resources", Severity::critical},
           {unit("protocol", 1, 0), CauseKind::failed, 0, "systemd reports demo.service failed (result: protocol)", Severity::critical},
           // Not read yet (the unit's properties come a moment after its state)
           {unit("", 0, 0), CauseKind::failed, 0, "systemd reports demo.service failed", Severity::critical},
           {Cause::stoppedBehindBack("demo.service"), CauseKind::stopped, 0,
            "demo.service stopped although it was running (not by medic)", Severity::warning},
           {Cause::ofCheck("health", "check 'health' failed 3 times in a row: HTTP 500"), CauseKind::check, 0,
            "check 'health' failed 3 times in a row: HTTP 500", Severity::warning},
       }) {
    EXPECT_EQ(row.cause.kind, row.kind) << row.words;
    EXPECT_EQ(row.cause.code, row.code) << row.words;
    EXPECT_EQ(row.cause.words, row.words);
    EXPECT_EQ(row.cause.severity(), row.severity) << row.words;
    EXPECT_EQ(strategies::causeKindFrom(row.cause.id()), row.kind) << "its word reads back";
  }
}

TEST(Cause, AWhenMatchesTheKindItsGroupOrTheCheckOrRuleByName) {
  Cause killed = unit("signal", 2, 9);
  EXPECT_TRUE(killed.matches("signal"));
  EXPECT_TRUE(killed.matches("crash"));
  EXPECT_TRUE(killed.matches("unit"));
  EXPECT_FALSE(killed.matches("unhealthy"));
  EXPECT_FALSE(killed.matches("oom-kill"));
  EXPECT_FALSE(unit("oom-kill", 2, 9).matches("crash")) << "an OOM kill is not a crash of the program";
  EXPECT_TRUE(unit("oom-kill", 2, 9).matches("oom-kill"));

  Cause config = Cause::ofCheck("config", "check 'config' failed");
  EXPECT_TRUE(config.matches("config"));
  EXPECT_TRUE(config.matches("check"));
  EXPECT_TRUE(config.matches("unhealthy"));
  EXPECT_FALSE(config.matches("health"));
  EXPECT_FALSE(config.matches("unit"));

  Cause slow = Cause::ofRule("slow", "health", "check 'health' failed");
  EXPECT_TRUE(slow.matches("slow"));
  EXPECT_TRUE(slow.matches("rule"));
  EXPECT_TRUE(slow.matches("health")) << "a check's name takes its rules firing too";
  EXPECT_FALSE(slow.matches("config"));
  EXPECT_FALSE(Cause::ofRule("", "health", "").matches("")) << "an unnamed rule is not named by an empty word";
  EXPECT_FALSE(Cause{}.matches("unit")) << "no cause matches nothing";
}

// What a unit wrote reaches receivers as valid UTF-8 on single lines, however long or
// broken it was: each line cut, the oldest dropped to fit, and the cutting said.
TEST(JournalExcerpt, LinesAreEscapedCutAndTheOldestDroppedToFit) {
  medic::strategies::ExcerptLimits limits;
  limits.lineBytes = 48;
  limits.totalBytes = 120;
  std::string invalid = "bad \xff\xfe bytes\x1b[31m and a\nnewline";
  std::string huge(1 << 20, 'x');
  auto out = medic::strategies::fitExcerpt({"first line", "second line", invalid, huge, "last words"}, limits);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0], "[2 earlier lines left out]");
  EXPECT_EQ(out[1], "bad \\xff\\xfe bytes\\x1b[31m and a\\x0anewline");
  EXPECT_EQ(out[2], std::string(48, 'x') + "... [cut]");
  EXPECT_EQ(out[3], "last words");
  size_t total = 0;
  for (const auto& line : out) total += line.size() + 1;
  EXPECT_LE(total, limits.totalBytes + out[0].size() + 1) << "within the cap, but for the note of what was left out";

  limits.totalBytes = 4096;
  EXPECT_EQ(medic::strategies::fitExcerpt({"a", "b"}, limits), (std::vector<std::string>{"a", "b"})) << "nothing to cut";
  EXPECT_EQ(medic::strategies::fitExcerpt({std::string(30, '\x01')}, limits), (std::vector<std::string>{std::string(
                                                                                   "\\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01... [cut]")}))
      << "cut where its escaped form reaches the limit";
}
