#pragma once
/// `medic drill`: a rehearsal of a service's recovery. It injects a fault (kill the main
/// process, stop the unit behind the ladder's back, or fail a critical check on purpose),
/// waits for the ladder to heal it within a time, and reports what happened as `medic
/// report` counts it. One drill at a time per service.
#include <map>
#include <string>

#include "agent/supervisor.h"
#include "control/control_server.h"
#include "runtime/clock.h"
#include "strategies/systemd_client.h"

namespace medic::agent {

class Drills {
 public:
  using Done = control::ControlHandler::DrillDone;
  Drills(Supervisor& supervisor, Clock& clock, strategies::SystemdClient& systemd)
      : supervisor_(supervisor), clock_(clock), systemd_(systemd) {}

  /// Starts one, or throws control::ControlError saying why not (the service must exist).
  void start(const std::string& service, const std::string& fault, Duration within, const control::Caller& who, Done done);
  /// What the supervisor tells: each event the machine recorded, and news of health.
  void event(const std::string& service, const recovery::Decision& d);
  void healthNews(const std::string& service);

  /// How long a drill may take by default: the slowest ladder climbed once (each attempt's
  /// timeout and verification), after a threshold's worth of the slowest check.
  static Duration defaultTime(const config::ServiceSpec& spec);

 private:
  struct Drill {
    std::string fault;
    int64_t startMs = 0;     // wall clock of the fault
    Duration within{};
    int64_t detectedMs = 0;  // when recovery started; 0: not yet
    bool sawDown = false;    // the fault took: the service was seen unhealthy
    std::string cause;
    Timer deadline;
    Done done;
  };
  void finish(const std::string& service, bool healed, const std::string& verdict);

  Supervisor& supervisor_;
  Clock& clock_;
  strategies::SystemdClient& systemd_;
  std::map<std::string, Drill> drills_;
};

}  // namespace medic::agent
