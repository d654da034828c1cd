// `medic report` over a fixed history: faults counted by cause, severity and outcome, steps
// by verdict, times to recover of those recovered, rto breaches; and the fault records the
// state keeps as a recovery's events come.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "recovery/report.h"

using namespace medic;
using recovery::Decision;
using recovery::Event;
using recovery::FaultRecord;

namespace {

constexpr int64_t kDay = 24 * 3600 * 1000;
constexpr int64_t kNow = 1'800'000'000'000;

FaultRecord fault(int64_t startedAgoMs, double seconds, const char* cause, const char* severity, const char* outcome,
                  std::vector<std::string> steps, bool overRto = false) {
  int64_t start = kNow - startedAgoMs;
  std::vector<recovery::StepVerdict> verdicts;  // ("restart healed": a step and its verdict)
  for (const auto& s : steps) verdicts.push_back({s.substr(0, s.find(' ')), s.substr(s.find(' ') + 1)});
  return {start, *outcome ? start + int64_t(seconds * 1000) : 0, cause, severity, outcome, std::move(verdicts), overRto, false, ""};
}

recovery::SavedState history() {
  recovery::SavedState s;
  s.services["web"].faults = {
      fault(30 * kDay, 5, "signal", "critical", "recovered", {"restart healed"}),  // before the week asked for
      fault(6 * kDay, 2, "signal", "critical", "recovered", {"restart healed"}),
      fault(5 * kDay, 40, "check", "warning", "recovered", {"restart did_not_heal", "reload skipped", "restore healed"}, true),
      fault(4 * kDay, 90, "check", "warning", "gave-up", {"restart did_not_heal", "reload failed", "restore did_not_heal"}, true),
  };
  s.services["db"].faults = {
      fault(3 * kDay, 1, "exit-code", "critical", "recovered", {"restart healed"}),
      fault(2 * kDay, 0, "oom-kill", "critical", "healed", {}),
      fault(1000, 0, "core-dump", "critical", "", {"restart done"}),  // under way
  };
  return s;
}

}  // namespace

