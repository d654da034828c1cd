#pragma once
/// Everything a probe may touch, in one place. Checks get nothing else: no globals, no
/// threads of their own, no blocking calls. All of it runs on the agent's one event loop.
namespace medic {
class EventLoop;
class CurlMulti;
class Resolver;
class ProcessTable;
class ChildReaper;
}  // namespace medic

namespace medic::checks {
class HeartbeatBoard;
class UnitAccountingReader;
class ScopeStarter;

struct ProbeEnv {
  EventLoop& loop;         ///< timers, fd watches, child watches
  CurlMulti& curl;         ///< libcurl multi driven by the loop (http)
  Resolver& resolver;      ///< non-blocking name lookups (tcp)
  ProcessTable& processes; ///< one /proc scan shared by all process checks of a tick
  ChildReaper& reaper;     ///< takes over children of cancelled exec probes (TERM, then KILL)
  HeartbeatBoard& heartbeats;  ///< heartbeats pushed through the control interface (heartbeat)
  UnitAccountingReader* units = nullptr;  ///< systemd's accounting of units (unit); null: not connected
  ScopeStarter* scopes = nullptr;  ///< transient scopes that contain exec runs (exec); null: none
};

}  // namespace medic::checks
