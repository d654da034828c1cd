#include "checks/scheduler.h"

namespace medic::checks {

Scheduler::Id Scheduler::add(Duration interval, std::optional<Duration> initialDelay, TimePoint now) {
  Duration first;
  if (initialDelay) {
    first = *initialDelay;
  } else {
    std::uniform_int_distribution<int64_t> spread(0, interval.count() - 1);
    first = Duration(spread(rng_));
  }
  entries_.push_back({interval});
  queue_.push({now + first, entries_.size() - 1});
  return entries_.size() - 1;
}

std::vector<Scheduler::Due> Scheduler::takeDue(TimePoint now) {
  std::vector<Due> due;
  while (!queue_.empty() && queue_.top().first <= now) {
    auto [at, id] = queue_.top();
    queue_.pop();
    Entry& e = entries_[id];
    // Next slot on the fixed grid; if the loop fell behind by whole intervals, skip those.
    TimePoint next = at + e.interval;
    if (next <= now) next += e.interval * ((now - next) / e.interval + 1);
    queue_.push({next, id});
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

std::optional<TimePoint> Scheduler::nextDue() const {
  if (queue_.empty()) return std::nullopt;
  return queue_.top().first;
}

}  // namespace medic::checks
