#pragma once
/// Work that may take a while (copying and deleting a restore's files) done on a thread of
/// its own, with its result delivered back on the event loop.
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/event_loop.h"

namespace medic {

class BackgroundTasks {
 public:
  explicit BackgroundTasks(EventLoop& loop);
  ~BackgroundTasks();  ///< waits for running tasks (their results are dropped)

  /// Runs `work` on a new thread; `done` gets its result on the loop.
  void run(std::function<std::string()> work, std::function<void(std::string)> done);

 private:
  void deliver();

  EventLoop& loop_;
  int eventFd_ = -1;
  EventSource source_;
  std::mutex mutex_;
  std::vector<std::pair<uint64_t, std::string>> finished_;
  std::map<uint64_t, std::pair<std::thread, std::function<void(std::string)>>> tasks_;
  uint64_t nextId_ = 1;
};

}  // namespace medic
