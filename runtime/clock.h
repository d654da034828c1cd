#pragma once
/// Time and one-shot timers as the layers above the loop see them: the event loop in medic
/// (LoopClock), a clock moved by hand in unit tests.
#include <functional>
#include <memory>
#include <utility>

#include "runtime/duration.h"
#include "runtime/event_loop.h"

namespace medic {

/// A one-shot timer; destroying or resetting it cancels it.
class Timer {
 public:
  Timer() = default;
  explicit Timer(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
  Timer(Timer&& o) noexcept : cancel_(std::exchange(o.cancel_, nullptr)) {}
  Timer& operator=(Timer&& o) noexcept {
    if (this != &o) {
      reset();
      cancel_ = std::exchange(o.cancel_, nullptr);
    }
    return *this;
  }
  ~Timer() { reset(); }
  void reset() {
    if (auto cancel = std::exchange(cancel_, nullptr)) cancel();
  }

 private:
  std::function<void()> cancel_;
};

class Clock {
 public:
  virtual ~Clock() = default;
  /// The monotonic clock: what timers and durations run on.
  virtual TimePoint now() const = 0;
  /// The wall clock, ms since the epoch: what history is stamped with and what outlives a
  /// restart of medic (a recovery's start, against which its rto is measured).
  virtual int64_t wallNowMs() const = 0;
  /// Calls `fire` once, at `when` or soon after, unless the Timer is gone first.
  [[nodiscard]] virtual Timer at(TimePoint when, std::function<void()> fire) = 0;
};

/// The event loop's monotonic clock and timers (1 ms accuracy).
class LoopClock : public Clock {
 public:
  explicit LoopClock(EventLoop& loop) : loop_(loop) {}
  TimePoint now() const override { return loop_.now(); }
  int64_t wallNowMs() const override { return wallClockMs(); }
  Timer at(TimePoint when, std::function<void()> fire) override {
    auto source = std::make_shared<EventSource>(loop_.addTimer(when, std::chrono::milliseconds(1), std::move(fire)));
    return Timer([source] { source->reset(); });
  }

 private:
  EventLoop& loop_;
};

}  // namespace medic
