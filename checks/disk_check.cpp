#include "checks/disk_check.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include "runtime/path_rules.h"

namespace medic::checks {

std::optional<DiskUsage> readDiskUsage(const std::string& path, std::string& error) {
  struct statvfs st {};
  if (statvfs(path.c_str(), &st) != 0) {
    error = "cannot stat " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  DiskUsage u;
  double used = double(st.f_blocks - st.f_bfree);
  double usable = used + double(st.f_bavail);
  u.usedPercent = usable > 0 ? 100.0 * used / usable : 0;
  u.freeBytes = uint64_t(st.f_bavail) * st.f_frsize;
  if (st.f_files > 0) u.inodesUsedPercent = 100.0 * double(st.f_files - st.f_ffree) / double(st.f_files);
  return u;
}

std::unique_ptr<Probe> DiskCheck::start(ProbeEnv&, TimePoint, ResultCallback done) const {
  std::string error;
  auto u = readDiskUsage(spec_.path, error);
  if (!u) {
    done(CheckResult::unhealthy(error));
    return nullptr;
  }
  Status status = spec_.space.grade(u->usedPercent);
  // Each figure carries the thresholds that judged it, so the message never cites the
  // space thresholds for an inode verdict.
  std::string message = spec_.path + ": " + usage(u->usedPercent, "space used", spec_.space);
  if (u->inodesUsedPercent) {
    status = worst(status, spec_.inodes.grade(*u->inodesUsedPercent));
    message += ", " + usage(*u->inodesUsedPercent, "inodes used", spec_.inodes);
  }
  std::vector<PerfDatum> values = {{"used", u->usedPercent, "%"}, {"free", double(u->freeBytes), "B"}};
  if (u->inodesUsedPercent) values.push_back({"inodes_used", *u->inodesUsedPercent, "%"});
  done({status, message, {}, std::move(values)});
  return nullptr;
}

std::unique_ptr<Check> parseDiskCheck(MapReader& keys, const CheckContext&) {
  DiskSpec spec;
  if (keys.require("path") && keys.read("path", spec.path))
    if (auto e = checkAbsolutePath(spec.path)) keys.error("path", "'path' " + *e);
  readThresholds(keys, "used_", spec.space);
  readThresholds(keys, "inodes_", spec.inodes);
  return std::make_unique<DiskCheck>(spec);
}

}  // namespace medic::checks
