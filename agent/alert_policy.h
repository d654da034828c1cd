#pragma once
/// What medic tells the alert sinks about each service: what should be firing now (from its
/// checks, its unit and its recovery phase), and the recovery events worth a notification,
/// each with its severity.
#include <map>
#include <string>

#include "agent/supervisor.h"
#include "alerts/alerter.h"

namespace medic::agent {

class AlertPolicy {
 public:
  AlertPolicy(const Supervisor& supervisor, alerts::Alerter& alerter) : supervisor_(supervisor), alerter_(alerter) {}
  /// A recorded event: a notification when it is worth one.
  void event(const std::string& service, const recovery::Decision& d);
  /// Makes what fires for the service match what is true of it now.
  void reconcile(const std::string& service);

 private:
  const Supervisor& supervisor_;
  alerts::Alerter& alerter_;
  std::map<std::string, std::map<recovery::Event, std::string>> lastEventMessage_;  // service -> event -> message
};

}  // namespace medic::agent
