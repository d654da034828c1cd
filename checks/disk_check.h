#pragma once
/// disk: used space and used inodes of the filesystem holding `path` (statvfs, as df counts
/// them: space reserved for root counts as unavailable).
#include <cstdint>
#include <optional>

#include "checks/check.h"
#include "checks/thresholds.h"

namespace medic::checks {

struct DiskSpec {
  std::string path;
  UsageThresholds space;          ///< used_warn / used_crit, default 80 / 90
  UsageThresholds inodes;         ///< inodes_warn / inodes_crit, default 80 / 90
};

/// The filesystem holding `path`, counted as df counts it: used / (used + available to
/// unprivileged users). Inodes unset where the filesystem has no fixed count (btrfs).
struct DiskUsage {
  double usedPercent = 0;
  std::optional<double> inodesUsedPercent;
  uint64_t freeBytes = 0;  ///< what unprivileged users can still write
};
/// nullopt with `error` set when statvfs fails.
std::optional<DiskUsage> readDiskUsage(const std::string& path, std::string& error);

class DiskCheck : public Check {
 public:
  explicit DiskCheck(DiskSpec spec) : spec_(std::move(spec)) {}
  const DiskSpec& spec() const { return spec_; }
  std::string target() const override { return "disk " + spec_.path; }
  std::vector<ValueInfo> values() const override { return {{"used", "%"}, {"inodes_used", "%"}, {"free", "B"}}; }
  std::unique_ptr<Probe> start(ProbeEnv& env, TimePoint deadline, ResultCallback done) const override;

 private:
  DiskSpec spec_;
};

std::unique_ptr<Check> parseDiskCheck(MapReader& keys, const CheckContext&);

}  // namespace medic::checks
