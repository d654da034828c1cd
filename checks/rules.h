#pragma once
/// Rules over a window of a check's measured values (Monit's `if totalmem > 200 MB for 5
/// cycles`, a p95 latency over five minutes). RuleBook keeps one check's windows and judges
/// its rules after each result; the verdict joins the check's own (the worse wins), so a
/// critical check's rule drives recovery like any failure. Pure logic: callers pass `now`.
///
/// Memory: a window holds at most kMaxSamples samples per value (16 bytes each); the loader
/// refuses a window that would need more at the check's interval.
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "checks/check.h"
#include "runtime/map_reader.h"

namespace medic::checks {

inline constexpr size_t kMaxSamples = 10000;

/// Reads a check's `rules:` (the check's type says which values exist and their units).
std::vector<RuleSpec> parseRules(MapReader& check, const Check& type, Duration interval);

/// A value as a person reads it: "1.2s", "512 MiB", "85.0%", "3".
std::string formatValue(double value, std::string_view unit);
/// A run's values on one line: "time 12ms, status 200, size 13 bytes".
std::string valuesText(const std::vector<PerfDatum>& values);

class RuleBook {
 public:
  struct State {
    std::optional<double> stat;  ///< the statistic now; nullopt below min_samples
    size_t samples = 0;
    bool breached = false;       ///< the condition holds now
    bool firing = false;         ///< it has held for `for:`, so it judges the check
    std::optional<TimePoint> breachedSince;
    Duration heldFor{};          ///< how long it has been breached, as of the last judge()
  };
  /// What a rule's state says: "p95 of time over 5m is 1.2s, above 800ms" (written only
  /// when asked for: a firing rule's message, a status screen).
  static std::string says(const RuleSpec& rule, const State& state);

  /// Adds `r`'s values to the windows, judges every rule at `now`, and returns `r` with the
  /// firing rules' verdict joined (the worse status wins; their sentences are appended).
  CheckResult judge(const std::vector<RuleSpec>& rules, CheckResult r, TimePoint now);
  /// Per rule, in config order, as of the last judge().
  const std::vector<State>& states() const { return states_; }
  /// After a reload: keeps the windows of values the new rules still judge, and the state
  /// of rules that stayed the same.
  void keep(const std::vector<RuleSpec>& before, const std::vector<RuleSpec>& after);
  size_t samples(const std::string& value) const;

 private:
  struct Sample {
    TimePoint at;
    double value;
  };
  /// The samples of one value the rules judge, as long as its longest rule's window.
  struct Window {
    std::string value;
    Duration span{};
    size_t hint = 0;  ///< where the value was in the last result's values (their order is the type's)
    std::deque<Sample> samples;
  };
  std::vector<Window> windows_;
  // Which window each rule reads, worked out once for the rules it was given (again after keep()).
  std::vector<size_t> windowOf_;
  const std::vector<RuleSpec>* plannedFor_ = nullptr;
  void plan(const std::vector<RuleSpec>& rules);
  std::vector<State> states_;
  // One window's summary (min, max, sum; sorted values once a percentile asks), for every
  // rule on it in one run; kept here so a run allocates nothing.
  std::vector<double> scratch_;
  double min_ = 0, max_ = 0, sum_ = 0;
  bool sorted_ = false;
  const std::deque<Sample>* summaryOf_ = nullptr;
  size_t summaryFirst_ = 0, summarySize_ = 0;
  std::optional<double> compute(Stat stat, const std::deque<Sample>& window, size_t first);
};

}  // namespace medic::checks