TEST(FaultReport, CountsTheFaultsOfThePeriodByCauseSeverityAndOutcome) {
  auto r = recovery::buildReport(history(), kNow - 7 * kDay, kNow);
  EXPECT_EQ(r.faults, 6u) << "the one of 30 days ago is outside the week";
  EXPECT_EQ(r.byCause, (std::map<std::string, uint64_t>{{"check", 2}, {"core-dump", 1}, {"exit-code", 1}, {"oom-kill", 1}, {"signal", 1}}));
  EXPECT_EQ(r.bySeverity, (std::map<std::string, uint64_t>{{"critical", 4}, {"warning", 2}}));
  EXPECT_EQ(r.byOutcome,
            (std::map<std::string, uint64_t>{{"gave-up", 1}, {"healed", 1}, {"recovered", 3}, {"under-way", 1}}));
  EXPECT_DOUBLE_EQ(r.successRate(), 3.0 / 5.0) << "recovered of those that ended";
  EXPECT_EQ(r.recoverySeconds, (std::vector<double>{1, 2, 40})) << "db's, then web's two (services by name)";
  EXPECT_DOUBLE_EQ(r.meanSeconds(), 43.0 / 3);
  EXPECT_DOUBLE_EQ(r.maxSeconds(), 40);
  EXPECT_EQ(r.rtoExceeded, 2u);
  EXPECT_EQ(r.steps["restart"], (std::map<std::string, uint64_t>{{"did_not_heal", 2}, {"done", 1}, {"healed", 2}}));
  EXPECT_EQ(r.steps["reload"], (std::map<std::string, uint64_t>{{"failed", 1}, {"skipped", 1}}));
  EXPECT_EQ(r.steps["restore"], (std::map<std::string, uint64_t>{{"did_not_heal", 1}, {"healed", 1}}));
  EXPECT_EQ(r.services["web"].faults, 3u);
  EXPECT_EQ(r.services["web"].recovered, 2u);
  EXPECT_DOUBLE_EQ(r.services["web"].worstSeconds, 40);
  EXPECT_EQ(r.services["web"].rtoExceeded, 2u);

  std::string text = recovery::reportText(r);
  EXPECT_NE(text.find("  by cause:     check 2, core-dump 1, exit-code 1, oom-kill 1, signal 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("(success rate 60%)"), std::string::npos) << text;
  EXPECT_NE(text.find("  to recover:   mean 14.3s, p95 40.0s, max 40.0s over 3 recovered (from the recovery's start)\n"),
            std::string::npos) << text;
  auto json = nlohmann::json::parse(recovery::reportJson(r));
  EXPECT_EQ(json["faults"], 6);
  EXPECT_EQ(json["by_cause"]["check"], 2);
  EXPECT_EQ(json["rto_exceeded"], 2);

  auto month = recovery::buildReport(history(), kNow - 31 * kDay, kNow);
  EXPECT_EQ(month.faults, 7u);
  EXPECT_EQ(recovery::buildReport({}, kNow - kDay, kNow).faults, 0u);
}

// A fault that gave up has no time to recover: "-" and null, never a 0.0s nobody measured.
TEST(FaultReport, AFaultThatDidNotRecoverHasNoTimeToRecover) {
  recovery::SavedState s;
  s.services["web"].faults.push_back({kNow - kDay, kNow - kDay + 60'000, "check", "warning", "gave-up", {{"restart", "did_not_heal"}}, false, false, ""});
  auto r = recovery::buildReport(s, kNow - 7 * kDay, kNow);
  std::string text = recovery::reportText(r);
  EXPECT_NE(text.find("  to recover:   - (none recovered)\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("0.0s"), std::string::npos) << text;
  EXPECT_NE(text.find("web      1       0          -      0"), std::string::npos) << text;
  auto json = nlohmann::json::parse(recovery::reportJson(r));
  EXPECT_TRUE(json["mean_seconds"].is_null()) << json;
  EXPECT_TRUE(json["max_seconds"].is_null()) << json;
  EXPECT_TRUE(json["services"]["web"]["worst_seconds"].is_null()) << json;
}

// A drill's record counts from its recovery's start, and the report says so (`medic drill`
// counts from the fault it injected).
TEST(FaultReport, DrillTimesSayWhichIntervalTheyMeasure) {
  recovery::SavedState s;
  s.services["web"].faults.push_back({kNow - kDay, kNow - kDay + 1'500, "signal", "critical", "recovered", {{"restart", "healed"}}, false, true, ""});
  std::string text = recovery::reportText(recovery::buildReport(s, kNow - 7 * kDay, kNow));
  EXPECT_NE(text.find("drills (apart from the faults): 1, 1 healed, worst 1.5s from the recovery's start to verified healthy"),
            std::string::npos) << text;
}

// The records behind it, as the supervisor notes a recovery's events.
TEST(FaultReport, ARecoverysEventsMakeOneFaultRecord) {
  recovery::ServiceState st;
  auto event = [&](Event e, int64_t at, strategies::Cause cause = {}) {
    Decision d = Decision::of(Decision::Kind::record);
    d.event = e;
    d.cause = cause;
    st.noteEvent(d, at);
  };
  auto step = [&](const char* kind, int64_t at, strategies::StepOutcome::Result result) {
    st.stepStarted(1, kind, Decision::of(Decision::Kind::runStep), at);
    st.stepEnded({result, ""}, at + 10);
  };
  event(Event::recoveryStarted, 1000, strategies::Cause{strategies::CauseKind::signal, "", "", 9, "killed"});
  step("restart", 1000, strategies::StepOutcome::Result::done);
  event(Event::stepFailed, 2000);
  step("reload", 2000, strategies::StepOutcome::Result::skipped);
  step("restore", 2100, strategies::StepOutcome::Result::done);
  st.noteRtoExceeded();
  st.noteRtoExceeded();  // (said once)
  event(Event::recovered, 4500);
  ASSERT_EQ(st.faults.size(), 1u);
  const auto& f = st.faults.back();
  EXPECT_EQ(f.cause, "signal");
  EXPECT_EQ(f.severity, "critical");
  EXPECT_EQ(f.outcome, "recovered");
  EXPECT_EQ(f.endedMs - f.startedMs, 3500);
  EXPECT_EQ(f.steps, (std::vector<recovery::StepVerdict>{{"restart", "did_not_heal"}, {"reload", "skipped"}, {"restore", "healed"}}));
  EXPECT_TRUE(f.rtoExceeded);
  EXPECT_EQ(st.figures.rtoExceeded, 1u);
  // Counted into the time-to-recover histogram /metrics exports (3.5 s: le 5 and up).
  EXPECT_EQ(st.figures.ttrBuckets[4], 0u) << "le 2.5";
  EXPECT_EQ(st.figures.ttrBuckets[5], 1u) << "le 5";
  EXPECT_EQ(st.figures.ttrBuckets.back(), 1u) << "+Inf";
  EXPECT_DOUBLE_EQ(st.figures.ttrSeconds, 3.5);

  event(Event::recoveryStarted, 10'000, strategies::Cause::ofCheck("health", "check 'health' failed"));
  event(Event::gaveUp, 20'000);
  event(Event::healed, 30'000);
  ASSERT_EQ(st.faults.size(), 2u);
  EXPECT_EQ(st.faults.back().outcome, "gave-up") << "healing by itself later does not rewrite how the recovery ended";
  EXPECT_EQ(st.faults.back().severity, "warning");

  auto back = recovery::fromJson(recovery::toJson([&] {
    recovery::SavedState s;
    s.services["web"] = st;
    return s;
  }()));
  EXPECT_EQ(back.services["web"].faults.size(), 2u);
  EXPECT_EQ(back.services["web"].faults.front().steps, f.steps) << "kept across restarts";
  EXPECT_TRUE(back.services["web"].faults.front().rtoExceeded);
  EXPECT_EQ(back.services["web"].figures.ttrBuckets, st.figures.ttrBuckets) << "the histogram's counts survive a restart";
  EXPECT_DOUBLE_EQ(back.services["web"].figures.ttrSeconds, 3.5);
}

// A drill's recovery is recorded as one: in the fault records, marked, out of the figures
// and of the report's real counts, reported apart.
TEST(FaultReport, DrillsAreKeptApartFromRealFaults) {
  recovery::ServiceState st;
  auto event = [&](Event e, int64_t at) {
    Decision d = Decision::of(Decision::Kind::record);
    d.event = e;
    d.cause = strategies::Cause{strategies::CauseKind::signal, "", "", 9, "killed"};
    st.noteEvent(d, at);
  };
  st.drill = true;
  event(Event::recoveryStarted, kNow - 10'000);
  event(Event::recovered, kNow - 9'000);
  st.drill = false;
  event(Event::recoveryStarted, kNow - 5'000);
  event(Event::recovered, kNow - 2'000);
  EXPECT_EQ(st.figures.recoveries, 1u) << "the drill is not a real recovery";
  EXPECT_EQ(st.figures.recoverySeconds, (std::vector<double>{3}));
  ASSERT_EQ(st.faults.size(), 2u);
  EXPECT_TRUE(st.faults[0].drill);
  EXPECT_FALSE(st.faults[1].drill);
  recovery::SavedState s;
  s.services["web"] = st;
  auto r = recovery::buildReport(recovery::fromJson(recovery::toJson(s)), kNow - kDay, kNow);
  EXPECT_EQ(r.faults, 1u);
  EXPECT_EQ(r.recoverySeconds, (std::vector<double>{3}));
  EXPECT_EQ(r.drills, 1u);
  EXPECT_EQ(r.drillsRecovered, 1u);
  EXPECT_EQ(r.drillSeconds, (std::vector<double>{1}));
  EXPECT_NE(recovery::reportText(r).find("drills (apart from the faults): 1, 1 healed, worst 1.0s"), std::string::npos);
}

// A save reuses what the last one wrote of the older fault records: whatever happens between
// saves (a recovery starting, its steps and end, the oldest record dropped at the cap, a
// service removed by a reload), the text is the one written from scratch, and reads back.
TEST(FaultReport, ASaveWritesTheSameAsOneFromScratchWhateverChangedSinceTheLast) {
  recovery::SavedState state;
  recovery::SaveCache cache;
  auto same = [&](const char* after) {
    std::string cached = recovery::toJson(state, &cache);
    EXPECT_EQ(cached, recovery::toJson(state)) << "after " << after;
    EXPECT_EQ(recovery::toJson(recovery::fromJson(cached)), cached) << "after " << after;
  };
  same("nothing yet");
  auto event = [&](const std::string& service, Event e, int64_t at) {
    Decision d = Decision::of(Decision::Kind::record);
    d.event = e;
    d.cause = strategies::Cause{strategies::CauseKind::signal, "", "", 9, "killed"};
    state.services[service].noteEvent(d, at);
  };
  for (int i = 0; i < 3; ++i) {
    event("web", Event::recoveryStarted, kNow + i * 1000);
    same("a recovery started");
    state.services["web"].stepStarted(uint64_t(i + 1), "restart", Decision::of(Decision::Kind::record), kNow + i * 1000 + 10);
    same("a step started");
    state.services["web"].stepEnded({strategies::StepOutcome::Result::done, "done"}, kNow + i * 1000 + 20);
    same("a step ended");
    event("web", Event::recovered, kNow + i * 1000 + 500);
    same("a recovery ended");
    event("db", Event::recoveryStarted, kNow + i * 1000 + 600);
    same("another service's recovery");
  }
  auto& faults = state.services["web"].faults;
  while (faults.size() < recovery::StateStore::kFaultsKept) faults.push_front(faults.front());
  same("records filled to the cap");
  int64_t at = kNow + 10'000;
  for (int i = 0; i < 3; ++i, at += 1000) {
    event("web", Event::recoveryStarted, at);  // the oldest record goes
    same("a recovery at the cap");
    ASSERT_EQ(faults.size(), recovery::StateStore::kFaultsKept);
  }
  state.services.erase("db");
  same("a service removed");
  EXPECT_EQ(cache.faults.count("db"), 0u) << "its records are not kept";
}
