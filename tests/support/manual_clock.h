#pragma once
// A clock moved by hand: timers fire only inside advance(), in time order.
#include <cstdint>
#include <functional>
#include <map>
#include <utility>

#include "runtime/clock.h"

namespace medic::test {

class ManualClock : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint(std::chrono::hours(1000))) : now_(start) {}
  ~ManualClock() override { timers_.clear(); }

  TimePoint now() const override { return now_; }
  Timer at(TimePoint when, std::function<void()> fire) override {
    uint64_t id = nextId_++;
    timers_[id] = {when, std::move(fire)};
    return Timer([this, id] { timers_.erase(id); });
  }
  /// Fires, in order, every timer due within `d` (timers they arm too), then sets the time.
  void advance(Duration d = Duration::zero()) {
    TimePoint until = now_ + d;
    for (;;) {
      auto next = timers_.end();
      for (auto it = timers_.begin(); it != timers_.end(); ++it)
        if (it->second.first <= until && (next == timers_.end() || it->second.first < next->second.first)) next = it;
      if (next == timers_.end()) break;
      now_ = std::max(now_, next->second.first);
      auto fire = std::move(next->second.second);
      timers_.erase(next);
      fire();
    }
    now_ = until;
  }
  size_t pending() const { return timers_.size(); }

 private:
  TimePoint now_;
  uint64_t nextId_ = 1;
  std::map<uint64_t, std::pair<TimePoint, std::function<void()>>> timers_;
};

}  // namespace medic::test
