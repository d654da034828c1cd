#include "checks/check.h"

namespace medic::checks {

std::string_view toString(Status s) {
  switch (s) {
    case Status::healthy: return "healthy";
    case Status::degraded: return "degraded";
    case Status::unhealthy: return "unhealthy";
    case Status::unknown: return "unknown";
  }
  return "unknown";
}

std::optional<Status> parseStatus(std::string_view word) {
  for (Status s : {Status::healthy, Status::degraded, Status::unhealthy, Status::unknown})
    if (toString(s) == word) return s;
  return std::nullopt;
}

Status statusFromExitCode(int code) {
  switch (code) {
    case 0: return Status::healthy;
    case 1: return Status::degraded;
    case 2: return Status::unhealthy;
    default: return Status::unknown;
  }
}

int exitCodeFor(Status s) {
  switch (s) {
    case Status::healthy: return exitcode::healthy;
    case Status::degraded: return exitcode::degraded;
    case Status::unhealthy: return exitcode::unhealthy;
    case Status::unknown: return exitcode::unknown;
  }
  return exitcode::unknown;
}

Status weight(const CheckVerdict& check) {
  if (check.status == Status::healthy) return Status::healthy;
  return check.critical && check.status == Status::unhealthy ? Status::unhealthy : Status::degraded;
}

Status serviceHealth(const std::vector<CheckVerdict>& checks) {
  Status health = Status::healthy;
  for (const auto& c : checks) health = worst(health, weight(c));
  return health;
}

static int severity(Status s) {
  switch (s) {
    case Status::healthy: return 0;
    case Status::degraded: return 1;
    case Status::unknown: return 2;
    case Status::unhealthy: return 3;
  }
  return 2;
}

Status worst(Status a, Status b) { return severity(a) >= severity(b) ? a : b; }

std::string_view toString(Severity s) {
  switch (s) {
    case Severity::info: return "info";
    case Severity::warning: return "warning";
    case Severity::critical: return "critical";
  }
  return "?";
}

}  // namespace medic::checks
