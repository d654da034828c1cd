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
  explicit ManualClock(TimePoint start = TimePoint(std::chrono::hours(1000))) : now_(start), start_(start) {}
  ~ManualClock() override { timers_.clear(); }

  TimePoint now() const override { return now_; }
  /// The wall clock moves with the hand-moved one, from a fixed day (2026-11-22 09:00 UTC).
  int64_t wallNowMs() const override {
    return kWallAtStartMs + std::chrono::duration_cast<std::chrono::milliseconds>(now_ - start_).count();
  }
  static constexpr int64_t kWallAtStartMs = 1'795'338'000'000;
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
  TimePoint now_, start_;
  uint64_t nextId_ = 1;
  std::map<uint64_t, std::pair<TimePoint, std::function<void()>>> timers_;
};

}  // namespace medic::test
