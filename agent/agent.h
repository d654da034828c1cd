#pragma once
/// The running agent: checks on their timers, systemd's unit events, per-service failure
/// detection, and the recovery it decides on, all on one event loop.
#include <deque>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>

#include "alerts/alerter.h"
#include "runtime/background.h"
#include "checks/check_runner.h"
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

class Agent : private control::ControlHandler {
 public:
  /// `configPath` is re-read on SIGHUP.
  Agent(std::string configPath, config::Config config, AgentOptions options);
  ~Agent() override;
  /// Runs until SIGTERM/SIGINT (or --exit-after); returns the exit code.
  int run();

 private:
  // First member, so destroyed last: every other member registers with the loop, curl,
  // the resolver or the reaper, and must be gone before they are (an alert delivery in
  // flight at stop used to remove its curl handle from a freed CurlMulti).
  checks::ProbeHost host_;

  struct Service {
    const config::ServiceSpec* spec;
    std::unique_ptr<recovery::RecoveryMachine> machine;
    std::map<std::string, checks::Status> lastStatus;  // per check
    struct LastResult {
      checks::CheckResult result;
      int64_t atMs = 0;  // wall clock
    };
    std::map<std::string, LastResult> lastResult;  // per check, for `medic status`
    strategies::UnitState unit;                    // as systemd last reported it
    EventSource timer;                             // the machine's next "time passed"
    EventSource stepDelay;                         // a step the machine asked to run a little later
  };

  /// Makes `config` the running configuration; keeps what is known of services that stay.
  void apply(std::unique_ptr<config::Config> config);
  void reload();
  void updateStatus();
  void onCheckResult(const checks::ScheduledCheck& check, const checks::CheckResult& result);
  void onUnitChanged(const std::string& unit, const strategies::UnitState& state);
  /// Carries out what the service's machine decided, then re-arms its timer.
  void carryOut(const std::string& name, const std::vector<recovery::Decision>& decisions);
  void runStep(const std::string& name, const recovery::Decision& d);
  void runStepNow(const std::string& name, const recovery::Decision& d);
  void switchUnits(const std::string& name, const recovery::Decision& d);
  void verify(const std::string& name);
  void checkConditions(const std::string& name);
  void stepFinished(const std::string& name, strategies::StepOutcome outcome);
  void armTimer(const std::string& name);
  Service* find(const std::string& name);
  void writeReport() const;

  // The control interface (agent_control.cpp): `medic status`, pause, resume, reset, recover.
  std::string status(const std::string& service) override;
  std::string pause(const std::string& service, Duration length, const std::string& reason, const control::Caller& who) override;
  std::string resume(const std::string& service, const control::Caller& who) override;
  std::string reset(const std::string& service, const control::Caller& who) override;
  void recover(const std::string& service, const std::string& step, const control::Caller& who, RecoverDone done) override;
  Service& serviceFor(const std::string& name);  // or control::ControlError
  checks::Status serviceHealth(const Service& s) const;
  void answerRecoverWaiters(const std::string& name);
  std::unique_ptr<control::ControlServer> control_;
  std::map<std::string, std::vector<RecoverDone>> recoverWaiters_;
  std::map<std::string, recovery::Decision> lastRecord_;  // per service: the latest event, for answers

  // Alerts (agent_alerts.cpp): what fires for each service, and events worth a notification.
  void reconcileAlerts(const std::string& name);
  void alertEvent(const std::string& name, const recovery::Decision& d);
  std::unique_ptr<alerts::Alerter> alerter_;
  EventSource systemdDown_;  // systemd unreachable for a while: an alert (a dbus restart is not)
  std::map<std::string, std::map<std::string, std::string>> lastEventMessage_;  // service -> event -> message

  std::string configPath_;
  std::unique_ptr<config::Config> config_;
  AgentOptions options_;
  strategies::DbusSystemdClient systemd_;
  std::map<std::string, Service> services_;
  std::map<std::string, std::string> serviceOfUnit_;
  std::unique_ptr<checks::CheckRunner> runner_;
  BackgroundTasks background_{host_.loop};
  checks::ProbeRunner verifier_{host_.env};  // critical checks run at once to verify a step
  strategies::StepEnv steps_{host_.loop, systemd_, background_, verifier_};  // what a step may touch
  // At most max_concurrent_recoveries services recover at once; the steps of others wait.
  std::set<std::string> recovering_;
  std::deque<std::pair<std::string, recovery::Decision>> waiting_;
  void releaseSlot(const std::string& name);
  // Memory across restarts: saved whenever a service's recovery state changes.
  recovery::StateStore store_;
  recovery::SavedState saved_;
  std::string lastSaveError_;  // said once, not on every failed write
  void resumeSavedState();
  void noteDecision(const std::string& name, const recovery::Decision& d);
  void persist(const std::string& name, bool decided);
  std::vector<uint32_t> pastLateness_;  // from runners replaced by a reload
  uint64_t pastStarted_ = 0;
  std::vector<EventSource> signals_;
  EventSource exitTimer_;
};

}  // namespace medic::agent
