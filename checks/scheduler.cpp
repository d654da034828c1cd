#include "checks/scheduler.h"

namespace medic::checks {

Scheduler::Id Scheduler::add(Duration interval, std::optional<Duration> initialDelay, TimePoint now,
                            std::optional<Duration> failingInterval) {
  Duration first;
  if (initialDelay) {
    first = *initialDelay;
  } else {
    std::uniform_int_distribution<int64_t> spread(0, interval.count() - 1);
    first = Duration(spread(rng_));
  }
  entries_.push_back({interval, failingInterval, now + first});
  queue_.push({now + first, entries_.size() - 1, 0});
  return entries_.size() - 1;
}

std::vector<Scheduler::Due> Scheduler::takeDue(TimePoint now) {
  std::vector<Due> due;
  dropStale();
  while (!queue_.empty() && queue_.top().at <= now) {
    auto [at, id, version] = queue_.top();
    queue_.pop();
    Entry& e = entries_[id];
    // Next slot on the fixed grid; if the loop fell behind by whole intervals, skip those.
    // (An early re-run leaves the grid as it was: its slot is still ahead.)
    if (e.slot <= now) e.slot += e.interval * ((now - e.slot) / e.interval + 1);
    queue_.push({e.slot, id, e.version});
    dropStale();
    if (e.running) {
      ++e.skipped;
      continue;
    }
    e.running = true;
    due.push_back({id, at});
  }
  return due;
}

void Scheduler::finished(Id id) { entries_[id].running = false; }

void Scheduler::failed(Id id, TimePoint now) {
  Entry& e = entries_[id];
  e.running = false;
  if (!e.failingInterval || now + *e.failingInterval >= e.slot) return;
  ++e.version;  // the slot's queued entry is stale; it is queued again when this re-run is taken
  queue_.push({now + *e.failingInterval, id, e.version});
}

void Scheduler::dropStale() {
  while (!queue_.empty() && queue_.top().version != entries_[queue_.top().id].version) queue_.pop();
}

std::optional<TimePoint> Scheduler::nextDue() const {
  if (queue_.empty()) return std::nullopt;
  return queue_.top().at;
}

}  // namespace medic::checks
