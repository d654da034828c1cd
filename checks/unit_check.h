#pragma once
/// unit: the service unit's own resources, from systemd's accounting over D-Bus — memory
/// (MemoryCurrent, and its share of MemoryMax when set), CPU time (CPUUsageNSec), tasks
/// (TasksCurrent) and restarts (NRestarts). cgroup-exact, where a process check sums a tree it
/// guessed. Where systemd keeps no accounting for the unit (accounting off, or controllers
/// systemd cannot use), the unit's own processes — its control group's process list — are
/// summed from /proc instead, and the result says which source it used.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "checks/check.h"
#include "checks/cpu_meter.h"
#include "runtime/map_reader.h"

namespace medic::checks {

/// What systemd says of a unit's resources; a figure systemd does not keep is nullopt.
struct UnitAccounting {
  std::optional<uint64_t> memoryBytes, memoryMaxBytes, cpuNanoseconds, tasks;
  uint32_t restarts = 0;
  std::string controlGroup;  ///< "/system.slice/web.service": where its processes are
  std::string error;         ///< the read failed (then nothing else is set)
};

/// The door to systemd's accounting a probe may use (the agent's D-Bus client implements it).
class UnitAccountingReader {
 public:
  virtual ~UnitAccountingReader() = default;
  virtual void readAccounting(const std::string& unit, std::function<void(UnitAccounting)> done) = 0;
};

struct UnitCheckSpec {
  std::string unit;
  std::optional<uint64_t> memoryWarn, memoryCrit;  ///< bytes
  std::optional<int> tasksWarn, tasksCrit;
  std::optional<double> cpuWarn, cpuCrit;  ///< CPU % over the interval (100 = one core)
};

class UnitCheck : public Check {
 public:
  explicit UnitCheck(UnitCheckSpec spec) : spec_(std::move(spec)) {}
  const UnitCheckSpec& spec() const { return spec_; }
  std::string target() const override { return "unit " + spec_.unit; }
  std::vector<ValueInfo> values() const override {
    return {{"memory", "B"}, {"memory_max_used", "%"}, {kCpuValue, "%"}, {"cpu_seconds", "c"}, {"tasks", ""}, {"restarts", "c"}};
  }
  std::unique_ptr<Probe> start(ProbeEnv& env, TimePoint deadline, ResultCallback done) const override;
  /// The verdict on what was read at `now`: thresholds, values and their sources in the message.
  CheckResult judge(const UnitAccounting& a, TimePoint now) const;

 private:
  UnitCheckSpec spec_;
  mutable CpuMeter cpu_;  ///< the previous run's CPU time (runs of one check never overlap)
};

/// The processes of a control group (cgroup v2, or v1's name=systemd hierarchy) summed from
/// /proc: memory (RSS), CPU time and the count. Fills what systemd did not keep; false when
/// the group's process list cannot be read.
bool sumControlGroup(const std::string& controlGroup, UnitAccounting& a, std::string& error);

std::unique_ptr<Check> parseUnitCheck(MapReader& keys, const CheckContext& where);

}  // namespace medic::checks
