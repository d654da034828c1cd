#pragma once
/// When each check runs. Pure logic, no I/O and no clock of its own: callers pass `now`,
/// so tests move time by hand. Fixed-rate: a check due at T runs next at T + interval,
/// whatever its run took, and never overlaps itself (a slot that finds the previous run
/// still going is skipped and counted).
#include <cstdint>
#include <optional>
#include <queue>
#include <random>
#include <vector>

#include "runtime/duration.h"

namespace medic::checks {

class Scheduler {
 public:
  using Id = size_t;

  struct Due {
    Id id;
    TimePoint dueAt;
  };

  explicit Scheduler(uint64_t seed = std::random_device{}()) : rng_(seed) {}

  /// Adds a check. Without an initial delay its first run lands uniformly at random in
  /// [now, now + interval), so a thousand checks loaded together do not fire together.
  Id add(Duration interval, std::optional<Duration> initialDelay, TimePoint now);

  /// Every check due at or before `now` that is not still running; each is marked running.
  std::vector<Due> takeDue(TimePoint now);
  /// The run of `id` is over; it becomes eligible for its next slot.
  void finished(Id id);
  /// When the next check is due; nullopt when there are none.
  std::optional<TimePoint> nextDue() const;

  bool running(Id id) const { return entries_[id].running; }
  uint64_t skippedSlots(Id id) const { return entries_[id].skipped; }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Duration interval;
    bool running = false;
    uint64_t skipped = 0;
  };
  struct Later {
    bool operator()(const std::pair<TimePoint, Id>& a, const std::pair<TimePoint, Id>& b) const { return a.first > b.first; }
  };

  std::vector<Entry> entries_;
  std::priority_queue<std::pair<TimePoint, Id>, std::vector<std::pair<TimePoint, Id>>, Later> queue_;
  std::mt19937_64 rng_;
};

}  // namespace medic::checks
