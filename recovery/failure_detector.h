#pragma once
/// When a service's checks say it has failed, and when they say it is healthy again: per
/// critical check, `failure_threshold` failures in a row (or `failure_window`: N of the last
/// M), and `success_threshold` passes in a row. Kept apart from what is done about a failure,
/// as Envoy and Consul keep their health thresholds; the recovery machine owns one.
#include <bitset>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "checks/check.h"
#include "config/spec.h"

namespace medic::recovery {

class FailureDetector {
 public:
  explicit FailureDetector(const config::ServiceSpec& spec) { setSpec(spec); }
  /// The spec after a reload: thresholds and which checks are critical may have changed.
  void setSpec(const config::ServiceSpec& spec);

  /// Counts one result of a critical check; true when that check is now past its threshold.
  bool record(const std::string& check, checks::Status status);
  /// The first critical check past its threshold, if any.
  std::optional<std::string> failing() const;
  /// Every critical check has passed success_threshold times in a row; nullopt when the
  /// service has no critical check (then only its unit can tell).
  std::optional<bool> allHealthy() const;
  /// The threshold in words, for messages: "3 in a row", "2 of the last 5"; "" for 1 (a
  /// single failure: "check 'health' failed: ...", not "failed 1 in a row").
  std::string threshold() const;
  /// Failure streaks start afresh (the unit was just (re)started; a recovery ended).
  void forgetFailures() { failures_.clear(), failing_.clear(); }
  /// Everything starts afresh (an operator's reset).
  void forgetAll() { forgetFailures(), passes_.clear(), healthy_ = 0; }

 private:
  /// A check's latest 128 results (thresholds and windows go up to 100), bit 0 the newest:
  /// set = failed. Results not yet received are clear, as passes would be.
  using Results = std::bitset<128>;
  bool pastThreshold(const Results& results) const;

  const config::ServiceSpec* spec_ = nullptr;
  std::unordered_map<std::string, Results> failures_;  // per critical check
  std::unordered_map<std::string, int> passes_;       // per critical check: consecutive healthy results
  // Kept as results come, so that a result costs the same with 10 checks or 10,000:
  std::set<std::string> failing_;            // the checks past their threshold (ordered: failing() names the first)
  std::unordered_set<std::string> critical_;  // the critical checks of the spec
  size_t healthy_ = 0;               // of those, how many passed success_threshold times in a row
};

}  // namespace medic::recovery
