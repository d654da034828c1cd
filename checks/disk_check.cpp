#include "checks/disk_check.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include "runtime/path_rules.h"

namespace medic::checks {

std::unique_ptr<Probe> DiskCheck::start(ProbeEnv&, TimePoint, ResultCallback done) const {
  struct statvfs st {};
  if (statvfs(spec_.path.c_str(), &st) != 0) {
    done(CheckResult::unhealthy("cannot stat " + spec_.path + ": " + std::strerror(errno)));
    return nullptr;
  }
  // As df: used / (used + available to unprivileged users).
  double used = double(st.f_blocks - st.f_bfree);
  double usable = used + double(st.f_bavail);
  double usedPercent = usable > 0 ? 100.0 * used / usable : 0;
  Status status = spec_.space.grade(usedPercent);
  // Each figure carries the thresholds that judged it, so the message never cites the
  // space thresholds for an inode verdict.
  std::string message = spec_.path + ": " + usage(usedPercent, "space used", spec_.space);
  if (st.f_files > 0) {  // some filesystems (btrfs) have no fixed inode count
    double inodesPercent = 100.0 * double(st.f_files - st.f_ffree) / double(st.f_files);
    status = worst(status, spec_.inodes.grade(inodesPercent));
    message += ", " + usage(inodesPercent, "inodes used", spec_.inodes);
  }
  done({status, message, {}, {}});
  return nullptr;
}

std::unique_ptr<Check> parseDiskCheck(MapReader& keys) {
  DiskSpec spec;
  if (keys.require("path") && keys.read("path", spec.path))
    if (auto e = checkAbsolutePath(spec.path)) keys.error("path", "'path' " + *e);
  readThresholds(keys, "used_", spec.space);
  readThresholds(keys, "inodes_", spec.inodes);
  return std::make_unique<DiskCheck>(spec);
}

}  // namespace medic::checks
