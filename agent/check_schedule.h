#pragma once
/// The checks on their timers, across reloads. A configuration gets a runner of its own
/// (runs in flight under the one before are cancelled); what the runners before it counted
/// is kept, so the figures cover the agent's whole run.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/supervisor.h"
#include "checks/check_runner.h"
#include "checks/probe_host.h"
#include "config/spec.h"

namespace medic::agent {

class CheckSchedule {
 public:
  /// Results go to `supervisor`. `keepSamples`: keep every start's lateness (for report()).
  CheckSchedule(checks::ProbeHost& host, Supervisor& supervisor, bool keepSamples);
  ~CheckSchedule();
  /// Schedules `config`'s checks (not started yet) and tells the heartbeat board which keys
  /// to expect. `config` must outlive the schedule or the next apply().
  void apply(const config::Config& config);
  void start();
  bool running() const { return runner_ != nullptr; }
  /// Lateness of every start since the agent began, across reloads.
  checks::CheckRunner::LatenessHistogram lateness() const;
  /// Checks started and the lateness percentiles, as JSON (benchmarks read it).
  std::string report() const;

 private:
  checks::ProbeHost& host_;
  Supervisor& supervisor_;
  bool keepSamples_;
  std::unique_ptr<checks::CheckRunner> runner_;
  std::vector<uint32_t> samples_;                        // each start's lateness, in µs (keepSamples)
  checks::CheckRunner::LatenessHistogram pastLateness_;  // the runners before this one
  uint64_t pastStarted_ = 0;
};

}  // namespace medic::agent
