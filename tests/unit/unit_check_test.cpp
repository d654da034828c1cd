// The unit check's verdict on what systemd reported: its accounting when it keeps one, the
// thresholds, the share of MemoryMax, and the fallback when it keeps none.
#include <gtest/gtest.h>

#include "checks/unit_check.h"
#include "config/loader.h"
#include "temp_dir.h"

using namespace medic;
using checks::Status;

namespace {

std::optional<config::Config> load(const std::string& check) {
  test::TempDir dir;
  auto r = config::loadConfig(dir.write("medic.yaml", "services:\n  web:\n    unit: web.service\n    checks:\n" + check));
  EXPECT_TRUE(r.config) << r.errors.str();
  return std::move(r.config);
}

const TimePoint t0{std::chrono::hours(1)};

TEST(UnitCheck, JudgesSystemdsAccountingAgainstItsThresholds) {
  auto config = load("      - {name: res, type: unit, memory_warn: 200M, memory_crit: 400M, tasks_crit: 50}\n");
  const auto& check = dynamic_cast<const checks::UnitCheck&>(*config->services[0].checks[0].check);
  EXPECT_EQ(check.spec().unit, "web.service") << "the service's unit by default";
  checks::UnitAccounting a;
  a.memoryBytes = 100ull << 20;
  a.memoryMaxBytes = 1ull << 30;
  a.cpuNanoseconds = 2'500'000'000;
  a.tasks = 7;
  a.restarts = 1;
  auto r = check.judge(a, t0);
  EXPECT_EQ(r.status, Status::healthy);
  EXPECT_EQ(r.message, "web.service: memory 100.0 MiB (9% of MemoryMax 1.0 GiB), 7 tasks, 1 restart, from systemd's accounting");
  std::map<std::string, double> v;
  for (const auto& p : r.perfdata) v[p.label] = p.value;
  EXPECT_EQ(v["cpu_seconds"], 2.5);
  EXPECT_NEAR(v["memory_max_used"], 9.77, 0.01);
  a.memoryBytes = 300ull << 20;
  EXPECT_EQ(check.judge(a, t0).status, Status::degraded);
  a.tasks = 50;
  EXPECT_EQ(check.judge(a, t0).status, Status::unhealthy);
}

TEST(UnitCheck, CpuIsTheShareOfACoreSinceThePreviousRun) {
  auto config = load("      - {name: res, type: unit, cpu_warn: 50%, cpu_crit: 150}\n");
  const auto& check = dynamic_cast<const checks::UnitCheck&>(*config->services[0].checks[0].check);
  checks::UnitAccounting a;
  a.memoryBytes = 1 << 20;
  a.tasks = 1;
  a.cpuNanoseconds = 10'000'000'000;
  auto cpuOf = [](const checks::CheckResult& r) -> std::optional<double> {
    for (const auto& p : r.perfdata)
      if (p.label == "cpu") return p.value;
    return std::nullopt;
  };
  auto r = check.judge(a, t0);
  EXPECT_EQ(cpuOf(r), std::nullopt) << "one reading has no interval";
  EXPECT_EQ(r.status, Status::healthy);
  a.cpuNanoseconds = *a.cpuNanoseconds + 1'000'000'000;  // one CPU second in two wall seconds
  r = check.judge(a, t0 + std::chrono::seconds(2));
  EXPECT_EQ(cpuOf(r), 50.0);
  EXPECT_EQ(r.status, Status::degraded) << r.message;
  EXPECT_NE(r.message.find("cpu 50.0%"), std::string::npos) << r.message;
  a.cpuNanoseconds = *a.cpuNanoseconds + 4'000'000'000;  // two cores busy for two seconds
  r = check.judge(a, t0 + std::chrono::seconds(4));
  EXPECT_EQ(cpuOf(r), 200.0);
  EXPECT_EQ(r.status, Status::unhealthy);
  a.cpuNanoseconds = 100'000'000;  // the unit restarted: its counter began again
  r = check.judge(a, t0 + std::chrono::seconds(6));
  EXPECT_EQ(cpuOf(r), std::nullopt) << "a counter that went back measures nothing";
  EXPECT_EQ(r.status, Status::healthy);
  a.cpuNanoseconds = 400'000'000;
  EXPECT_NEAR(*cpuOf(check.judge(a, t0 + std::chrono::seconds(9))), 10.0, 1e-9);
}

TEST(UnitCheck, WithoutAccountingAndWithoutAProcessListItCannotTell) {
  auto config = load("      - {name: res, type: unit}\n");
  const auto& check = dynamic_cast<const checks::UnitCheck&>(*config->services[0].checks[0].check);
  checks::UnitAccounting none;
  none.controlGroup = "/system.slice/no-such-unit-medic-test.service";
  auto r = check.judge(none, t0);
  EXPECT_EQ(r.status, Status::unknown);
  EXPECT_EQ(r.message, "web.service: systemd keeps no accounting of its memory, cpu and tasks and cannot read the process list of "
                       "/system.slice/no-such-unit-medic-test.service");
  checks::UnitAccounting failed;
  failed.error = "Unit web.service not found.";
  EXPECT_EQ(check.judge(failed, t0).message, "cannot read web.service from systemd: Unit web.service not found.");
}

}  // namespace
