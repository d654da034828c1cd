#include "runtime/background.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace medic {

BackgroundTasks::BackgroundTasks(EventLoop& loop) : loop_(loop) {
  eventFd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  source_ = loop_.addIo(eventFd_, EPOLLIN, [this](uint32_t) { deliver(); });
}

BackgroundTasks::~BackgroundTasks() {
  for (auto& [id, task] : tasks_) task.first.join();
  source_.reset();
  close(eventFd_);
}

void BackgroundTasks::run(std::function<std::string()> work, std::function<void(std::string)> done) {
  uint64_t id = nextId_++;
  auto& task = tasks_[id];
  task.second = std::move(done);
  task.first = std::thread([this, id, work = std::move(work)] {
    std::string result = work();
    std::lock_guard lock(mutex_);
    finished_.emplace_back(id, std::move(result));
    uint64_t one = 1;
    (void)!write(eventFd_, &one, sizeof one);
  });
}

void BackgroundTasks::deliver() {
  uint64_t count = 0;
  (void)!read(eventFd_, &count, sizeof count);
  std::vector<std::pair<uint64_t, std::string>> ready;
  {
    std::lock_guard lock(mutex_);
    ready.swap(finished_);
  }
  for (auto& [id, result] : ready) {
    auto it = tasks_.find(id);
    if (it == tasks_.end()) continue;
    it->second.first.join();
    auto done = std::move(it->second.second);
    tasks_.erase(it);
    done(std::move(result));
  }
}

}  // namespace medic
