#pragma once
/// warn/crit percentage thresholds shared by the disk and memory checks.
#include <cstdio>
#include <string>

#include "checks/check.h"
#include "runtime/map_reader.h"

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
inline void readThresholds(MapReader& keys, const std::string& prefix, UsageThresholds& t) {
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

/// "86.0% inodes used", and the thresholds that decided when they are crossed:
/// "86.0% inodes used (warn 50.0%, crit 85.0%)". One wording for every usage figure.
inline std::string usage(double usedPercent, const std::string& what, const UsageThresholds& t) {
  std::string out = percent(usedPercent) + " " + what;
  if (t.grade(usedPercent) != Status::healthy) out += " (warn " + percent(t.warn) + ", crit " + percent(t.crit) + ")";
  return out;
}

}  // namespace medic::checks
