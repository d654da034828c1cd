// What the agent tells the alerter: for each service, what should be firing now (from its
// checks, its unit and its recovery phase), and the recovery events worth a notification.
#include <spdlog/spdlog.h>

#include "agent/alert_policy.h"

#include <set>

namespace medic::agent {

using checks::Status;
using checks::Severity;

namespace {

// The recovery events that make a notification, and how much each matters. Phases that last
// (gave-up, blocked, flapping, failed over, paused) are alerts that fire and resolve instead.
std::optional<Severity> eventSeverity(recovery::Event event) {
  using recovery::Event;
  switch (event) {
    case Event::recoveryStarted: case Event::recovered: case Event::healed: case Event::failedBack: case Event::reset:
      return Severity::info;
    case Event::stepFailed: case Event::roundFailed: case Event::failbackFailed:
      return Severity::warning;
    default:
      return std::nullopt;
  }
}

}  // namespace

void AlertPolicy::event(const std::string& name, const recovery::Decision& d) {
  const Supervisor::Service* s = supervisor_.find(name);
  if (!s) return;
  lastEventMessage_[name][d.event] = d.message;
  auto severity = eventSeverity(d.event);
  if (!severity) return;
  std::vector<std::string> details;
  for (const auto& [check, r] : s->lastResult)
    if (r.result.status != Status::healthy) details.push_back(check + ": " + r.result.message);
  alerter_.event(name, s->spec->unit, std::string(toString(d.event)), *severity, d.message, details, s->machine->paused());
}

void AlertPolicy::reconcile(const std::string& name) {
  const Supervisor::Service* s = supervisor_.find(name);
  if (!s) return;
  // Until every check has answered once, health is not known: say nothing rather than
  // resolve (or fire) on a guess, e.g. right after medic restarted.
  bool known = s->lastResult.size() >= s->spec->checks.size() && (!s->spec->checks.empty() || !s->unit.activeState.empty());
  std::vector<alerts::Condition> wanted;
  std::vector<std::string> failing;
  for (const auto& [check, r] : s->lastResult)
    if (r.result.status != Status::healthy) failing.push_back(check + ": " + r.result.message);
  if (!s->unit.activeState.empty() && s->unit.activeState != "active")
    failing.push_back("systemd: " + s->spec->unit + " is " + s->unit.activeState);
  auto said = [&](recovery::Event event, const std::string& fallback) {
    auto m = lastEventMessage_[name].find(event);
    return m == lastEventMessage_[name].end() ? fallback : m->second;
  };
  // The service's own severity, if it set one, for everything about it; a failing check's
  // own severity decides the health alert (the highest of those failing).
  auto severity = [&](Severity fallback) { return s->spec->severity.value_or(fallback); };
  std::optional<Severity> checkSeverity;
  for (const auto& c : s->spec->checks)
    if (auto r = s->lastResult.find(c.name); c.severity && r != s->lastResult.end() && r->second.result.status != Status::healthy)
      checkSeverity = std::max(checkSeverity.value_or(Severity::info), *c.severity);
  // The host's checks alert as the machine's, under their own names.
  const char* unhealthyAlert = s->spec->isHost() ? "MedicHostUnhealthy" : "MedicServiceUnhealthy";
  const char* degradedAlert = s->spec->isHost() ? "MedicHostDegraded" : "MedicServiceDegraded";
  if (known) {
    Status h = supervisor_.health(*s);
    if (h == Status::unhealthy) {
      // A blip is not news: held until the service's own threshold says unhealthy (what
      // starts recovery), or systemd says the unit is down, or recovery is under way.
      const recovery::RecoveryMachine& m = *s->machine;
      bool unitDown = s->unit.activeState == "failed" || s->unit.activeState == "inactive";
      bool held = !m.pastThreshold() && !unitDown && m.phase() == recovery::Phase::healthy;
      wanted.push_back({unhealthyAlert, checkSeverity.value_or(severity(Severity::warning)), name + " is unhealthy",
                        failing, "", held});
    }
    else if (h == Status::degraded) wanted.push_back({degradedAlert, Severity::info, name + " is degraded", failing, ""});
  }
  // Until then, what fires for its health stays as it is.
  std::set<std::string> leaveAlone;
  if (!known) leaveAlone = {unhealthyAlert, degradedAlert};
  const recovery::RecoveryMachine& m = *s->machine;
  switch (m.phase()) {
    case recovery::Phase::gaveUp:
      wanted.push_back({"MedicRecoveryGaveUp", severity(Severity::critical), said(recovery::Event::gaveUp, "gave up: manual intervention needed"), failing, ""});
      break;
    case recovery::Phase::blocked:
      wanted.push_back({"MedicRecoveryBlocked", severity(Severity::warning), said(recovery::Event::blocked, "recovery held by its conditions"), failing, ""});
      break;
    case recovery::Phase::flapping:
      wanted.push_back({"MedicServiceFlapping", severity(Severity::warning), said(recovery::Event::flapping, "flapping: recovery held"), failing, ""});
      break;
    case recovery::Phase::failedOver:
    case recovery::Phase::failingBack:
      wanted.push_back({"MedicServiceFailedOver", severity(Severity::warning), said(recovery::Event::failedOver, "runs on its backup unit"), {}, ""});
      break;
    default:
      break;
  }
  if (m.paused())
    wanted.push_back({"MedicServicePaused", Severity::info, "recovery paused (maintenance): " + m.pauseReason(), {}, ""});
  alerter_.reconcile(name, s->spec->unit, wanted, m.paused(), leaveAlone);
}

}  // namespace medic::agent
