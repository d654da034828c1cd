#pragma once
/// The event loop and the shared services probes use, built and torn down in the right
/// order. `medic check`, `medic run` and the integration tests all start from one of these.
#include "runtime/child_reaper.h"
#include "runtime/curl_multi.h"
#include "runtime/event_loop.h"
#include "runtime/process_table.h"
#include "runtime/resolver.h"
#include "checks/heartbeat_check.h"
#include "checks/probe_env.h"

namespace medic::checks {

struct ProbeHost {
  /// `killGrace`: how long a timed-out exec check's process group has between SIGTERM and SIGKILL.
  explicit ProbeHost(Duration killGrace = std::chrono::seconds(2)) : reaper(loop, killGrace) {}

  EventLoop loop;
  CurlMulti curl{loop};
  Resolver resolver{loop};
  ProcessTable processes;
  ChildReaper reaper;
  HeartbeatBoard heartbeats;
  ProbeEnv env{loop, curl, resolver, processes, reaper, heartbeats};
};

}  // namespace medic::checks
