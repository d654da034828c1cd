#pragma once
/// Takes over exec runs whose probe was cancelled or timed out. Each run is a shepherd
/// process (checks/exec_check.cpp) that leads its own process group, is a subreaper for
/// everything the command starts, and ends only when all of it has ended: SIGTERM asks it
/// to pass SIGTERM on to all of it, SIGALRM to SIGKILL all of it. The reaper sends SIGTERM
/// now, SIGALRM after the grace, and reaps the shepherd; the probe that gave it up returns
/// at once. Nothing is left behind, even what called setsid().
#include <sys/types.h>

#include <functional>
#include <map>

#include "runtime/event_loop.h"

namespace medic {

class ChildReaper {
 public:
  explicit ChildReaper(EventLoop& loop, Duration grace = std::chrono::seconds(2));
  /// Shutting down: every shepherd kills all it watches now, and is waited for.
  ~ChildReaper();

  /// `pid` is a shepherd. It gets SIGTERM now, SIGALRM after the grace. `reaped`, if any,
  /// is called once it has been reaped: when the loop exits with it still pending, at once
  /// (its grace cut short), while whoever `reaped` calls on is still there.
  void terminate(pid_t pid, std::function<void()> reaped = {});
  size_t pending() const { return children_.size(); }

 private:
  struct Child {
    EventSource exitWatch;
    EventSource killTimer;
    bool reaped = false;
    std::function<void()> then;
  };
  void finishAll();  // the loop is exiting: kill and reap every shepherd now, run its `reaped`

  EventLoop& loop_;
  Duration grace_;
  std::map<pid_t, Child> children_;
  EventSource exiting_;
  OwnedPosts posts_{loop_};
};

}  // namespace medic
