#pragma once
/// The running agent: checks on their timers, systemd's unit events, per-service failure
/// detection, and the recovery it decides on, all on one event loop.
#include <deque>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>

#include "agent/alert_policy.h"
#include "agent/check_schedule.h"
#include "agent/config_snapshots.h"
#include "agent/metrics.h"
#include "agent/operator.h"
#include "agent/supervisor.h"
#include "agent/web_endpoints.h"
#include "alerts/alerter.h"
#include "runtime/background.h"
#include "runtime/clock.h"
#include "control/control_server.h"
#include "checks/probe_host.h"
#include "recovery/recovery_machine.h"
#include "recovery/state_store.h"
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
  // First member, so destroyed last: every other member registers with the loop, curl,
  // the resolver or the reaper, and must be gone before they are (an alert delivery in
  // flight at stop used to remove its curl handle from a freed CurlMulti).
  checks::ProbeHost host_;

  /// Makes `config` the running configuration; keeps what is known of services that stay.
  void apply(std::unique_ptr<config::Config> config);
  void reload();
  void updateStatus();
  std::string lastStatus_;  // the STATUS= systemd was last told

  void readUnitJournal(const std::string& unit, std::function<void(std::vector<std::string>)> done);
  std::unique_ptr<control::ControlServer> control_;

  AgentFigures figures() const;  // for /metrics
  AgentFigures figures_;  // reloads and start times (sinks and lateness are filled per scrape)

  // Alerts: the sinks, and what medic tells them.
  std::unique_ptr<alerts::Alerter> alerter_;
  std::unique_ptr<AlertPolicy> alerts_;
  EventSource systemdDown_;  // systemd unreachable for a while: an alert (a dbus restart is not)

  std::string configPath_;
  std::unique_ptr<config::Config> config_;
  AgentOptions options_;
  strategies::DbusSystemdClient systemd_;
  BackgroundTasks background_{host_.loop};
  checks::ProbeRunner commands_{host_.env};  // verifications, conditions, exec steps: run at once
  strategies::StepEnv steps_{host_.loop, systemd_, background_, commands_};
  LoopClock clock_{host_.loop};
  Supervisor supervisor_;
  Operator operators_{supervisor_, clock_, systemd_, host_.heartbeats};  // the control interface's verbs and drills
  ConfigSnapshots snapshots_{supervisor_, clock_, background_};  // known-good configs, for rollback
  CheckSchedule checks_{host_, supervisor_, !options_.reportFile.empty()};
  WebEndpoints web_{host_.loop, background_, supervisor_,
                    {[this] { return figures(); },
                     [this] { return alerter_ ? alerter_->firing() : std::vector<alerts::Notification>{}; },
                     [this] { return config_ != nullptr && checks_.running(); }}};
  std::vector<EventSource> signals_;
  EventSource exitTimer_;
};

}  // namespace medic::agent
