#pragma once
/// The operator's side of the control interface: what `medic status` shows, and pause,
/// resume, reset, recover, heartbeat and drill. The verbs are the supervisor's; this room
/// checks what was asked, names who asked, and answers when the step is over.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/drill.h"
#include "agent/supervisor.h"
#include "checks/heartbeat_check.h"
#include "control/control_server.h"
#include "runtime/clock.h"
#include "strategies/systemd_client.h"

namespace medic::agent {

class Operator final : public control::ControlHandler {
 public:
  Operator(Supervisor& supervisor, Clock& clock, strategies::SystemdClient& systemd, checks::HeartbeatBoard& heartbeats)
      : supervisor_(supervisor), clock_(clock), heartbeats_(heartbeats), drills_(supervisor, clock, systemd) {}

  // What the supervisor tells (its Listener).
  void recorded(const std::string& service, const recovery::Decision& d);
  void healthNews(const std::string& service);
  /// The machine's decisions were carried out: a requested step may be over.
  void settled(const std::string& service);
  /// After a reload: those waiting on a service that is gone get their answer.
  void servicesChanged();
  /// medic stops: every answer still owed is given.
  void stopping();

  std::string status(const std::string& service) override;
  std::string pause(const std::string& service, Duration length, const std::string& reason, const control::Caller& who) override;
  std::string resume(const std::string& service, const control::Caller& who) override;
  std::string reset(const std::string& service, const control::Caller& who) override;
  void recover(const std::string& service, const std::string& step, const control::Caller& who, RecoverDone done) override;
  std::string heartbeat(const std::string& service, const std::string& check, const std::string& status,
                        const std::string& message, const control::Caller& who) override;
  void drill(const std::string& service, const std::string& fault, Duration within, const control::Caller& who,
             DrillDone done) override;

 private:
  const Supervisor::Service& serviceFor(const std::string& name) const;  // or control::ControlError

  Supervisor& supervisor_;
  Clock& clock_;
  checks::HeartbeatBoard& heartbeats_;
  Drills drills_;
  // Those waiting on a service's requested step, and the latest event the machine recorded
  // since they asked: once the step is over, its verdict.
  struct Waiting {
    std::vector<RecoverDone> answers;
    std::optional<recovery::Decision> latest;
  };
  std::map<std::string, Waiting> waiting_;  // by service name, while someone waits
};

}  // namespace medic::agent
