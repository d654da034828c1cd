#pragma once
/// When each check runs. Pure logic, no I/O and no clock of its own: callers pass `now`,
/// so tests move time by hand. Fixed-rate: a check due at T runs next at T + interval,
/// whatever its run took, and never overlaps itself (a slot that finds the previous run
/// still going is skipped and counted). A check with a `failing_interval` whose last run
/// failed runs again that long after it finished, sooner than its next slot, until a run
/// passes; then it is back on its grid (Envoy's unhealthy interval).
#include <cstdint>
#include <optional>
#include <queue>
#include <random>
#include <string_view>
#include <unordered_map>
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

  /// First runs without an initial delay land on this grid of the steady clock.
  static constexpr Duration kPhaseStep = std::chrono::milliseconds(100);
  /// At most this many checks of one interval at one server share a grid point.
  static constexpr int kRunsAtOneServer = 4;

  /// Adds a check. Without an initial delay its first run lands at random in
  /// [now, now + interval), so a thousand checks loaded together do not fire together; but
  /// on a point of a grid of kPhaseStep (the same grid for every check, whenever it was
  /// added), so that checks of the same interval share their wake-ups: a wake-up costs more
  /// than a check (100 checks/s at a 1 s interval wake medic 10 times a second, not 50),
  /// and a check's start is no later for it, since the grid point is when it is due.
  /// `server` ("host:port", empty for none): a point already holding kRunsAtOneServer
  /// checks of this interval at that server is passed over, so that a server is not sent
  /// many connections at once (a small listen backlog would drop some). A check that finds
  /// no point with room, or an interval with no grid point in [now, now + interval), is
  /// spread at random over the interval, off the grid.
  Id add(Duration interval, std::optional<Duration> initialDelay, TimePoint now,
         std::optional<Duration> failingInterval = std::nullopt, std::string_view server = {});
  /// Every check is added: the count of checks per server and grid point is let go.
  void placed() {
    std::unordered_map<uint64_t, int>().swap(atServer_);
    std::unordered_map<uint64_t, int>().swap(onGrid_);
  }

  /// Every check due at or before `now` that is not still running; each is marked running.
  std::vector<Due> takeDue(TimePoint now);
  /// The run of `id` is over; it becomes eligible for its next slot.
  void finished(Id id);
  /// The run of `id` is over and failed, at `now`: as finished(), but a check with a failing
  /// interval becomes eligible at `now` + that interval when that comes before its slot.
  void failed(Id id, TimePoint now);
  /// When the next check is due; nullopt when there are none.
  std::optional<TimePoint> nextDue() const;

  /// Room for `checks` checks, made at once (no regrowth, no slack) before they are added.
  void reserve(size_t checks) { entries_.reserve(checks); }

  bool running(Id id) const { return entries_[id].running; }
  uint64_t skippedSlots(Id id) const { return entries_[id].skipped; }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Duration interval;
    std::optional<Duration> failingInterval;
    TimePoint slot;         ///< its next slot on the fixed grid
    uint32_t version = 0;   ///< queued entries of an older version are stale
    bool running = false;
    uint64_t skipped = 0;
  };
  // Each check has exactly one queued entry of its current version: its slot, or an
  // earlier re-run after a failure (which makes the slot's entry stale).
  struct Queued {
    TimePoint at;
    Id id;
    uint32_t version;
  };
  struct Later {
    bool operator()(const Queued& a, const Queued& b) const { return a.at > b.at; }
  };
  void dropStale();
  Duration firstRun(Duration interval, TimePoint now, std::string_view server);

  std::vector<Entry> entries_;
  std::priority_queue<Queued, std::vector<Queued>, Later> queue_;
  std::mt19937_64 rng_;
  // Checks placed so far, by (server, interval, grid point as a phase of the interval),
  // hashed together: a collision only spreads a check that had room.
  std::unordered_map<uint64_t, int> atServer_;
  std::unordered_map<uint64_t, int> onGrid_;  // by (server, interval): checks placed on the grid
};

}  // namespace medic::checks
