#pragma once
/// Everything a probe may touch, in one place. Checks get nothing else: no globals, no
/// threads of their own, no blocking calls. All of it runs on the agent's one event loop.
namespace medic::agent {
class EventLoop;
class CurlMulti;
class Resolver;
class ProcessTable;
class ChildReaper;
}  // namespace medic::agent

namespace medic::checks {

struct ProbeEnv {
  agent::EventLoop& loop;         ///< timers, fd watches, child watches
  agent::CurlMulti& curl;         ///< libcurl multi driven by the loop (http)
  agent::Resolver& resolver;      ///< non-blocking name lookups (tcp)
  agent::ProcessTable& processes; ///< one /proc scan shared by all process checks of a tick
  agent::ChildReaper& reaper;     ///< takes over children of cancelled exec probes (TERM, then KILL)
};

}  // namespace medic::checks
