#pragma once
/// medic's memory across restarts: each service's recovery state, its recent actions and
/// its figures, in one JSON file in the state directory. Written atomically (a temporary
/// file, fsync, rename), so a crash leaves the old state or the new one, never half of
/// one. A file that cannot be read is moved aside with a warning; medic then starts fresh.
#include <cstdint>
#include <deque>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "recovery/recovery_machine.h"

namespace medic::recovery {

/// One step medic ran: the record an operator reads afterwards.
struct ActionRecord {
  uint64_t id = 0;
  std::string step;
  int attempt = 0;
  int round = 0;
  std::string reason;     ///< why the recovery started
  std::string cause;      ///< its cause's kind (strategies::toString(CauseKind)): signal, check, ...
  int64_t startedMs = 0;  ///< wall clock, milliseconds since the epoch
  int64_t endedMs = 0;    ///< 0 while it runs
  std::string result;     ///< done, failed, skipped (with detail)
};

/// How one run of a step ended: healed, did_not_heal, failed or skipped.
struct StepVerdict {
  std::string step;
  std::string verdict;
  bool operator==(const StepVerdict&) const = default;
};

/// One failure and its recovery, start to end: what `medic report` counts.
struct FaultRecord {
  int64_t startedMs = 0;  ///< wall clock of the recovery's start
  int64_t endedMs = 0;    ///< 0 while it is under way
  std::string cause;      ///< its cause's kind
  std::string severity;   ///< its cause's severity (info, warning, critical)
  std::string outcome;    ///< recovered, gave-up, healed (by itself), stopped (reset, removed); empty while under way
  std::vector<StepVerdict> steps;  ///< how each step ran, in order
  bool rtoExceeded = false;        ///< still under way at the service's rto:
  bool drill = false;              ///< a rehearsal (`medic drill`): kept apart from the real figures
  /// Put down to this dependency (depends_on): held while it was down, and then healed with
  /// it, restarted after it (on_dependency_restart: its steps are this record's), or
  /// `own-recovery` (it still failed once the dependency was up: a fault of its own follows).
  /// Counted apart by `medic report`. (A restart after a dependency of a service that was not
  /// failing is no fault: its step is counted with the steps, and in no record.)
  std::string dependency;
};

struct Figures {
  uint64_t recoveries = 0;  ///< recoveries started
  uint64_t successes = 0;   ///< recovered by a step and verified
  uint64_t gaveUp = 0;
  std::vector<double> recoverySeconds;  ///< the latest times to recover
  uint64_t rtoExceeded = 0;  ///< recoveries still under way at the service's rto:
  /// Per step kind (restart, reload, ...), how its runs ended: healed, did_not_heal (it ran,
  /// the service stayed unhealthy), failed (it could not run), skipped.
  std::map<std::string, std::map<std::string, uint64_t>> steps;
  /// Every time to recover since these counts were kept (not only the latest), as a
  /// Prometheus histogram counts them: how many took at most kTtrBounds[i] seconds (the
  /// last, +Inf: all of them), and their sum. Counts only grow, so a fleet can add them up.
  static constexpr double kTtrBounds[] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600};
  std::vector<uint64_t> ttrBuckets = std::vector<uint64_t>(std::size(kTtrBounds) + 1, 0);
  double ttrSeconds = 0;
  void countTimeToRecover(double seconds);

  double meanSeconds() const;
  double p95Seconds() const;
  double worstSeconds() const;
};

struct ServiceState {
  MachineSnapshot machine;
  std::deque<ActionRecord> history;  ///< the latest actions, oldest first
  std::deque<FaultRecord> faults;    ///< the recoveries of the last kFaultsKeptFor (at most kFaultsKept), oldest first
  Figures figures;
  int64_t recoveryStartedMs = 0;     ///< wall clock of the current recovery's start
  std::string recoveryReason;        ///< why the current (or last) recovery started
  std::string recoveryCause;         ///< its cause's kind
  /// The unit's own journal around the last failure (the last lines of its invocation),
  /// as alerts and `medic status SERVICE` show it; cut to kExcerptCap bytes.
  std::vector<std::string> excerpt;
  bool drill = false;                ///< a drill is under way: its recovery is recorded as one (not saved)
  int64_t pausedByUid = -1;          ///< who paused it (the machine holds the pause itself)
  std::string pausedBy;              ///< "root (uid 0, pid 191)"
  std::string pauseReason;           ///< the operator's own words, as given (may be empty)

  /// A ladder step starts: a new entry in the history (the newest kHistoryKept are kept).
  void stepStarted(uint64_t id, const std::string& step, const Decision& d, int64_t nowMs);
  /// The step's own result: "done", "failed: <why>", "skipped: <why>".
  void stepEnded(const strategies::StepOutcome& outcome, int64_t nowMs);
  /// An event the machine recorded: whether the last step healed, and the figures.
  void noteEvent(const Decision& d, int64_t nowMs);
  /// The recovery under way went past the service's rto:.
  void noteRtoExceeded();

 private:
  void stepVerdict(const std::string& verdict);
};

struct SavedState {
  uint64_t nextActionId = 1;
  int64_t savedAtMs = 0;  ///< wall clock of the write: how long medic was down, at the next start
  std::map<std::string, ServiceState> services;

  /// All services together (written to the file as "totals"; derived, never read back).
  Figures totals() const;
};

/// What a save keeps for the next: each service's fault records but the newest, as written
/// (only the newest of them ever changes; the rest are only added to and dropped from the
/// front). A thousand records a service are then written again, not built again, each save.
struct SaveCache {
  struct Faults {
    size_t count = 0;  ///< how many records `text` holds
    int64_t firstMs = 0, lastMs = 0;  ///< the first's and the last's startedMs
    std::string text;  ///< the records, comma-separated
  };
  std::map<std::string, Faults> faults;  ///< per service
  size_t size = 0;                       ///< the last text's length
};

class StateStore {
 public:
  static constexpr size_t kHistoryKept = 50;
  static constexpr size_t kRecoveryTimesKept = 100;
  /// What `medic report` can look back on: 90 days, at most 1,000 recoveries a service.
  static constexpr size_t kFaultsKept = 1000;
  static constexpr int64_t kFaultsKeptForMs = int64_t(90) * 24 * 3600 * 1000;

  explicit StateStore(std::string dir) : dir_(std::move(dir)) {}
  std::string path() const { return dir_ + "/state.json"; }

  /// The saved state, or an empty one. `warning` says what was wrong with the file, if
  /// anything (the file is then moved aside as state.json.corrupt-<time>).
  SavedState load(std::string& warning) const;
  /// Writes atomically; returns the error, or an empty string.
  std::string save(const SavedState& state) const;

 private:
  std::string dir_;
  mutable SaveCache cache_;
};

/// state.json's text, one line. Built a service at a time, so what it takes beyond the
/// text is one service's worth, however many services there are.
std::string toJson(const SavedState& state, SaveCache* cache = nullptr);
/// Throws on a file whose skeleton is malformed; a value out of range or of the wrong type
/// costs only its field (or list entry), named in `dropped`.
SavedState fromJson(const std::string& text, std::vector<std::string>* dropped = nullptr);

}  // namespace medic::recovery
