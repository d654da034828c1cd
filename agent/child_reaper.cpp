#include "agent/child_reaper.h"

#include <signal.h>
#include <sys/wait.h>

namespace medic::agent {

ChildReaper::~ChildReaper() {
  // Shutting down: no time for grace. Kill and reap synchronously.
  for (auto& [pid, child] : children_) {
    child.exitWatch.reset();
    kill(-pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
}

void ChildReaper::terminate(pid_t pid) {
  kill(-pid, SIGTERM);
  kill(-pid, SIGCONT);  // a stopped group cannot act on SIGTERM
  if (loop_.finished()) {
    // medic is stopping (a check was still running): the loop takes no new watches, and
    // there is no grace to give. Kill and reap now.
    kill(-pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return;
  }
  Child child;
  child.exitWatch = loop_.addChild(pid, [this, pid](const siginfo_t&) {
    // The leader is gone; anything left in its group goes too, then forget it.
    kill(-pid, SIGKILL);
    loop_.post([this, pid] { children_.erase(pid); });
  });
  child.killTimer = loop_.addTimer(loop_.now() + grace_, std::chrono::milliseconds(10), [pid] { kill(-pid, SIGKILL); });
  children_[pid] = std::move(child);
}

}  // namespace medic::agent
