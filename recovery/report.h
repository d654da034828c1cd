#pragma once
/// `medic report`: the faults of a period and how their recoveries went, from medic's own
/// history (each service's fault records in the state file), without Prometheus.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "recovery/state_store.h"

namespace medic::recovery {

struct FaultReport {
  int64_t sinceMs = 0, untilMs = 0;
  uint64_t faults = 0;
  std::map<std::string, uint64_t> byCause;     ///< signal -> 3
  std::map<std::string, uint64_t> bySeverity;  ///< critical -> 3
  std::map<std::string, uint64_t> byOutcome;   ///< recovered, gave-up, healed, failed-over, stopped, under-way
  std::map<std::string, std::map<std::string, uint64_t>> steps;  ///< restart -> healed -> 2
  uint64_t rtoExceeded = 0;
  std::vector<double> recoverySeconds;  ///< of those recovered, in the order they began
  struct PerService {
    uint64_t faults = 0, recovered = 0, rtoExceeded = 0;
    double worstSeconds = 0;
  };
  std::map<std::string, PerService> services;
  /// Failures put down to a dependency (depends_on), apart from the faults above: each is
  /// its dependency's fault, which is counted there.
  struct Dependent {
    uint64_t faults = 0;
    std::map<std::string, uint64_t> byDependency;  ///< db -> 2
    std::map<std::string, uint64_t> byOutcome;     ///< healed, recovered, own-recovery, stopped, under-way
    std::map<std::string, uint64_t> byService;     ///< app -> 1
  } dependents;
  /// Drills (`medic drill`), apart from the real faults above.
  uint64_t drills = 0, drillsRecovered = 0;
  std::vector<double> drillSeconds;

  /// Recovered of those that ended (0 when none ended).
  double successRate() const;
  double meanSeconds() const;
  double p95Seconds() const;
  double maxSeconds() const;
};

/// The faults that began in [sinceMs, untilMs].
FaultReport buildReport(const SavedState& state, int64_t sinceMs, int64_t untilMs);
std::string reportText(const FaultReport& r);
std::string reportJson(const FaultReport& r);

}  // namespace medic::recovery
