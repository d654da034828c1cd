#pragma once
/// warn/crit percentage thresholds shared by the disk and memory checks.
#include <cstdio>
#include <string>

#include "checks/check.h"
#include "config/map_reader.h"

namespace medic::checks {

struct UsageThresholds {
  double warn = 80;
  double crit = 90;

  Status grade(double usedPercent) const {
    if (usedPercent >= crit) return Status::unhealthy;
    if (usedPercent >= warn) return Status::degraded;
    return Status::healthy;
  }
};

/// Reads `<prefix>warn` and `<prefix>crit`; reports warn > crit.
inline void readThresholds(config::MapReader& keys, const std::string& prefix, UsageThresholds& t) {
  keys.readPercent(prefix + "warn", t.warn);
  keys.readPercent(prefix + "crit", t.crit);
  if (t.warn > t.crit)
    keys.error(prefix + "warn", "'" + prefix + "warn' (" + std::to_string(int(t.warn)) + "%) must not exceed '" + prefix +
                                    "crit' (" + std::to_string(int(t.crit)) + "%)");
}

inline std::string percent(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", p);
  return buf;
}

}  // namespace medic::checks
