#pragma once
/// How often a process's cgroup met its limits: the kernel's own counters, read from
/// cgroupfs for the cgroup `pid` is in (cgroup v2, or the memory and pids controllers of v1).
/// Async-signal-safe (open, read, close on fixed buffers, no allocation): an exec check's
/// shepherd calls it between fork() and _exit(), medic calls it from its loop.
#include <sys/types.h>

#include <cstdint>

namespace medic {

struct LimitHits {
  uint64_t oomKills = 0;      ///< processes the kernel killed at the memory limit (oom_kill)
  uint64_t tasksRefused = 0;  ///< fork()s and clone()s refused at the task limit (pids.events max)
};

/// `pid` 0: the calling process. Counters that cannot be read stay 0.
LimitHits readLimitHits(pid_t pid);

}  // namespace medic
