// Rules over windows of a check's values, judged at hand-picked times: every statistic,
// windows that expire, `for:`, the minimum of samples, the memory bound, and a reload.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "checks/rules.h"
#include "config/loader.h"
#include "temp_dir.h"

using namespace medic;
using namespace std::chrono_literals;
using checks::RuleBook;
using checks::Status;

namespace {

const TimePoint t0 = TimePoint(std::chrono::hours(1000));

// The rules of the first check of a config with one http check (interval 10s) and `rules`.
std::vector<checks::RuleSpec> rulesOf(const std::string& rules, const std::string& interval = "10s") {
  test::TempDir dir;
  auto result = config::loadConfig(dir.write("medic.yaml", "services:\n  web:\n    unit: web.service\n    checks:\n"
                                                           "      - name: h\n        type: http\n        url: http://127.0.0.1/\n"
                                                           "        interval: " + interval + "\n        rules:\n" + rules));
  EXPECT_TRUE(result.config) << result.errors.str();
  return result.config ? result.config->services[0].checks[0].rules : std::vector<checks::RuleSpec>{};
}

std::string errorsOf(const std::string& checkYaml) {
  test::TempDir dir;
  auto result = config::loadConfig(dir.write("medic.yaml", "services:\n  web:\n    unit: web.service\n    checks:\n" + checkYaml));
  std::string out;
  for (const auto& e : result.errors.all()) out += e.str().substr(e.str().find("medic.yaml")) + "\n";
  return out;
}

checks::CheckResult result(double time, Status status = Status::healthy) {
  return {status, "HTTP 200", {}, {{"time", time, "s"}, {"status", 200, ""}}};
}

TEST(Rules, EveryStatisticOverItsWindow) {
  // Times 0.1 .. 1.0 s, one every 10 s: the window of 100 s holds all ten.
  struct Case {
    std::string stat;
    double expected;
  };
  for (const auto& c : std::vector<Case>{{"last", 1.0}, {"avg", 0.55}, {"min", 0.1}, {"max", 1.0}, {"p50", 0.5}, {"p90", 0.9},
                                         {"p95", 1.0}, {"p99", 1.0}}) {
    auto rules = rulesOf("          - {value: time, stat: " + c.stat + (c.stat == "last" ? "" : ", over: 100s") + ", above: 10s}\n");
    ASSERT_EQ(rules.size(), 1u);
    RuleBook book;
    for (int i = 1; i <= 10; ++i) book.judge(rules, result(i / 10.0), t0 + std::chrono::seconds(10 * i));
    ASSERT_TRUE(book.states()[0].stat) << c.stat;
    EXPECT_NEAR(*book.states()[0].stat, c.expected, 1e-9) << c.stat;
  }
}

TEST(Rules, RateIsTheChangePerSecondOfACounter) {
  test::TempDir dir;
  auto loaded = config::loadConfig(dir.write("medic.yaml",
                                             "services:\n  w:\n    unit: w.service\n    checks:\n"
                                             "      - name: p\n        type: process\n        process_name: w\n        interval: 1s\n"
                                             "        rules: [{value: cpu_seconds, stat: rate, over: 1m, above: 0.8, then: degraded}]\n"));
  ASSERT_TRUE(loaded.config) << loaded.errors.str();
  auto rules = loaded.config->services[0].checks[0].rules;
  RuleBook book;
  auto cpu = [](double seconds) { return checks::CheckResult{Status::healthy, "1 process", {}, {{"cpu_seconds", seconds, "c"}}}; };
  EXPECT_EQ(book.judge(rules, cpu(100), t0).status, Status::healthy) << "one sample has no rate";
  auto r = book.judge(rules, cpu(109), t0 + 10s);  // 0.9 CPU seconds per second
  EXPECT_EQ(r.status, Status::degraded);
  EXPECT_EQ(r.message, "1 process; rate of cpu_seconds over 1m is 0.9/s, above 0.8/s");
}

TEST(Rules, OldSamplesLeaveTheWindow) {
  auto rules = rulesOf("          - {value: time, stat: max, over: 1m, above: 800ms}\n");
  RuleBook book;
  EXPECT_EQ(book.judge(rules, result(2.0), t0).status, Status::healthy) << "one sample: below min_samples 3";
  book.judge(rules, result(0.1), t0 + 10s);
  auto r = book.judge(rules, result(0.1), t0 + 20s);
  EXPECT_EQ(r.status, Status::degraded) << "max of the three is 2s";
  EXPECT_EQ(r.message, "HTTP 200; max of time over 1m is 2s, above 800ms");
  book.judge(rules, result(0.1), t0 + 50s);
  EXPECT_EQ(book.judge(rules, result(0.1), t0 + 61s).status, Status::healthy) << "the 2s run is older than a minute";
  EXPECT_EQ(*book.states()[0].stat, 0.1);
}

TEST(Rules, ForMustHoldThatLongAndTheWorseVerdictWins) {
  auto rules = rulesOf("          - {value: time, stat: last, above: 1s, for: 30s, then: unhealthy}\n");
  RuleBook book;
  EXPECT_EQ(book.judge(rules, result(2), t0).status, Status::healthy) << "breached, not yet for 30s";
  EXPECT_TRUE(book.states()[0].breached);
  EXPECT_FALSE(book.states()[0].firing);
  EXPECT_EQ(book.judge(rules, result(2), t0 + 20s).status, Status::healthy);
  auto r = book.judge(rules, result(2, Status::degraded), t0 + 30s);
  EXPECT_EQ(r.status, Status::unhealthy) << "the rule's unhealthy beats the check's degraded";
  EXPECT_EQ(r.message, "HTTP 200; last of time is 2s, above 1s for 30s");
  EXPECT_EQ(book.judge(rules, result(0.5), t0 + 40s).status, Status::healthy) << "clears at once";
  EXPECT_EQ(book.judge(rules, result(2), t0 + 50s).status, Status::healthy) << "and the 30s start again";
  auto failing = book.judge(rules, result(0.1, Status::unhealthy), t0 + 60s);
  EXPECT_EQ(failing.status, Status::unhealthy) << "a rule never makes a failing check better";
}

TEST(Rules, MinSamplesAndBelow) {
  auto rules = rulesOf("          - {value: status, stat: avg, over: 5m, below: 300, min_samples: 4}\n");
  RuleBook book;
  for (int i = 0; i < 3; ++i) book.judge(rules, result(0.1), t0 + std::chrono::seconds(10 * i));
  EXPECT_FALSE(book.states()[0].stat) << "3 of 4 samples";
  EXPECT_EQ(RuleBook::says(rules[0], book.states()[0]), "avg of status over 5m: 3 of 4 samples");
  EXPECT_EQ(book.judge(rules, result(0.1), t0 + 30s).status, Status::degraded) << "avg 200, below 300";
}

TEST(Rules, AWindowIsBoundedInMemory) {
  // Results may come faster than the interval (a heartbeat pushed often): the window is cut
  // at kMaxSamples whatever its span.
  auto rules = rulesOf("          - {value: time, stat: max, over: 16m, above: 1s}\n", "100ms");
  RuleBook book;
  for (int i = 0; i < 19200; ++i) book.judge(rules, result(0.1), t0 + std::chrono::milliseconds(50 * i));
  EXPECT_EQ(book.samples("time"), checks::kMaxSamples);
  EXPECT_EQ(book.samples("status"), 0u) << "only judged values are kept";
}

TEST(Rules, AReloadKeepsTheWindowsOfRulesThatStay) {
  auto before = rulesOf("          - {value: time, stat: p95, over: 5m, above: 800ms, for: 30s}\n");
  auto after = rulesOf("          - {value: time, stat: p95, over: 5m, above: 800ms, for: 30s}\n"
                       "          - {value: status, stat: last, above: 499}\n");
  RuleBook book;
  for (int i = 0; i < 6; ++i) book.judge(before, result(2), t0 + std::chrono::seconds(10 * i));
  ASSERT_TRUE(book.states()[0].breachedSince);
  book.keep(before, after);
  EXPECT_EQ(book.samples("time"), 6u);
  auto r = book.judge(after, result(2), t0 + 60s);
  EXPECT_EQ(r.status, Status::degraded) << "breached since the third sample, before the reload: " << r.message;
  EXPECT_EQ(r.message, "HTTP 200; p95 of time over 5m is 2s, above 800ms for 40s");
}

TEST(Rules, StrictConfig) {
  std::string errors = errorsOf(
      "      - name: h\n        type: http\n        url: http://127.0.0.1/\n        interval: 10s\n        rules:\n"
      "          - {value: latency, stat: p95, over: 5m, above: 1s}\n"
      "          - {value: time, stat: p42, over: 5m, above: 1s}\n"
      "          - {value: time, stat: p95, over: 5s, above: 1s}\n"
      "          - {value: time, stat: rate, over: 5m, above: 1}\n"
      "          - {value: time, above: 1s, below: 2s}\n"
      "          - {value: size, stat: last, over: 1m, above: 1Q}\n"
      "      - {name: d, type: disk, path: /, rules: [{value: used, stat: rate, over: 1h, above: 1}]}\n");
  EXPECT_EQ(errors,
            "medic.yaml:10:21: service 'web': check 'h': rule: this check has no value 'latency'; it has: time, connect, tls, ttfb, status, size\n"
            "medic.yaml:11:33: service 'web': check 'h': rule: 'stat' must be one of last, avg, min, max, p50, p90, p95, p99, rate; got 'p42'\n"
            "medic.yaml:12:44: service 'web': check 'h': rule: 'over' (5s) is shorter than the check's interval (10s): the window would hold one run at most\n"
            "medic.yaml:13:33: service 'web': check 'h': rule: 'rate' is the change per second of a count or a size; 'time' is a time: use avg, max or a percentile\n"
            "medic.yaml:14:13: service 'web': check 'h': rule: a rule needs exactly one of 'above' or 'below'\n"
            "medic.yaml:15:45: service 'web': check 'h': rule: 'stat: last' has no window: 'over' does not apply\n"
            "medic.yaml:15:56: service 'web': check 'h': rule: 'above' must be a size like 512, 10K, 5M or 1G, got '1Q'\n"
            "medic.yaml:16:68: service 'web': check 'd': rule: 'rate' is the change per second of a count or a size; 'used' is a percentage: use avg, max or a percentile\n");
}

TEST(Rules, CpuMayCountSeveralCoresOtherSharesNot) {
  std::string errors = errorsOf(
      "      - {name: u, type: unit, cpu_warn: 150%, cpu_crit: 120, rules: [{value: cpu, stat: avg, over: 1m, above: 250%}]}\n"
      "      - {name: d, type: disk, path: /, rules: [{value: used, stat: max, over: 1h, above: 150%}]}\n");
  EXPECT_EQ(errors,
            "medic.yaml:5:41: service 'web': check 'u': 'cpu_warn' must not exceed 'cpu_crit'\n"
            "medic.yaml:6:90: service 'web': check 'd': rule: 'above' must be a percentage between 0 and 100, got '150%'\n");
}

}  // namespace
