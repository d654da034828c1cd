#pragma once
/// The running agent: checks on their timers, systemd's unit events, per-service failure
/// detection, and the recovery it decides on, all on one event loop.
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "agent/check_runner.h"
#include "agent/probe_host.h"
#include "agent/service_watch.h"
#include "config/spec.h"
#include "strategies/dbus_systemd_client.h"

namespace medic::agent {

struct AgentOptions {
  std::optional<Duration> exitAfter;  ///< stop by itself (demos, benchmarks)
  std::string reportFile;             ///< run figures as JSON at exit (benchmarks)
  strategies::DbusEndpoint systemd;   ///< where systemd is (tests may point elsewhere)
};

class Agent {
 public:
  /// `configPath` is re-read on SIGHUP.
  Agent(std::string configPath, config::Config config, AgentOptions options);
  ~Agent();
  /// Runs until SIGTERM/SIGINT (or --exit-after); returns the exit code.
  int run();

 private:
  struct Service {
    const config::ServiceSpec* spec;
    std::unique_ptr<ServiceWatch> watch;
    std::map<std::string, checks::Status> lastStatus;  // per check
    EventSource timer;                                 // the watch's next "time passed"
  };

  /// Makes `config` the running configuration; keeps what is known of services that stay.
  void apply(std::unique_ptr<config::Config> config);
  void reload();
  void updateStatus();
  void onCheckResult(const ScheduledCheck& check, const checks::CheckResult& result);
  void onUnitChanged(const std::string& unit, const strategies::UnitState& state);
  void restart(Service& service, const std::string& reason);
  void armTimer(Service& service);
  void writeReport() const;

  std::string configPath_;
  std::unique_ptr<config::Config> config_;
  AgentOptions options_;
  ProbeHost host_;
  strategies::DbusSystemdClient systemd_;
  std::map<std::string, Service> services_;
  std::map<std::string, std::string> serviceOfUnit_;
  std::unique_ptr<CheckRunner> runner_;
  std::vector<uint32_t> pastLateness_;  // from runners replaced by a reload
  uint64_t pastStarted_ = 0;
  std::vector<EventSource> signals_;
  EventSource exitTimer_;
};

}  // namespace medic::agent
