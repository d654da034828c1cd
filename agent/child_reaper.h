#pragma once
/// Takes over child process groups whose probe was cancelled or timed out: sends SIGTERM
/// to the whole group, SIGKILL after a grace period, and reaps the child. Nothing is left
/// behind, and the probe that gave it up returns at once.
#include <sys/types.h>

#include <map>

#include "agent/event_loop.h"

namespace medic::agent {

class ChildReaper {
 public:
  explicit ChildReaper(EventLoop& loop, Duration grace = std::chrono::seconds(2)) : loop_(loop), grace_(grace) {}
  ~ChildReaper();

  /// `pid` leads its own process group. The group gets SIGTERM now, SIGKILL after the grace.
  void terminate(pid_t pid);
  size_t pending() const { return children_.size(); }

 private:
  struct Child {
    EventSource exitWatch;
    EventSource killTimer;
  };
  EventLoop& loop_;
  Duration grace_;
  std::map<pid_t, Child> children_;
};

}  // namespace medic::agent
