#include "runtime/child_reaper.h"

#include <signal.h>
#include <sys/wait.h>

namespace medic {

namespace {
// A shepherd told to kill everything ends once the kernel has delivered the SIGKILLs; if it
// ever did not, this is the last resort (its command's leftovers would then outlive it).
constexpr auto kShepherdLastResort = std::chrono::seconds(5);

void killAllAndReap(pid_t shepherd) {
  kill(shepherd, SIGALRM);
  kill(shepherd, SIGCONT);
  waitpid(shepherd, nullptr, 0);
}
}  // namespace

ChildReaper::ChildReaper(EventLoop& loop, Duration grace)
    : loop_(loop), grace_(grace), exiting_(loop.addExit([this] { finishAll(); })) {}

ChildReaper::~ChildReaper() {
  // Shutting down: no time for grace.
  for (auto& [pid, child] : children_) {
    child.exitWatch.reset();
    if (!child.reaped) killAllAndReap(pid);
  }
}

void ChildReaper::finishAll() {
  // A shepherd's scope (its `reaped`) is stopped now: once medic is gone, nothing would.
  std::map<pid_t, Child> children = std::move(children_);
  children_.clear();
  for (auto& [pid, child] : children) {
    child.exitWatch.reset();
    child.killTimer.reset();
    if (!child.reaped) killAllAndReap(pid);
    if (child.then) child.then();
  }
}

void ChildReaper::terminate(pid_t pid, std::function<void()> reaped) {
  if (loop_.finished()) {
    // medic is stopping (a check was still running): the loop takes no new watches, and
    // there is no grace to give. Kill everything and reap now.
    killAllAndReap(pid);
    if (reaped) reaped();
    return;
  }
  kill(pid, SIGTERM);
  kill(pid, SIGCONT);
  Child child;
  child.then = std::move(reaped);
  child.exitWatch = loop_.addChild(pid, [this, pid](const siginfo_t&) {
    // Reaped when this returns: no signal may go to this pid any more.
    if (auto it = children_.find(pid); it != children_.end()) {
      it->second.reaped = true;
      it->second.killTimer.reset();
    }
    posts_.post([this, pid] {
      auto it = children_.find(pid);
      if (it == children_.end()) return;
      std::function<void()> then = std::move(it->second.then);
      children_.erase(it);
      if (then) then();
    });
  });
  child.killTimer = loop_.addTimer(loop_.now() + grace_, std::chrono::milliseconds(10), [this, pid] {
    auto it = children_.find(pid);
    if (it == children_.end() || it->second.reaped) return;  // reaped already: the pid may be another's now
    kill(pid, SIGALRM);
    it->second.killTimer = loop_.addTimer(loop_.now() + kShepherdLastResort, std::chrono::milliseconds(100), [this, pid] {
      auto again = children_.find(pid);
      if (again != children_.end() && !again->second.reaped) kill(pid, SIGKILL);
    });
  });
  children_[pid] = std::move(child);
}

}  // namespace medic
