#include "checks/scheduler.h"

namespace medic::checks {

Scheduler::Id Scheduler::add(Duration interval, std::optional<Duration> initialDelay, TimePoint now,
                            std::optional<Duration> failingInterval, std::string_view server) {
  Duration first = initialDelay ? *initialDelay : firstRun(interval, now, server);
  entries_.push_back({interval, failingInterval, now + first});
  queue_.push({now + first, entries_.size() - 1, 0});
  return entries_.size() - 1;
}

Duration Scheduler::firstRun(Duration interval, TimePoint now, std::string_view server) {
  // The grid points in [now, now + interval): the first at or after now, then one a step.
  const Duration sinceEpoch = now.time_since_epoch();
  const Duration toPoint = (kPhaseStep - sinceEpoch % kPhaseStep) % kPhaseStep;
  if (toPoint < interval) {
    const int64_t points = (interval - toPoint - Duration(1)) / kPhaseStep + 1;
    int64_t k = std::uniform_int_distribution<int64_t>(0, points - 1)(rng_);
    if (server.empty()) return toPoint + kPhaseStep * k;
    const uint64_t serverKey = std::hash<std::string_view>{}(server) ^ (uint64_t(interval.count()) * 0x9e3779b97f4a7c15ULL);
    // Every point full already: spread at once, without trying each (100,000 checks of one
    // server would otherwise try all 600 points of a minute, each).
    int& placed = onGrid_[serverKey];
    if (placed < points * kRunsAtOneServer)
      // From a random point on, the first with room for one more check at this server.
      for (int64_t tried = 0; tried < points; ++tried, k = (k + 1) % points) {
        const Duration first = toPoint + kPhaseStep * k;
        const uint64_t phase = uint64_t(((sinceEpoch + first) % interval) / kPhaseStep);
        int& there = atServer_[serverKey + phase * 0xbf58476d1ce4e5b9ULL];
        if (there < kRunsAtOneServer) {
          ++there;
          ++placed;
          return first;
        }
      }
  }
  return Duration(std::uniform_int_distribution<int64_t>(0, interval.count() - 1)(rng_));
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
