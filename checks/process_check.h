#pragma once
/// process: how many processes match, by exact name, by command-line regex, or by a pidfile
/// (the pid is alive and not a zombie). Scans /proc once per tick, shared by all checks.
#include <optional>

#include "runtime/regex.h"
#include "checks/check.h"
#include "checks/cpu_meter.h"
#include "runtime/map_reader.h"

namespace medic::checks {

struct ProcessSpec {
  std::string name;                 ///< exact process name (as ps -e shows it)
  std::optional<Regex> cmdline;     ///< regex on the full command line
  std::string pidfile;
  int min = 1;
  std::optional<int> max;
};

class ProcessCheck : public Check {
 public:
  explicit ProcessCheck(ProcessSpec spec) : spec_(std::move(spec)) {}
  const ProcessSpec& spec() const { return spec_; }
  std::string target() const override;
  std::vector<ValueInfo> values() const override { return {{"count", ""}, {"rss", "B"}, {kCpuValue, "%"}, {"cpu_seconds", "c"}}; }
  std::unique_ptr<Probe> start(ProbeEnv& env, TimePoint deadline, ResultCallback done) const override;

 private:
  CheckResult byPidfile(TimePoint now) const;
  /// The values of what matched, with CPU % since the previous run.
  std::vector<PerfDatum> measure(TimePoint now, int count, uint64_t rss, double cpuSeconds) const;
  ProcessSpec spec_;
  mutable CpuMeter cpu_;  ///< the previous run's CPU time (runs of one check never overlap)
};

std::unique_ptr<Check> parseProcessCheck(MapReader& keys, const CheckContext&);

}  // namespace medic::checks
