#pragma once
/// /metrics: what medic knows, in Prometheus' text exposition format (names and units by its
/// conventions: base units, `_seconds`, `_bytes`, `_total`, one-hot states). Labels come from
/// config only (service, check, value and sink names; a status or phase from a fixed set), never
/// from a message or a URL, so the number of series is bounded by the config.
#include <cstdint>
#include <string>

#include "agent/supervisor.h"
#include "alerts/alerter.h"
#include "checks/check_runner.h"

namespace medic::agent {

/// The agent's own figures that are not in the supervisor.
struct AgentFigures {
  uint64_t reloads = 0;             ///< SIGHUP reloads tried
  bool lastReloadOk = true;
  int64_t lastReloadMs = 0;         ///< wall clock of the running config's load
  int64_t startedMs = 0;            ///< wall clock of the agent's start
  std::map<std::string, alerts::Alerter::SinkFigures> sinks;      ///< (filled per scrape)
  checks::CheckRunner::LatenessHistogram lateness;              ///< (filled per scrape)
};

std::string metricsText(const Supervisor& supervisor, const AgentFigures& agent);

}  // namespace medic::agent
