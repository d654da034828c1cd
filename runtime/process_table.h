#pragma once
/// A snapshot of /proc, taken at most once per loop iteration: every process check due in
/// the same tick shares one scan.
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/duration.h"

namespace medic {

struct ProcessInfo {
  pid_t pid = 0;
  char state = '?';     ///< from /proc/PID/stat: R, S, D, Z, ...
  std::string comm;     ///< kernel name, at most 15 characters
  std::string cmdline;  ///< arguments joined by spaces
  uint64_t rssBytes = 0;    ///< resident set size
  double cpuSeconds = 0;    ///< user + system CPU time used so far
};

class ProcessTable {
 public:
  /// The processes as of `tick`; rescans /proc only when tick differs from the last scan's.
  const std::vector<ProcessInfo>& snapshot(TimePoint tick);
  size_t scans() const { return scans_; }

 private:
  std::vector<ProcessInfo> processes_;
  TimePoint scannedAt_{};
  bool valid_ = false;
  size_t scans_ = 0;
};

/// Reads one process; false when it does not exist (or is gone).
bool readProcess(pid_t pid, ProcessInfo& out);

}  // namespace medic
