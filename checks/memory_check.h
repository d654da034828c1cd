#pragma once
/// memory: used memory computed from MemAvailable (what can be had without swapping), not
/// MemFree (which counts the page cache as used); optionally swap.
#include <algorithm>
#include <cstdint>
#include <optional>

#include "checks/check.h"
#include "checks/thresholds.h"

namespace medic::checks {

struct MemorySpec {
  UsageThresholds memory;                ///< warn / crit, default 90 / 95
  std::optional<UsageThresholds> swap;   ///< swap_warn / swap_crit, off by default
  std::string meminfo = "/proc/meminfo";
};

/// /proc/meminfo's figures, in kB.
struct MemoryUsage {
  uint64_t totalKb = 0, availableKb = 0, swapTotalKb = 0, swapFreeKb = 0;
  double usedPercent() const { return 100.0 * double(totalKb - std::min(availableKb, totalKb)) / double(totalKb); }
  double availablePercent() const { return 100.0 - usedPercent(); }
};
/// nullopt with `error` set when the file cannot be read or lacks MemTotal/MemAvailable.
std::optional<MemoryUsage> readMemoryUsage(const std::string& meminfo, std::string& error);

class MemoryCheck : public Check {
 public:
  explicit MemoryCheck(MemorySpec spec) : spec_(std::move(spec)) {}
  const MemorySpec& spec() const { return spec_; }
  std::string target() const override { return "memory"; }
  std::vector<ValueInfo> values() const override { return {{"used", "%"}, {"available", "B"}, {"swap_used", "%"}}; }
  std::unique_ptr<Probe> start(ProbeEnv& env, TimePoint deadline, ResultCallback done) const override;

 private:
  MemorySpec spec_;
};

std::unique_ptr<Check> parseMemoryCheck(MapReader& keys, const CheckContext&);

}  // namespace medic::checks
